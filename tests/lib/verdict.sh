# tests/lib/verdict.sh: verdict lines, waits and counting for every test
# (sourced by tests/lib/common.sh, qemu/lib.sh, qemu/rig.sh, tests/run and
# tests/fuzz/run).  A check prints exactly one verdict line, at the start
# of the line, which tests/run and qemu/rig.sh count:
#   PASS: name  /  FAIL: name: why  /  SKIP: name: why

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; }

# check NAME CMD...: PASS when CMD succeeds, else FAIL with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# t_begin NAME: starts a timed check ("-- NAME" on stderr); t_pass [NAME]
# and t_fail WHY print its verdict with the elapsed time:
# PASS: NAME (12.3s) / FAIL: NAME: why (12.3s).
t_begin() { _t_name=$1; _t_t0=$(t_now); echo "-- $1" >&2; }
t_pass() { pass "${1:-$_t_name} ($(t_since "$_t_t0")s)"; }
t_fail() { fail "$_t_name: $* ($(t_since "$_t_t0")s)"; }
# t_now: the time, in seconds; t_since T: seconds since T, one decimal.
t_now() { date +%s.%N; }
t_since() { awk -v a="$1" -v b="$(t_now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for [-t SECONDS] [-i INTERVAL] CMD...: runs CMD until it succeeds,
# every INTERVAL seconds (0.1) for up to SECONDS (default $WAIT_S, else
# 60); fails when the time is up.  CMD runs at least once.
wait_for() {
	local t=${WAIT_S:-60} iv=0.1 end
	while :; do
		case "$1" in
		-t) t=$2; shift 2 ;;
		-i) iv=$2; shift 2 ;;
		*) break ;;
		esac
	done
	end=$((SECONDS + t))
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep "$iv"
	done
}

# tally: copies verdict lines (and cmocka's TAP "ok"/"not ok" lines) from
# stdin to stdout and counts them in n_pass, n_fail, n_skip; a failure's
# line goes to the failed_names array.  tally_summary prints
# "N passed, N failed[, N skipped]".
tally() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok "*"# SKIP"* | "SKIP:"*) n_skip=$((${n_skip:-0} + 1)) ;;
		"ok "* | "PASS:"*) n_pass=$((${n_pass:-0} + 1)) ;;
		"not ok "* | "FAIL:"*) n_fail=$((${n_fail:-0} + 1)); failed_names+=("$line") ;;
		esac
	done
}
tally_summary() {
	local s="${n_pass:-0} passed, ${n_fail:-0} failed"
	[ "${n_skip:-0}" -gt 0 ] && s="$s, $n_skip skipped"
	echo "$s"
}
