# Shared helpers for integration tests (sourced).  Each check prints one
# verdict line (tests/lib/verdict.sh: pass, fail, skip, check, t_begin,
# wait_for).  Loop devices made with make_loop are detached on exit, mounts
# unmounted.
set -u
. "$TOP/tests/lib/verdict.sh"
ABUR=${ABUR:-$TOP/build/abur}
TMP=$(mktemp -d /tmp/abur-test.XXXXXX)
_loops=()
_mounts=()

cleanup() {
	local i
	for ((i = ${#_mounts[@]} - 1; i >= 0; i--)); do umount -l "${_mounts[$i]}" 2>/dev/null; done
	for l in "${_loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	# Loop devices attached in subshells ($(make_loop ...)) are not in _loops:
	# detach everything backed by a file of this test.
	losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v t="$TMP/" 'index($2, t) == 1 {print $1}' |
		while read -r l; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

need_root() { # name: prints SKIP and returns 1 when root or loop devices are missing
	if [ "$(id -u)" != 0 ]; then skip "$1: needs root"; return 1; fi
	if ! losetup -f >/dev/null 2>&1; then skip "$1: no loop devices"; return 1; fi
	return 0
}

# make_loop FILE: attaches with partition scan, waits for pN nodes (no udev).
make_loop() {
	local dev
	dev=$(losetup -f --show -P "$1") || return 1
	_loops+=("$dev")
	partprobe "$dev" 2>/dev/null || true
	udev_settle_parts "$dev"
	echo "$dev"
}

udev_settle_parts() { # wait (5 s at most) for the kernel's partition nodes to match sysfs
	wait_for -t 5 _part_nodes "$1" || true
}
_part_nodes() { # DEV: makes the missing /dev nodes of DEV's partitions; fails if one is missing
	local dev=$1 p name ok=0
	for p in /sys/block/"$(basename "$dev")"/"$(basename "$dev")"p*; do
		[ -e "$p" ] || continue
		name=$(basename "$p")
		if [ ! -b "/dev/$name" ]; then
			mknod "/dev/$name" b "$(cut -d: -f1 "$p/dev")" "$(cut -d: -f2 "$p/dev")" 2>/dev/null || ok=1
		fi
	done
	return $ok
}

mount_tracked() { # mount_tracked [opts...] DEV DIR
	mount "$@" && _mounts+=("${!#}")
}

# A store directory on a small ext4 filesystem image, mounted.
make_store() { # DIR SIZE_MB
	local dir=$1 size=${2:-64}
	truncate -s "${size}M" "$TMP/store-$size.img"
	mkfs.ext4 -q -F -L ABUR-STORE "$TMP/store-$size.img"
	mkdir -p "$dir"
	mount_tracked -o loop "$TMP/store-$size.img" "$dir"
}

# hold_lock FILE: a background process takes an fcntl write lock on FILE
# (as dpkg and apt take theirs) and holds it until release_lock.
hold_lock() {
	: >>"$1"
	rm -f "$1.held" "$1.stop"
	python3 - "$1" <<'PYEOF' &
import fcntl, os, sys, time
with open(sys.argv[1], "r+") as f:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    open(sys.argv[1] + ".held", "w").close()
    while not os.path.exists(sys.argv[1] + ".stop"):
        time.sleep(0.05)
PYEOF
	_lock_pid=$!
	_lock_file=$1
	wait_for -t 10 test -e "$1.held"
}
release_lock() {
	touch "$_lock_file.stop"
	wait "$_lock_pid"
	rm -f "$_lock_file.held" "$_lock_file.stop"
}
