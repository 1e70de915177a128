# The daemon's own files are outside input: a damaged or out-of-range state
# file, a FIFO or symlink in place of the state file or the event log, and
# a clock set to the far future and back.  None may crash it, hang it,
# write through a link, or leave it with a wrong schedule.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"

daemon_config "$TMP/store" <<EOF
[component config]
paths = $TMP/root/etc/vms
policy = nightly
EOF
mkdir -p "$TMP/store" "$TMP/root/etc/vms" "$TMP/state"
echo "a = 1" >"$TMP/root/etc/vms/vms.conf"
setclock "2026-11-22 22:00:00"

# fresh_start WHAT PATTERN: the daemon starts, says PATTERN, keeps the bad
# state file as daemon.state.damaged and writes a good one.
fresh_start() {
	# READY comes before the first save: wait for the new state file.
	if start_daemon && grep -q -- "$2" "$TMP/daemon.log" && [ -e "$STATE.damaged" ] && wait_state '^pid [1-9]' &&
		[ ! -L "$STATE" ]; then
		pass "$1: clear message, copy kept, fresh start"
	else
		fail "$1: $(grep -v '^$' "$TMP/daemon.log" | tail -2 | tr '\n' ' ')"
	fi
	stop_daemon || fail "$1: daemon did not stop"
	rm -rf "$STATE.damaged"
	: >"$TMP/daemon.log"
}

# Out-of-range values: a deferral count that wraps to 1, a pid beyond any
# pid, a time past year 9999, a section that is not a component name.
for bad in "deferrals 4294967297" "pid 99999999999" "last_slot 99999999999999" "[component ../../etc]" \
	"deferrals -1" "next_run 12abc"; do
	printf '# abur daemon state\nlast_slot 1790000000\n%s\n' "$bad" >"$STATE"
	fresh_start "state with '$bad'" "damaged near line 3"
done
printf '[component config]\ndirty 1\n[component config]\n' >"$STATE"
start_daemon && grep -q "damaged" "$TMP/daemon.log" && fail "a repeated section was refused" ||
	pass "a repeated [component] section is accepted (it is the same component)"
stop_daemon

mkfifo "$STATE.fifo" && rm -f "$STATE" && mv "$STATE.fifo" "$STATE"
fresh_start "state file a FIFO (no hang)" "not a regular file"
echo "root:x:0:0:root:/root:/bin/bash" >"$TMP/passwd"
cp "$TMP/passwd" "$TMP/passwd.orig"
rm -f "$STATE" && ln -s "$TMP/passwd" "$STATE"
fresh_start "state file a symlink (not read through)" "a symlink"
cmp -s "$TMP/passwd" "$TMP/passwd.orig" && pass "the state symlink's target is untouched" ||
	fail "the state symlink's target changed"

# The event log a symlink to a passwd file: never appended through.
mv "$EVENTS" "$TMP/events.old"
ln -s "$TMP/passwd" "$EVENTS"
start_daemon_noevents() {
	TZ=UTC ABUR_TEST_CLOCK=$CLOCK NOTIFY_SOCKET=$TMP/notify.sock "$ABUR_DAEMON" -c "$CFG" daemon >>"$TMP/daemon.log" 2>&1 &
	_dpid=$!
	wait_for grep -q "READY=1" "$TMP/notify.log"
}
: >"$TMP/notify.log"
if start_daemon_noevents && cmp -s "$TMP/passwd" "$TMP/passwd.orig" && grep -q "a symlink, not written through" "$TMP/daemon.log"; then
	pass "event log a symlink to a passwd file: not appended through, said so"
else
	fail "event log symlink: passwd now $(wc -l <"$TMP/passwd") lines; $(tail -1 "$TMP/daemon.log")"
fi
stop_daemon || fail "daemon did not stop"
rm -f "$EVENTS"
mkfifo "$EVENTS"
: >"$TMP/notify.log"
start_daemon_noevents && pass "event log a FIFO: the daemon does not hang on it" ||
	fail "event log FIFO: no READY: $(tail -1 "$TMP/daemon.log")"
stop_daemon || fail "daemon did not stop"
rm -f "$EVENTS" && mv "$TMP/events.old" "$EVENTS"

# The clock set to 2099 and back: the night handled "in 2099" must not hold
# off every night until then.
start_daemon || fail "daemon starts"
n=$(count_event '"event":"backup","component":"config"')
setclock "2099-06-01 00:00:30"
wait_event '"event":"backup","component":"config"' $((n + 1)) || fail "no backup at the 2099 midnight"
setclock "2026-11-23 12:00:00"
echo "a = 2" >"$TMP/root/etc/vms/vms.conf"
wait_change config "2026-11-23 12:00:00" || fail "change after the clock went back not seen"
setclock "2026-11-24 00:00:00"
wait_event '"event":"backup","component":"config"' $((n + 2)) &&
	pass "clock set to 2099 and back: the next midnight backs up again" ||
	fail "clock 2099 and back: no nightly backup: $(tail -2 "$EVENTS")"

# A SIGHUP storm: every reload is whole, and the daemon still answers.
for _ in $(seq 300); do kill -HUP "$_dpid"; done
setclock "2026-11-24 01:00:00"
if kill -0 "$_dpid" 2>/dev/null && _has_state "^updated $(epoch "2026-11-24 01:00:00")\$"; then
	pass "300 SIGHUPs in a row: the daemon keeps running and answering"
else
	fail "SIGHUP storm: $(tail -2 "$TMP/daemon.log" | tr '\n' ' ')"
fi
stop_daemon || fail "daemon did not stop"
sanitizer_verdict
