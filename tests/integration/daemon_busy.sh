#!/usr/bin/env bash
# The daemon meets a file that never stops changing (a hot log) and a FIFO:
# the nightly backup is deferred naming the file, counted against
# max_deferrals like the schedule's own deferrals, and a failure once the
# cap is reached; the FIFO is left out with a warning event.  Waits are on
# the event log and state file only.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"

daemon_config "$TMP/store" <<EOF
[component hot]
paths = $TMP/root/var/hot
policy = nightly
EOF
# No change-deferral: every night runs, so every deferral here is the busy file's.
sed -i 's/^defer_if_changed_within = .*/defer_if_changed_within = 0/' "$CFG"
mkdir -p "$TMP/store" "$TMP/root/var/hot"
log=$TMP/root/var/hot/a-busy.log
echo "log" >"$log"
# Between the two reads of a-busy.log lie 64 MiB of archiving (0-big.bin
# sorts first: the archive pass copies it between the digest pass's read
# and its own, even when the digest pass takes its hash from the stat
# cache), during which the writer (every 2 ms) always appends.
head -c $((64 << 20)) /dev/zero >"$TMP/root/var/hot/0-big.bin"
mkfifo "$TMP/root/var/hot/pipe"
python3 - "$log" <<'PYEOF' &
import os, sys, time
path = sys.argv[1]
with open(path, "a") as f:
    while not os.path.exists(path + ".stop"):
        f.write("line %f\n" % time.time()); f.flush()
        time.sleep(0.002)
PYEOF
wpid=$!
wait_for sh -c "[ \$(wc -l <'$log') -gt 3 ]" || fail "busy: the writer does not start"

setclock "2026-11-22 22:00:00"
start_daemon || { fail "busy: daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
for night in 23 24 25; do
	setclock "2026-11-$night 00:00:00"
	n=$((night - 22))
	if wait_event '"event":"deferred","component":"hot"' $n &&
		[ "$(grep '"event":"deferred","component":"hot"' "$EVENTS" | sed -n "${n}p" | grep -c "a-busy.log kept changing.*deferral $n of 3")" = 1 ]; then
		pass "busy: night $n: the backup is deferred, naming the file (deferral $n of 3)"
	else
		fail "busy: night $n: $(tail -3 "$EVENTS" | tr '\n' ' ')"
	fi
done
wait_state "^deferrals 3\$" && grep -q "^defer_reason .*a-busy.log kept changing" "$STATE" &&
	pass "busy: the state keeps the deferral count and the file" || fail "busy: state: $(grep defer "$STATE")"
[ "$(count_event '"event":"error","component":"hot"')" = 0 ] && pass "busy: no failure recorded while deferring" ||
	fail "busy: an error was recorded: $(grep error "$EVENTS" | tail -1)"
grep '"event":"warning","component":"hot"' "$EVENTS" | grep -q 'pipe (a FIFO)' &&
	pass "busy: the FIFO is left out with a warning event" || fail "busy: no warning event for the FIFO"

setclock "2026-11-26 00:00:00"
if wait_event '"event":"error","component":"hot"' && grep '"event":"error","component":"hot"' "$EVENTS" | grep -q "a-busy.log"; then
	pass "busy: at max_deferrals the busy file is a failure, named"
else
	fail "busy: at the cap: $(tail -3 "$EVENTS" | tr '\n' ' ')"
fi

touch "$log.stop"
wait $wpid
setclock "2026-11-27 00:00:00"
if wait_event '"event":"backup","component":"hot"' && wait_state "^deferrals 0\$"; then
	pass "busy: once the file is quiet the next night backs it up and the count is reset"
else
	fail "busy: after the writer stopped: $(tail -3 "$EVENTS" | tr '\n' ' ')"
fi
stop_daemon
sanitizer_verdict
