# abur daemon on the real clock (timerfd, no test hook): policy = change
# with a short quiet period is backed up when the timer fires.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"
REAL_CLOCK=1

daemon_config "$TMP/store" <<EOF
[component live]
paths = $TMP/root/live
policy = change
quiet = 1s
EOF
mkdir -p "$TMP/store" "$TMP/root/live"
echo "x" >"$TMP/root/live/cams.xml"
start_daemon || { fail "daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
wait_event '"event":"backup","component":"live"' || fail "first backup: $(tail -2 "$EVENTS")"
grep -q "using the test clock" "$TMP/daemon.log" && fail "the test clock was used"
echo "y" >"$TMP/root/live/cams.xml"
wait_event '"event":"backup","component":"live"' 2 && pass "real clock: the quiet-period timer fires and backs up" ||
	fail "real clock: no backup after the quiet period: $(tail -2 "$EVENTS")"
stop_daemon || fail "daemon did not stop"
sanitizer_verdict
