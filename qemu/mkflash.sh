#!/bin/bash
# Builds the board's bootable flash image, without mounting anything:
#   DOS label, MBR boot code from syslinux-common's mbr.bin,
#   p1 ABUR-BOOT  vfat, bootable, syslinux + menu.c32, vmlinuz, initrd.img, syslinux.cfg
#   p2 ABUR-STORE ext4 with an empty abur/ directory
# Sizes, menu timeout, default entry and kernel arguments come from
# board/B/flash.conf; the menu from board/B/syslinux.cfg.in.
#
#   qemu/mkflash.sh --board DIR --out FILE [--abur FILE] [--initramfs FILE]
#                   [--default MODE] [--timeout TENTHS] [--append ARGS]
#   qemu/mkflash.sh --menu IMAGE --board DIR [--default MODE] [--timeout TENTHS] [--append ARGS]
# The second form rewrites only the boot menu of an existing image (tests use
# it to pick the entry that boots, and to add e.g. abur.confirm=SERIAL).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/qemu/imglib.sh"
SYSLINUX_BIOS=/usr/lib/syslinux/modules/bios
MBR_BIN=/usr/lib/syslinux/mbr/mbr.bin
DISK_ID=0xab0f1a5e

abur= board= out= initrd= menu_img= def= timeout= append=
while [ $# -gt 0 ]; do
	case "$1" in
	--abur) abur=$2; shift ;;
	--board) board=$2; shift ;;
	--out) out=$2; shift ;;
	--initramfs) initrd=$2; shift ;;
	--menu) menu_img=$2; shift ;;
	--default) def=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--append) append=$2; shift ;;
	*) die "usage: see the header of qemu/mkflash.sh" ;;
	esac
	shift
done
[ -n "$board" ] && [ -f "$board/flash.conf" ] || die "--board DIR with a flash.conf is required"
# shellcheck disable=SC1091
. "$board/flash.conf"
def=${def:-$MENU_DEFAULT}
timeout=${timeout:-$MENU_TIMEOUT}
case "$def" in auto | restore | restore-settings | seal | verify | shell) ;; *) die "unknown menu entry '$def'" ;; esac

gen_menu() { # FILE
	sed -e "s|@BOARD@|$(basename "$board")|g" -e "s|@TIMEOUT@|$timeout|" -e "s|@DEFAULT@|$def|" \
		-e "s|@ARGS@|$KERNEL_ARGS|" -e "s|@EXTRA@|${append:+ $append}|" \
		"$board/syslinux.cfg.in" >"$1"
}

if [ -n "$menu_img" ]; then
	[ -f "$menu_img" ] || die "$menu_img: no such image"
	tmp=$(mktemp)
	gen_menu "$tmp"
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "$menu_img@@1M" "$tmp" ::/syslinux.cfg
	rm -f "$tmp"
	log "FLASH   $menu_img: menu default $def, timeout $timeout${append:+, append '$append'}"
	exit 0
fi

[ -n "$out" ] || die "--out is required"
kdir=$("$top/scripts/kernel" --board "$board")
kver=$(basename "$kdir")
if [ -z "$initrd" ]; then
	initrd=$(dirname "$out")/initramfs.img
	"$top/initramfs/build.sh" ${abur:+--abur "$abur"} --board "$board" --kernel "$kdir" --out "$initrd"
fi
for f in "$SYSLINUX_BIOS/menu.c32" "$SYSLINUX_BIOS/libutil.c32" "$MBR_BIN"; do
	[ -f "$f" ] || die "$f missing: apt-get install syslinux syslinux-common"
done

hash=$(inputs_hash "$0" "$top/qemu/imglib.sh" "$board/flash.conf" "$board/syslinux.cfg.in" "$initrd" \
	"$kdir/boot/vmlinuz-$kver" | { cat; echo "$def $timeout $append"; } | sha256sum | cut -c1-64)
if up_to_date "$out" "$hash"; then
	log "FLASH   $out is up to date"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/abur-flash.XXXXXX")
img=
trap 'rm -rf "$work" ${img:+"$img"}' EXIT
boot_mb=$BOOT_SIZE store_mb=$((FLASH_SIZE - BOOT_SIZE - 1))
mkdir -p "$(dirname "$out")"
img=$(mktemp "$out.XXXXXX") # next to $out: the final mv is atomic
truncate -s "${FLASH_SIZE}M" "$img"
sfdisk -q "$img" <<EOT
label: dos
label-id: $DISK_ID
start=1MiB, size=${boot_mb}MiB, type=e, bootable
start=$((1 + boot_mb))MiB, size=${store_mb}MiB, type=83
EOT
dd if="$MBR_BIN" of="$img" bs=440 count=1 conv=notrunc status=none

# p1: vfat with the kernel, the initramfs and the menu.
mkfs.vfat -n ABUR-BOOT -i ab0b0075 -h 2048 -C "$work/boot.img" $((boot_mb * 1024)) >/dev/null
gen_menu "$work/syslinux.cfg"
export MTOOLS_SKIP_CHECK=1
mcopy -i "$work/boot.img" "$kdir/boot/vmlinuz-$kver" ::/vmlinuz
mcopy -i "$work/boot.img" "$initrd" ::/initrd.img
mcopy -i "$work/boot.img" "$work/syslinux.cfg" "$SYSLINUX_BIOS/menu.c32" "$SYSLINUX_BIOS/libutil.c32" ::/
echo "$kver" >"$work/KERNEL"
mcopy -i "$work/boot.img" "$work/KERNEL" ::/KERNEL
dd if="$work/boot.img" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
syslinux --install --offset $((1024 * 1024)) "$img"

# p2: the store, populated without mounting.
mkdir -p "$work/store/abur"
mkfs.ext4 -q -F -b 4096 -L ABUR-STORE -U ab0b5707-0000-4000-8000-000000000002 -E root_owner=0:0 \
	-d "$work/store" "$work/store.img" "${store_mb}M" >/dev/null
dd if="$work/store.img" of="$img" bs=1M seek=$((1 + boot_mb)) conv=notrunc,sparse status=none

chmod 0644 "$img"
mv "$img" "$out"
img=
echo "$hash" >"$out.inputs"
log "FLASH   $out: ${FLASH_SIZE} MiB (boot ${boot_mb}, store ${store_mb}), $(du -k "$out" | cut -f1) KiB allocated, default entry $def"
