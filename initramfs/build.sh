#!/bin/bash
# Builds the flash initramfs: a zstd-compressed newc cpio with busybox
# (busybox-static), the abur binary and exactly its shared libraries, the
# board's kernel modules, the board's abur.ini as /etc/abur/abur.ini and
# initramfs/init.  Rebuilt only when an input changed.
#
#   initramfs/build.sh --abur FILE --board DIR --out FILE [--kernel DIR]
#
# Without the abur binary the initramfs still boots (and says so).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/qemu/imglib.sh"

abur= board= out= kdir= level=${ZSTD_LEVEL:-19}
while [ $# -gt 0 ]; do
	case "$1" in
	--abur) abur=$2; shift ;;
	--board) board=$2; shift ;;
	--out) out=$2; shift ;;
	--kernel) kdir=$2; shift ;;
	*) die "usage: initramfs/build.sh --abur FILE --board DIR --out FILE [--kernel DIR]" ;;
	esac
	shift
done
[ -n "$board" ] && [ -n "$out" ] || die "--board and --out are required"
[ -f "$board/abur.ini" ] || die "$board/abur.ini missing"
[ -n "$kdir" ] || kdir=$("$top/scripts/kernel" --board "$board")
kver=$(basename "$kdir")
mods=$(sed 's/#.*//' "$board/modules" 2>/dev/null | xargs)

hash=$(inputs_hash "$0" "$top/qemu/imglib.sh" "$top/initramfs/init" "$top/initramfs/menu.txt" \
	"$top/qemu/rig-channel.sh" "$board/abur.ini" "$board/modules" /bin/busybox \
	${abur:+"$abur"} ${abur:+$(elf_deps "$abur")} "$kdir/boot/vmlinuz-$kver" | { cat; echo "$level"; } | sha256sum | cut -c1-64)
if up_to_date "$out" "$hash"; then
	log "INITRAMFS $out is up to date"
	exit 0
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/abur-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{dev,proc,sys,run,tmp,mnt,root,etc/abur,var/log,usr/libexec}
mknod -m 0600 "$root/dev/console" c 5 1
mknod -m 0666 "$root/dev/null" c 1 3
install_busybox "$root"
if [ -n "$abur" ]; then
	[ -x "$abur" ] || die "$abur is not an executable"
	install_elf "$root" "$abur" /usr/sbin/abur
else
	log "INITRAMFS no abur binary given: the init will say so and offer a shell"
fi
# A board that grows the last partition carries what the partition methods'
# grow runs (their grow_tools: e2fsck and resize2fs for ext, ntfsresize for
# NTFS); without them the agent refuses to grow, before writing.
if grep -Eq '^grow_last_partition *= *(yes|true|on|1) *$' "$board/abur.ini"; then
	for t in e2fsck resize2fs ntfsresize; do
		p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t") ||
			die "$t not found: the board grows the last partition (scripts/deps installs it)"
		install_elf "$root" "$p" "/usr/sbin/$t"
	done
fi
# shellcheck disable=SC2086
install_modules "$root" "$kdir" "$kver" $mods
install -m 0755 "$top/initramfs/init" "$root/init"
install -m 0644 "$board/abur.ini" "$root/etc/abur/abur.ini"
install -m 0644 "$top/initramfs/menu.txt" "$root/etc/abur/menu.txt"
install -m 0755 "$top/qemu/rig-channel.sh" "$root/usr/libexec/abur-rig-channel"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
ln -s /proc/mounts "$root/etc/mtab"

mkdir -p "$(dirname "$out")"
tmp_out=$(mktemp "$out.XXXXXX")
trap 'rm -rf "$root" "$tmp_out"' EXIT
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
	zstd -q -"$level" -T0 -f -o "$tmp_out"
chmod 0644 "$tmp_out"
mv "$tmp_out" "$out"
echo "$hash" >"$out.inputs"
log "INITRAMFS $out: $(du -k "$out" | cut -f1) KiB compressed, $(du -sk "$root" | cut -f1) KiB unpacked"
