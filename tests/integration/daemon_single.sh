# One daemon per state directory: a second `abur daemon` on the same state
# dir exits 1 naming the running pid and the lock file; the file a killed
# daemon leaves behind blocks no one (the lock is an flock).
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"

daemon_config "$TMP/store" <<EOF
[component config]
paths = $TMP/root/etc/vms
policy = nightly
EOF
mkdir -p "$TMP/store" "$TMP/root/etc/vms"
echo "a = 1" >"$TMP/root/etc/vms/vms.conf"
setclock "2026-11-22 22:00:00"
start_daemon || { fail "daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
first=$_dpid

# The second one must give up by itself; timeout only bounds a broken build.
out=$(TZ=UTC ABUR_TEST_CLOCK=$CLOCK timeout 20 "$ABUR_DAEMON" -c "$CFG" daemon 2>&1); rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "pid $first" && echo "$out" | grep -qF "$TMP/state/daemon.pid"; then
	pass "a second daemon on the same state dir exits 1 naming the pid and the lock file"
else
	fail "second daemon: rc=$rc $(echo "$out" | tail -2 | tr '\n' ' ')"
fi
[ "$(count_event '"event":"start"')" = 1 ] && pass "the second daemon wrote no event" ||
	fail "the second daemon wrote events: $(tail -2 "$EVENTS")"
grep -qx "$first" "$TMP/state/daemon.pid" && pass "daemon.pid holds the running daemon's pid" ||
	fail "daemon.pid: $(cat "$TMP/state/daemon.pid")"

# A crash (kill -9) leaves the file; a new daemon starts all the same.
kill -KILL "$first"
wait "$first" 2>/dev/null
_dpid=
start_daemon && pass "after kill -9, a new daemon starts despite the stale daemon.pid" ||
	fail "restart after kill -9: $(tail -3 "$TMP/daemon.log" | tr '\n' ' ')"
grep -qx "$_dpid" "$TMP/state/daemon.pid" && pass "daemon.pid now holds the new pid" ||
	fail "daemon.pid after restart: $(cat "$TMP/state/daemon.pid")"
stop_daemon || fail "daemon did not stop"

# A symlink in place of daemon.pid is not followed (nor written through).
echo "precious" >"$TMP/precious"
rm -f "$TMP/state/daemon.pid" && ln -s "$TMP/precious" "$TMP/state/daemon.pid"
out=$(TZ=UTC ABUR_TEST_CLOCK=$CLOCK timeout 20 "$ABUR_DAEMON" -c "$CFG" daemon 2>&1); rc=$?
if [ $rc = 1 ] && [ "$(cat "$TMP/precious")" = precious ]; then
	pass "daemon.pid as a symlink: refused (exit 1), its target untouched"
else
	fail "daemon.pid symlink: rc=$rc target=$(cat "$TMP/precious") $(echo "$out" | tail -1)"
fi
sanitizer_verdict
