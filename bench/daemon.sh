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
field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

"$abur" -c "$tmp/abur.ini" -q daemon 2>"$tmp/daemon.log" &
pid=$!
wait_backups 1 || { echo "the first backup did not happen: $(tail -3 "$tmp/daemon.log")" >&2; exit 1; }
sleep 1 # let the first commit's aftermath settle

v0=$(field voluntary_ctxt_switches)
n0=$(field nonvoluntary_ctxt_switches)
c0=$(cpu_ticks)
sleep "$idle_s"
v1=$(field voluntary_ctxt_switches)
n1=$(field nonvoluntary_ctxt_switches)
c1=$(cpu_ticks)
rss=$(field VmRSS)
hwm=$(field VmHWM)
anon=$(field RssAnon)
pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$pid/smaps_rollup")
watches=0
for fd in /proc/$pid/fd/*; do
	[ "$(readlink "$fd")" = "anon_inode:inotify" ] || continue
	watches=$((watches + $(grep -c '^inotify wd:' "/proc/$pid/fdinfo/${fd##*/}")))
done
hz=$(getconf CLK_TCK)

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

printf '\nabur daemon, %d files watched (%s inotify watches), %s\n' "$nfiles" "$watches" "$("$abur" --version | head -1)"
printf '%-44s %12s %s\n' "metric" "value" "aim"
printf '%-44s %12s %s\n' "idle wake-ups over ${idle_s}s (voluntary cs)" "$((v1 - v0))" "0"
printf '%-44s %12s %s\n' "idle involuntary context switches" "$((n1 - n0))" ""
printf '%-44s %12s %s\n' "idle CPU time (ms)" "$(((c1 - c0) * 1000 / hz))" "0"
printf '%-44s %12s %s\n' "RSS (KiB)" "$rss" "< 2048"
printf '%-44s %12s %s\n' "  of which private anonymous (KiB)" "$anon" ""
printf '%-44s %12s %s\n' "  PSS, shared libraries split (KiB)" "$pss" ""
printf '%-44s %12s %s\n' "peak RSS (KiB, includes the backups)" "$hwm" ""
printf '%-44s %12s %s\n' "change-to-committed latency median (ms)" "$median" ""
printf '%-44s %12s %s\n' "change-to-committed latency max (ms)" "$max" ""
