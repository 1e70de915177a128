# Helpers for the abur daemon tests (sourced after common.sh): a config in
# $TMP, the test clock, start/stop, and waits on the event log and state.
CFG=$TMP/abur.ini
EVENTS=$TMP/events.jsonl
STATE=$TMP/state/daemon.state
CLOCK=$TMP/clock
WAIT_S=${WAIT_S:-60} # how long wait_for (tests/lib/verdict.sh) waits
_dpid=
_npid=
# The daemon runs under the sanitizers when tests/run has an ASAN build.
ABUR_DAEMON=${ABUR_DAEMON:-${ABUR_ASAN:-$ABUR}}

# daemon_config STORE_SPEC [MOUNT]: components come on stdin.
daemon_config() {
	cat >"$CFG" <<-EOF
	[flash]
	store = $1
	mount = ${2:-$TMP/mnt}
	[schedule]
	nightly = 00:00
	defer_if_changed_within = 60m
	max_deferrals = 3
	catch_up_after = 2m
	[daemon]
	state_dir = $TMP/state
	event_log = $EVENTS
	metrics = $TMP/abur.prom
	EOF
	cat >>"$CFG"
}

epoch() { date -u -d "$1 UTC" +%s; }

count_event() { if [ -f "$EVENTS" ]; then grep -c -- "$1" "$EVENTS"; else echo 0; fi; }
_has_events() { [ "$(count_event "$1")" -ge "$2" ]; }
# wait_event PATTERN [N]: until N lines of the event log match.
wait_event() { wait_for _has_events "$1" "${2:-1}"; }
_has_state() { [ -f "$STATE" ] && grep -q -- "$1" "$STATE"; }
wait_state() { wait_for _has_state "$1"; }
_comp_has() { [ -f "$STATE" ] && awk -v s="[component $1]" -v k="$2" '$0 == s {on = 1; next} /^\[/ {on = 0} on && $0 == k {f = 1} END {exit !f}' "$STATE"; }
# wait_change COMP DATE: the daemon recorded a change of COMP at DATE.
wait_change() { wait_for _comp_has "$1" "last_change $(epoch "$2")"; }

# setclock DATE: moves the test clock (atomically) and, when the daemon
# runs, waits until it has seen the new time.
setclock() {
	local e
	e=$(epoch "$1")
	echo "$e" >"$CLOCK.new" && mv "$CLOCK.new" "$CLOCK"
	if [ -n "$_dpid" ]; then
		wait_state "^updated $e\$" || echo "setclock $1: the daemon did not see it"
	fi
}

# A stand-in for systemd's notify socket: records what the daemon sends.
_notify_listen() {
	NOTIFY_LOG=$TMP/notify.log
	: >"$NOTIFY_LOG"
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n"); f.flush()
' "$TMP/notify.sock" "$NOTIFY_LOG" &
	_npid=$!
	wait_for test -S "$TMP/notify.sock"
}

start_daemon() {
	local n
	[ -n "$_npid" ] || _notify_listen
	n=$(count_event '"event":"start"')
	: >"$TMP/notify.log"
	# REAL_CLOCK=1: the production timerfd path (an empty variable is no test clock).
	local clk=$CLOCK
	[ -n "${REAL_CLOCK:-}" ] && clk=
	TZ=${DAEMON_TZ:-UTC} ABUR_TEST_CLOCK=$clk NOTIFY_SOCKET=$TMP/notify.sock "$ABUR_DAEMON" -c "$CFG" \
		daemon >>"$TMP/daemon.log" 2>&1 &
	_dpid=$!
	wait_event '"event":"start"' $((n + 1)) && wait_for grep -q "READY=1" "$TMP/notify.log"
}

stop_daemon() {
	[ -n "$_dpid" ] || return 0
	kill -TERM "$_dpid" 2>/dev/null
	wait_for sh -c "! kill -0 $_dpid 2>/dev/null"
	local r=$?
	# One that ignores SIGTERM (hung in an open) must not hang the test.
	[ $r = 0 ] || kill -KILL "$_dpid" 2>/dev/null
	wait "$_dpid" 2>/dev/null
	_dpid=
	return $r
}

# sanitizer_verdict: one verdict on what the sanitizers said, if anything.
sanitizer_verdict() {
	if grep -q "Sanitizer" "$TMP/daemon.log" 2>/dev/null; then
		fail "sanitizers: $(grep -m3 -A3 "Sanitizer" "$TMP/daemon.log" | tr '\n' ' ')"
	elif [ "$ABUR_DAEMON" != "$ABUR" ]; then
		pass "the daemon ran clean under ASan/UBSan"
	fi
}

_daemon_cleanup() {
	[ -n "$_dpid" ] && kill -TERM "$_dpid" 2>/dev/null && sleep 0.5
	[ -n "$_npid" ] && kill "$_npid" 2>/dev/null
	cleanup
}
trap _daemon_cleanup EXIT
