# Shared by the rig scenarios (sourced by qemu/rig.sh before each scenario).
# shellcheck disable=SC2034 # used by the scenarios
GUEST_SERIAL=${SYS_SERIAL:-SYS0001}

# server_boot NAME RTC: boots the server from its system disk, waits until ready.
server_boot() {
	vm_start "$1" --sys "$SYS" --flash "$FLASH" --rtc "$2" || return 1
	vm_wait "$1" 'ABUR-SERVER: ready' 180 >/dev/null
}

# guest NAME CMD: runs CMD in the guest; fails (with its output on stderr) on error.
guest() {
	local out rc
	out=$(vm_run -t "${GUEST_TIMEOUT:-120}" "$1" "$2")
	rc=$?
	[ $rc = 0 ] || echo "guest '$2' exited $rc: $out" >&2
	printf '%s' "$out"
	return $rc
}

# gens NAME COMPONENT: the component's generation numbers in the guest's store.
gens() { guest "$1" "abur list $2" | awk -v c="$2" '$1 == c {print $2}'; }

# guest_wait NAME TIMEOUT CMD: retries CMD in the guest, every second,
# until it succeeds (wait_for, tests/lib/verdict.sh).
guest_wait() { wait_for -t "$2" -i 1 _guest_ok "$1" "$3"; }
_guest_ok() { vm_run -t 60 "$1" "$2" >/dev/null 2>&1; }

# flash_store_do CMD...: runs a host abur command against the flash image's
# store (partition 2), mounted read-only; $STORE is the mount point.
flash_store_do() {
	local rc
	STORE=$TMP/flash-store
	img_mount "$FLASH" 2 "$STORE" || return 1
	"$@"
	rc=$?
	img_umount "$STORE"
	return $rc
}

# host_abur ARGS: abur on the host against the mounted flash store.
host_abur() { "$ABUR" -c "$RIG_BOARD/abur.ini" --store "$STORE" "$@"; }
