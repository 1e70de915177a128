#!/bin/bash
# Builds the rig's test-server system disk: a small busybox system that
# boots on its own in SeaBIOS, runs `abur daemon` and a fake VMS.
#   GPT: p1 1 MiB BIOS boot, p2 ext4 root "vms-root" (LegacyBIOSBootable),
#        p3 swap "vms-swap"; syslinux's gptmbr.bin in the MBR, extlinux in
#        the root's /boot/extlinux, kernel root=PARTUUID=... console=ttyS0.
#   Root: busybox-static, qemu/rootfs/ (init scripts, fake VMS in /opt/vms,
#        /etc/vms/*.ini, /etc/vms/license.lic), /usr/sbin/abur with its
#        libraries, the board's abur.ini, Debian's cloud kernel and a few
#        modules (NVMe and ext4 are built in: no initramfs).
# Rebuilt only when an input changed.  Needs root (loop mount for extlinux).
#
#   qemu/mkrigdisk.sh --abur FILE --board DIR --out FILE [--size MB]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/qemu/imglib.sh"
GPTMBR=/usr/lib/syslinux/mbr/gptmbr.bin
MODULES="loop vfat nls_cp437 nls_ascii nls_iso8859-1"
# Fixed identifiers: the sealed image and the checks can rely on them.
DISK_GUID=5AB0D15C-0000-4000-8000-000000000001
ROOT_UUID=5AB0D15C-0000-4000-8000-000000000002
ROOT_FSUUID=5ab0d15c-0000-4000-8000-0000000000f2
SWAP_UUID=5AB0D15C-0000-4000-8000-000000000003
SWAP_FSUUID=5ab0d15c-0000-4000-8000-0000000000f3
BIOS_UUID=5AB0D15C-0000-4000-8000-000000000004

abur= board= out= size=160 root_mb=128 swap_mb=16
while [ $# -gt 0 ]; do
	case "$1" in
	--abur) abur=$2; shift ;;
	--board) board=$2; shift ;;
	--out) out=$2; shift ;;
	--size) size=$2; shift ;;
	*) die "usage: qemu/mkrigdisk.sh --abur FILE --board DIR --out FILE [--size MB]" ;;
	esac
	shift
done
[ -n "$board" ] && [ -n "$out" ] || die "--board and --out are required"
[ -f "$GPTMBR" ] || die "$GPTMBR missing: apt-get install syslinux-common"
command -v extlinux >/dev/null || die "extlinux missing: apt-get install extlinux"
[ "$(id -u)" = 0 ] || die "building the rig disk needs root (loop mount for extlinux)"
kdir=$("$top/scripts/kernel" --board "$board")
kver=$(basename "$kdir")

hash=$(inputs_hash "$0" "$top/qemu/imglib.sh" "$top/qemu/rootfs" "$top/qemu/rig-channel.sh" \
	"$board/abur.ini" /bin/busybox ${abur:+"$abur"} ${abur:+$(elf_deps "$abur")} \
	"$kdir/boot/vmlinuz-$kver" | { cat; echo "$size"; } | sha256sum | cut -c1-64)
if up_to_date "$out" "$hash"; then
	log "RIGDISK $out is up to date"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/abur-rigdisk.XXXXXX")
mnt=$work/mnt loopdev= img=
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	[ -n "$loopdev" ] && losetup -d "$loopdev"
	rm -rf "$work" ${img:+"$img"}
}
trap cleanup EXIT

# The root filesystem tree.
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,root,mnt,boot/extlinux,var/log,var/lib}
mkdir -p "$root"/etc/abur "$root"/var/lib/vms/recordings
install_busybox "$root"
cp -a "$top/qemu/rootfs/." "$root/"
cp /bin/busybox "$root/opt/vms/bin/vms-server" # a real binary for the software component
install -m 0755 "$top/qemu/rig-channel.sh" "$root/usr/libexec/abur-rig-channel"
install -m 0644 "$board/abur.ini" "$root/etc/abur/abur.ini"
ln -sf /proc/mounts "$root/etc/mtab"
chmod 1777 "$root/tmp"
if [ -n "$abur" ]; then
	[ -x "$abur" ] || die "$abur is not an executable"
	install_elf "$root" "$abur" /usr/sbin/abur
fi
# shellcheck disable=SC2086
install_modules "$root" "$kdir" "$kver" $MODULES
rm -f "$root/etc/abur/modules.load" # modprobe uses modules.dep here
install -m 0644 "$kdir/boot/vmlinuz-$kver" "$root/boot/vmlinuz"
cat >"$root/boot/extlinux/extlinux.conf" <<EOT
# The rig server's boot loader (extlinux on the root filesystem).
SERIAL 0 115200
DEFAULT vms
PROMPT 0
TIMEOUT 0
LABEL vms
	LINUX /boot/vmlinuz
	APPEND root=PARTUUID=$ROOT_UUID rw rootwait console=ttyS0,115200 loglevel=5 sysrq_always_enabled abur.rig=ttyS1
EOT

# The disk: GPT, then the root filesystem built from the tree.
mkdir -p "$(dirname "$out")"
img=$(mktemp "$out.XXXXXX") # next to $out: the final mv is atomic
truncate -s "${size}M" "$img"
sfdisk -q "$img" <<EOT
label: gpt
label-id: $DISK_GUID
first-lba: 2048
start=1MiB, size=1MiB, type=21686148-6449-6E6F-744E-656564454649, uuid=$BIOS_UUID, name="bios-boot"
start=2MiB, size=${root_mb}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOT_UUID, name="vms-root", attrs="LegacyBIOSBootable"
start=$((2 + root_mb))MiB, size=${swap_mb}MiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, uuid=$SWAP_UUID, name="vms-swap"
EOT
dd if="$GPTMBR" of="$img" bs=440 count=1 conv=notrunc status=none
# No 64bit: extlinux 6.04 cannot boot from 64-bit ext4.
mkfs.ext4 -q -F -b 4096 -O ^64bit -L vms-root -U "$ROOT_FSUUID" -E root_owner=0:0 \
	-d "$root" "$work/root.img" "${root_mb}M" >/dev/null
dd if="$work/root.img" of="$img" bs=1M seek=2 conv=notrunc,sparse status=none
rm -f "$work/root.img"
dd if=/dev/zero of="$work/swap.img" bs=1M count="$swap_mb" status=none && chmod 600 "$work/swap.img"
mkswap -L vms-swap -U "$SWAP_FSUUID" "$work/swap.img" >/dev/null
dd if="$work/swap.img" of="$img" bs=1M seek=$((2 + root_mb)) conv=notrunc,sparse status=none

# extlinux must see the partition at its offset on the disk: loop the whole
# image with a partition scan (no udev here: make the pN node ourselves).
loopdev=$(losetup -f --show -P "$img")
partprobe "$loopdev" 2>/dev/null || true
p2=${loopdev}p2
for _ in $(seq 50); do
	[ -b "$p2" ] && break
	if [ -e "/sys/block/${loopdev##*/}/${p2##*/}/dev" ]; then
		IFS=: read -r major minor <"/sys/block/${loopdev##*/}/${p2##*/}/dev"
		mknod "$p2" b "$major" "$minor" 2>/dev/null || true
	fi
	sleep 0.1
done
[ -b "$p2" ] || die "$p2 did not appear"
mkdir -p "$mnt"
mount "$p2" "$mnt"
extlinux --install "$mnt/boot/extlinux" 2>&1 | grep -vE "is device|device geometry|usually harmless" >&2 || true
[ -f "$mnt/boot/extlinux/ldlinux.sys" ] || die "extlinux --install failed"
umount "$mnt"
losetup -d "$loopdev"
loopdev=

chmod 0644 "$img"
mv "$img" "$out"
img=
echo "$hash" >"$out.inputs"
log "RIGDISK $out: ${size} MiB (root ${root_mb}, swap ${swap_mb}), $(du -k "$out" | cut -f1) KiB allocated"
