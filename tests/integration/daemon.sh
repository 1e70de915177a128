# abur daemon driven through whole nights with the test clock
# (ABUR_TEST_CLOCK): deferral, catch-up, policy = change, restart, inotify
# overflow.  Nothing here asserts on timing: every wait is for an event
# in the daemon's event log or state file, with a generous timeout.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"

daemon_config "$TMP/store" <<EOF
[component license]
paths = $TMP/root/etc/vms/license.lic
policy = nightly
[component config]
paths = $TMP/root/etc/vms
exclude = $TMP/root/etc/vms/license.lic
policy = nightly
[component live]
paths = $TMP/root/live
policy = change
quiet = 30s
keep = 1
[component software]
paths = $TMP/root/opt
policy = manual
EOF
mkdir -p "$TMP/store" "$TMP/root/etc/vms/sub" "$TMP/root/live" "$TMP/root/opt"
echo "key" >"$TMP/root/etc/vms/license.lic"
echo "a = 1" >"$TMP/root/etc/vms/vms.conf"
echo "x" >"$TMP/root/live/cams.xml"

setclock "2026-11-22 22:00:00"
start_daemon || { fail "daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
pass "daemon starts and reports READY"

# First night: everything is new, nothing changed in the last hour.
setclock "2026-11-23 00:00:00"
if wait_event '"event":"backup","component":"config"' && wait_event '"event":"backup","component":"license"'; then
	pass "first midnight backs up the new components (trigger nightly)"
else
	fail "first midnight: no backups: $(tail -3 "$EVENTS")"
fi
[ "$(count_event '"component":"software"')" = 0 ] && pass "policy = manual is not backed up" ||
	fail "manual component was backed up"

# Change at 23:10 -> deferred at midnight.
setclock "2026-11-23 23:10:00"
echo "a = 2" >"$TMP/root/etc/vms/vms.conf"
wait_change config "2026-11-23 23:10:00" || fail "change at 23:10 not seen"
setclock "2026-11-24 00:00:00"
if wait_event '"event":"deferred"'; then
	pass "change at 23:10 defers the midnight run"
else
	fail "change at 23:10: not deferred: $(tail -3 "$EVENTS")"
fi
wait_state "^deferred_until $(epoch "2026-11-25 00:00:00")\$" || fail "deferral not saved in the state"
out=$("$ABUR" -c "$CFG" status 2>&1)
if echo "$out" | grep -q "deferred until 2026-11-25 00:00:00" && echo "$out" | grep -q "changed since the last backup"; then
	pass "abur status shows the deferral, until when, and the dirty component"
else
	fail "status after deferral: $out"
fi

# Next night, no change -> backed up.
n=$(count_event '"event":"backup","component":"config"')
setclock "2026-11-25 00:00:00"
if wait_event '"event":"backup","component":"config"' $((n + 1)); then
	pass "next night without a change backs up"
else
	fail "next night: no backup: $(tail -3 "$EVENTS")"
fi

# Editor-style save (write temp, rename over) at 22:30 -> backed up at midnight.
setclock "2026-11-25 22:30:00"
echo "key2" >"$TMP/root/etc/vms/.license.swp" && mv "$TMP/root/etc/vms/.license.swp" "$TMP/root/etc/vms/license.lic"
wait_change license "2026-11-25 22:30:00" || fail "rename over license.lic not seen"
n=$(count_event '"event":"backup","component":"license"')
setclock "2026-11-26 00:00:00"
if wait_event '"event":"backup","component":"license"' $((n + 1)); then
	pass "change at 22:30 (rename over the file) is backed up at midnight"
else
	fail "change at 22:30: $(tail -3 "$EVENTS")"
fi

# A new directory tree inside a watched path is watched recursively.
setclock "2026-11-26 10:00:00"
mkdir -p "$TMP/root/etc/vms/new/deeper"
# Seeing the creation (recorded at 10:00) means the new tree is watched.
wait_change config "2026-11-26 10:00:00" || fail "new directory not seen"
setclock "2026-11-26 10:05:00"
echo "z" >"$TMP/root/etc/vms/new/deeper/cam.conf"
wait_change config "2026-11-26 10:05:00" && pass "a file in a new subdirectory is seen" ||
	fail "new subdirectory not watched"

# policy = change: backed up after the quiet period, not before.
setclock "2026-11-26 12:00:00"
echo "y" >"$TMP/root/live/cams.xml"
wait_change live "2026-11-26 12:00:00" || fail "change in live not seen"
n=$(count_event '"event":"backup","component":"live"')
setclock "2026-11-26 12:00:10"
wait_state "updated $(epoch "2026-11-26 12:00:10")" >/dev/null
[ "$(count_event '"event":"backup","component":"live"')" = "$n" ] && pass "policy = change waits for the quiet period" ||
	fail "policy = change backed up before the quiet period ended"
setclock "2026-11-26 12:00:31"
wait_event '"event":"backup","component":"live"' $((n + 1)) && pass "policy = change backs up after the quiet period" ||
	fail "policy = change: no backup after quiet: $(tail -3 "$EVENTS")"

# Restart at 23:50 after a change at 23:40: still deferred.
setclock "2026-11-26 23:40:00"
echo "a = 3" >"$TMP/root/etc/vms/vms.conf"
touch -d "2026-11-26 23:40:00 UTC" "$TMP/root/etc/vms/vms.conf"
wait_change config "2026-11-26 23:40:00" || fail "change at 23:40 not seen"
stop_daemon
setclock "2026-11-26 23:50:00"
start_daemon || fail "daemon restarts"
n=$(count_event '"event":"deferred"')
setclock "2026-11-27 00:00:00"
wait_event '"event":"deferred"' $((n + 1)) && pass "restart at 23:50 after a 23:40 change still defers" ||
	fail "restart at 23:50: $(tail -3 "$EVENTS")"

# Changes made while the daemon was stopped are found by digest at start-up.
stop_daemon
echo "offline" >"$TMP/root/live/offline.xml"
start_daemon || fail "daemon restarts"
wait_event '"event":"changed-offline","component":"live"' && pass "a change made while stopped is found at start-up" ||
	fail "offline change not found: $(tail -3 "$EVENTS")"

# SIGHUP reloads the configuration and plans again.
sed -i 's/^nightly = 00:00/nightly = 01:00/' "$CFG"
kill -HUP "$_dpid"
wait_state "^next_run $(epoch "2026-11-27 01:00:00")\$" && pass "SIGHUP reloads the configuration and re-plans" ||
	fail "SIGHUP: next run not moved to 01:00: $(grep next_run "$STATE" | head -1)"
grep -q "^STATUS=.*next run" "$TMP/notify.log" && grep -q "^RELOADING=1" "$TMP/notify.log" &&
	pass "sd_notify: READY, STATUS and RELOADING sent" || fail "sd_notify: $(tr '\n' ' ' <"$TMP/notify.log")"

# SIGTERM during a backup. The rule: once a run is announced (STATUS=
# backing up), the component under way is finished and committed, then the
# daemon stops. The test holds the store's writer lock, so the backup is
# provably under way (announced, waiting for the lock) when SIGTERM comes.
echo "during" >"$TMP/root/live/during-term.xml"
wait_change live "2026-11-27 00:00:00" || fail "change in live not seen"
n=$(count_event '"event":"backup","component":"live"')
: >"$TMP/notify.log"
exec {lk}>>"$TMP/store/abur/.lock"
flock -x "$lk"
echo "$(epoch "2026-11-27 00:00:31")" >"$CLOCK.new" && mv "$CLOCK.new" "$CLOCK"
wait_for grep -q "^STATUS=backing up" "$TMP/notify.log" || fail "no STATUS=backing up"
kill -TERM "$_dpid" # pending in the daemon when kill returns (signals are blocked there)
exec {lk}>&-
stop_daemon && pass "SIGTERM stops the daemon" || fail "daemon did not stop on SIGTERM"
if [ "$(count_event '"event":"backup","component":"live"')" = $((n + 1)) ] &&
	tail -1 "$EVENTS" | grep -q '"event":"stop"' && [ -z "$(find "$TMP/store" -name '.tmp-*')" ]; then
	pass "SIGTERM during a backup: the commit finishes, no temp left, then it stops"
else
	fail "SIGTERM during a backup: $(tail -2 "$EVENTS") $(find "$TMP/store" -name '.tmp-*')"
fi
# live keeps 1: its newest backup event names the generation retention removed.
grep '"event":"backup","component":"live"' "$EVENTS" | tail -1 | grep -q 'removed old generations: live/g0000' &&
	[ "$(find "$TMP/store/abur/live" -maxdepth 1 -name 'g*' | wc -l)" = 1 ] &&
	pass "the backup event names what retention removed (keep = 1)" ||
	fail "retention event: $(grep '"component":"live"' "$EVENTS" | tail -1)"
# Every event line keeps the JSON time rule of abur(8): time (RFC 3339 UTC) and time_epoch agree.
python3 -c '
import json, sys, time
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e["time_epoch"])) == e["time"] and e["event"], e
' "$EVENTS" && pass "event log: every line has time and time_epoch, the same second" ||
	fail "event log times: $(head -2 "$EVENTS")"
"$ABUR" -c "$CFG" status 2>&1 | grep -q "daemon: not running" && pass "status: daemon not running after stop" ||
	fail "status after stop: $("$ABUR" -c "$CFG" status 2>&1 | head -3)"
sanitizer_verdict
