# abur daemon across a night whose midnight does not exist: Havana,
# 2026-03-08, 23:59:59 CST is followed by 01:00 CDT.  The run happens at
# the first instant after the gap, and the deferral rule counts real time.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"

if [ ! -e /usr/share/zoneinfo/America/Havana ]; then
	skip "DST night: no tzdata (America/Havana)"
	exit 0
fi
DAEMON_TZ=America/Havana
daemon_config "$TMP/store" <<EOF
[component config]
paths = $TMP/root/etc
policy = nightly
EOF
mkdir -p "$TMP/store" "$TMP/root/etc"
echo "a = 1" >"$TMP/root/etc/vms.conf"

setclock "2026-03-07 15:00:00" # 10:00 CST
start_daemon || { fail "daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
setclock "2026-03-08 04:30:00" # 23:30 CST
echo "a = 2" >"$TMP/root/etc/vms.conf"
wait_change config "2026-03-08 04:30:00" || fail "change at 23:30 CST not seen"
setclock "2026-03-08 04:59:59" # 23:59:59 CST: not yet
[ "$(count_event '"event":"deferred"')" = 0 ] && pass "no decision before the gap" || fail "decided before the gap"
setclock "2026-03-08 05:00:00" # 01:00 CDT
if wait_event '"event":"deferred"' && grep -q "until 2026-03-09 00:00:00 CDT" "$EVENTS"; then
	pass "missing midnight: the run is at 01:00 CDT, deferred until the next midnight"
else
	fail "missing midnight: $(tail -2 "$EVENTS")"
fi
setclock "2026-03-09 04:00:00" # 00:00 CDT
wait_event '"event":"backup","component":"config"' && pass "the next midnight (CDT) backs up" ||
	fail "next midnight: $(tail -2 "$EVENTS")"
stop_daemon || fail "daemon did not stop"
sanitizer_verdict
