#!/usr/bin/env bash
# abur daemon benchmark: idle cost with 5,000 watched files, and the
# change-to-committed latency with policy = change and quiet = 0.
#   bench/daemon.sh [ABUR]      (or $ABUR; BENCH_IDLE_S=60, BENCH_FILES=5000, BENCH_RUNS=10)
# Idle cost comes from /proc/PID: voluntary context switches (each one is a
# wake-up from poll()), CPU time and RSS.  Latency is measured from the
# write to the "backup" line in the event log (this script polls the log
# every 5 ms; the daemon itself never polls).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
abur=${1:-${ABUR:-$top/build/abur}}
idle_s=${BENCH_IDLE_S:-60}
nfiles=${BENCH_FILES:-5000}
runs=${BENCH_RUNS:-10}
tmp=$(mktemp -d /tmp/abur-bench.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; sleep 0.3; rm -rf "$tmp"' EXIT

[ -x "$abur" ] || { echo "bench/daemon.sh: no $abur (run make first)" >&2; exit 1; }
mkdir -p "$tmp/root" "$tmp/store"
for d in $(seq 0 $((nfiles / 100 - 1))); do
	mkdir -p "$tmp/root/d$d"
	for f in $(seq 0 99); do echo "$d.$f" >"$tmp/root/d$d/f$f.conf"; done
done
cat >"$tmp/abur.ini" <<EOF
[flash]
store = $tmp/store
mount = $tmp/mnt
[daemon]
state_dir = $tmp/state
event_log = $tmp/events.jsonl
[component bench]
paths = $tmp/root
policy = change
quiet = 0
EOF

backups() {
	local n
	n=$(grep -c '"event":"backup"' "$tmp/events.jsonl" 2>/dev/null) || true
	echo "${n:-0}"
}
wait_backups() { # N: until N backups are logged (60 s at most)
	local i
	for ((i = 0; i < 12000; i++)); do
		[ "$(backups)" -ge "$1" ] && return 0
		sleep 0.005
	done
	return 1
}
field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# idle_cost PID: over $idle_s seconds of idling, prints "wake-ups
# involuntary-cs cpu-ms rss-KiB anon-KiB pss-KiB".
idle_cost() {
	local p=$1 v0 n0 c0
	v0=$(field voluntary_ctxt_switches "$p")
	n0=$(field nonvoluntary_ctxt_switches "$p")
	c0=$(cpu_ticks "$p")
	sleep "$idle_s"
	echo "$(($(field voluntary_ctxt_switches "$p") - v0)) $(($(field nonvoluntary_ctxt_switches "$p") - n0))" \
		"$((($(cpu_ticks "$p") - c0) * 1000 / hz)) $(field VmRSS "$p") $(field RssAnon "$p")" \
		"$(awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup")"
}

"$abur" -c "$tmp/abur.ini" -q daemon 2>"$tmp/daemon.log" &
pid=$!
wait_backups 1 || { echo "the first backup did not happen: $(tail -3 "$tmp/daemon.log")" >&2; exit 1; }
sleep 1 # let the first commit's aftermath settle

# The peers, idling beside it over the same tree: inotifywait -m -r (what a
# shell-script watcher is built on) and coreutils sleep (the floor: what any
# glibc program costs doing nothing).
peer=
if command -v inotifywait >/dev/null; then
	inotifywait -m -r -q "$tmp/root" >/dev/null 2>&1 &
	peer=$!
fi
sleep 1000000 &
floor=$!
sleep 1
read -r a_wake a_inv a_cpu a_rss a_anon a_pss < <(idle_cost $pid)
hwm=$(field VmHWM $pid)
watches=0
for fd in /proc/$pid/fd/*; do
	[ "$(readlink "$fd")" = "anon_inode:inotify" ] || continue
	watches=$((watches + $(grep -c '^inotify wd:' "/proc/$pid/fdinfo/${fd##*/}")))
done
p_wake=- p_inv=- p_cpu=- p_rss=- p_anon=- p_pss=-
if [ -n "$peer" ] && kill -0 "$peer" 2>/dev/null; then
	read -r p_wake p_inv p_cpu p_rss p_anon p_pss < <(idle_cost $peer)
	kill "$peer"
fi
read -r _ _ _ f_rss f_anon f_pss < <(idle_s=1 idle_cost $floor)
kill "$floor"

lat=()
for i in $(seq "$runs"); do
	n=$(backups)
	t0=$(date +%s%N)
	echo "change $i" >>"$tmp/root/d0/f0.conf"
	wait_backups $((n + 1)) || { echo "no backup after change $i" >&2; exit 1; }
	t1=$(date +%s%N)
	lat+=($(((t1 - t0) / 1000000)))
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
max=$(echo "$sorted" | tail -1)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b ~ /^[0-9]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { printf '%-40s %9s %11s %6s %9s %s\n' "$@"; }
printf '\nabur daemon, %d files watched (%s inotify watches), %s\n' "$nfiles" "$watches" "$("$abur" --version | head -1)"
row "idle ${idle_s}s" "abur" "inotifywait" "ratio" "sleep(1)" "aim"
row "wake-ups (voluntary cs)" "$a_wake" "$p_wake" "-" "-" "0"
row "involuntary context switches" "$a_inv" "$p_inv" "-" "-" ""
row "CPU time (ms)" "$a_cpu" "$p_cpu" "-" "-" "0"
row "RSS (KiB)" "$a_rss" "$p_rss" "$(ratio "$a_rss" "$p_rss")" "$f_rss" "< 2048"
row "  private anonymous (KiB)" "$a_anon" "$p_anon" "$(ratio "$a_anon" "$p_anon")" "$f_anon" ""
row "  PSS, shared pages split (KiB)" "$a_pss" "$p_pss" "$(ratio "$a_pss" "$p_pss")" "$f_pss" ""
row "peak RSS, backups included (KiB)" "$hwm" "" "" "" ""
row "change-to-committed median (ms)" "$median" "" "" "" ""
row "change-to-committed max (ms)" "$max" "" "" "" ""
echo "ratio: abur / inotifywait (which only reports changes; it digests and commits nothing)."
echo "sleep(1): coreutils sleep, the RSS any idle glibc process has on this machine."
