# abur flash install on loop devices: the layout it writes, and what it refuses.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/disks.sh"
need_root "flash install" || exit 0
command -v syslinux >/dev/null || { skip "flash install: syslinux not installed"; exit 0; }

img=$(dirname "$ABUR")/boot/flash.img
if ! "$TOP/qemu/mkflash.sh" --abur "$ABUR" --board "$TOP/board/qemu-x86_64" --out "$img" >"$TMP/mkflash.log" 2>&1; then
	fail "flash install: cannot build the flash image: $(tail -3 "$TMP/mkflash.log")"
	exit 0
fi
truncate -s 40M "$TMP/sys.img"
SYS=$(make_loop "$TMP/sys.img")
test_ini "$TMP/abur.ini" "$SYS"
install() { "$ABUR" -c "$TMP/abur.ini" flash install --image "$img" "$@"; }

truncate -s 200M "$TMP/new.img"
DEV=$(make_loop "$TMP/new.img")
if install --device "$DEV" >"$TMP/out" 2>&1; then
	udev_settle_parts "$DEV"
	labels=$(blkid -p -o value -s LABEL "${DEV}p1" "${DEV}p2" 2>/dev/null | tr '\n' ' ')
	boot=$(sfdisk -d "$DEV" | grep -c 'bootable')
	end=$(sfdisk -l -o End -n "$DEV" 2>/dev/null | tail -1 | tr -d ' ')
	[ "$labels" = "ABUR-BOOT ABUR-STORE " ] && [ "$boot" = 1 ] &&
		pass "blank device: ABUR-BOOT (bootable) and ABUR-STORE written" || fail "layout: labels='$labels' bootable=$boot"
	[ $(((end + 1) * 512)) -ge $((200 * 1024 * 1024 - 1024 * 1024)) ] &&
		pass "the store fills the rest of the device" || fail "store ends at sector $end"
	cmp -s -n 440 "$DEV" /usr/lib/syslinux/mbr/mbr.bin && pass "MBR boot code in place" || fail "no MBR boot code"
	mkdir -p "$TMP/m"
	mount -o ro "${DEV}p2" "$TMP/m" && grep -q '^format = 1' "$TMP/m/abur/STORE" &&
		pass "the store is initialised (abur/STORE)" || fail "no abur/STORE on the new store"
	umount "$TMP/m" 2>/dev/null
	mdir -i "${DEV}p1" ::/ 2>/dev/null | grep -qi vmlinuz && pass "kernel on ABUR-BOOT" || fail "no kernel on ABUR-BOOT"
	"$ABUR" -c "$TMP/abur.ini" probe "$DEV" 2>/dev/null | grep -q flash && pass "probe calls it flash" ||
		fail "probe does not see a flash"
else
	fail "install onto a blank device: $(tail -2 "$TMP/out")"
fi

# Refusals, checked before anything is written.
sum() { sha256sum "$1" | cut -c1-64; }
s0=$(sum "$SYS")
out=$(install --device "$SYS" --yes="$(basename "$(readlink -f "$SYS")")" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "system disk" && [ "$(sum "$SYS")" = "$s0" ] &&
	pass "the system disk is refused, even confirmed" || fail "system disk: rc=$rc $out"
s1=$(sum "$DEV")
out=$(install --device "$DEV" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "give --yes=" && [ "$(sum "$DEV")" = "$s1" ] &&
	pass "a device holding data needs --yes=SERIAL (nothing written)" || fail "data without --yes: rc=$rc $out"
out=$(install --device "$DEV" --yes="$(basename "$(readlink -f "$DEV")")" 2>&1); rc=$?
[ $rc = 0 ] && pass "--yes=SERIAL reinstalls over an old flash" || fail "with --yes: rc=$rc $out"
s1=$(sum "$DEV")
out=$(install --device "${DEV}p2" --yes="$(basename "$(readlink -f "$DEV")")" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "partition 2 of $DEV" && [ "$(sum "$DEV")" = "$s1" ] &&
	pass "a partition is refused naming its disk (nothing written)" || fail "partition: rc=$rc $out"
truncate -s 200M "$TMP/4k.img"
K4=$(losetup -f --show -b 4096 "$TMP/4k.img") && _loops+=("$K4")
out=$(install --device "$K4" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "4096-byte logical sectors" && cmp -s -n 1048576 "$K4" /dev/zero &&
	pass "a 4096-byte-sector device is refused (nothing written)" || fail "4096-byte sectors: rc=$rc $out"
head -c 2M "$img" >"$TMP/short.img"
out=$("$ABUR" -c "$TMP/abur.ini" flash install --image "$TMP/short.img" --device "$K4" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "does not lie inside the image" && cmp -s -n 1048576 "$K4" /dev/zero &&
	pass "a truncated flash image is refused before the copy" || fail "truncated image: rc=$rc $out"
truncate -s 30M "$TMP/small.img"
SMALL=$(make_loop "$TMP/small.img")
out=$(install --device "$SMALL" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "needs at least" && pass "a too-small device is refused naming the size" ||
	fail "small device: rc=$rc $out"
mkfs.ext4 -q -F "$TMP/small.img"
mkdir -p "$TMP/busy" && mount "$SMALL" "$TMP/busy"
out=$(install --device "$SMALL" --yes="$(basename "$(readlink -f "$SMALL")")" 2>&1); rc=$?
umount "$TMP/busy"
[ $rc = 1 ] && echo "$out" | grep -q "in use" && pass "a mounted device is refused" || fail "mounted: rc=$rc $out"

# The installed device boots: QEMU with it as the flash and a blank system disk.
. "$TOP/qemu/lib.sh"
export VM_DIR=$TMP/vms
if why=$(qemu_available); then
	sync
	losetup -d "$DEV" 2>/dev/null
	img_blank "$TMP/blank.img" 64
	vm_start flash --sys "$TMP/blank.img" --flash "$TMP/new.img" --rtc 2026-11-22T12:00:00 2>/dev/null
	if vm_wait flash 'NOTHING DONE' 180 >/dev/null; then
		pass "the installed flash boots, and its agent runs (no sealed image yet: nothing done)"
	else
		fail "the installed flash did not boot to the agent: $(vm_console flash | grep -a ABUR | tail -2 | tr '\n' ' ')"
	fi
	vm_kill flash 2>/dev/null
else
	skip "installed flash boot: $why"
fi
