# abur daemon: an inotify queue overflow makes it rescan by digest, find
# the change whose events were lost, and watch directories made meanwhile.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"
q=/proc/sys/fs/inotify/max_queued_events

# Overflowing the kernel queue takes max_queued_events events; with a huge
# limit, lower it (root) for the daemon's start-up only: it is read when
# the inotify instance is made.
max=$(cat $q)
lower=
if [ "$max" -gt 65536 ]; then
	if [ "$(id -u)" != 0 ] || ! [ -w $q ]; then
		skip "inotify overflow: $q is $max; needs root to lower it"
		exit 0
	fi
	lower=16384
fi
daemon_config "$TMP/store" <<EOF
[component noise]
paths = $TMP/root/noise
policy = nightly
[component config]
paths = $TMP/root/etc
policy = nightly
EOF
mkdir -p "$TMP/store" "$TMP/root/noise" "$TMP/root/etc"
echo "a = 1" >"$TMP/root/etc/vms.conf"

setclock "2026-11-22 10:00:00"
[ -n "$lower" ] && echo "$lower" >$q
start_daemon
started=$?
[ -n "$lower" ] && echo "$max" >$q
[ $started = 0 ] || { fail "daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }

setclock "2026-11-22 11:00:00"
kill -STOP "$_dpid"
(cd "$TMP/root/noise" && seq "${lower:-$max}" | sed 's/^/f/' | xargs touch) # fills the queue
echo "a = 2" >"$TMP/root/etc/vms.conf" # lost in the overflow
mkdir "$TMP/root/etc/made-meanwhile"
kill -CONT "$_dpid"
if wait_event '"event":"rescan","message":"inotify queue overflowed' &&
	wait_event '"event":"rescan","component":"config"'; then
	pass "inotify overflow: the rescan finds the change whose events were lost"
else
	fail "inotify overflow: $(tail -3 "$EVENTS")"
fi
wait_change config "2026-11-22 11:00:00" && pass "overflow: the component is marked changed" ||
	fail "overflow: config not marked changed"
setclock "2026-11-22 11:30:00"
echo "new" >"$TMP/root/etc/made-meanwhile/cam.conf"
wait_change config "2026-11-22 11:30:00" && pass "overflow: a directory made during the overflow is watched" ||
	fail "overflow: directory made during the overflow not watched"
stop_daemon || fail "daemon did not stop"
sanitizer_verdict
