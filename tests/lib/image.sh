# Helpers for the os-imaging integration tests (sourced after common.sh).
# A "VMS disk" is a loop disk shaped like the server's system disk:
#   gpt: p1 BIOS boot (1 MiB, boot loader bytes), p2 ext4 root, p3 vfat ESP, p4 swap
#   dos: p1 vfat ESP (active), p2 swap, p3 ext4 root (last, so it can grow)
# with boot code in sector 0 and, on DOS, in the gap before p1.

INI=$TMP/abur.ini
GROW_INI=$TMP/abur-grow.ini
sed -e 's/^system = .*/system = auto/' "$TOP/board/qemu-x86_64/abur.ini" >"$INI"
sed -e 's/^grow_last_partition = .*/grow_last_partition = yes/' "$INI" >"$GROW_INI"

abur() { "$ABUR" -c "$INI" --store "$STORE" "$@"; }
abur_grow() { "$ABUR" -c "$GROW_INI" --store "$STORE" "$@"; }

rand() { head -c "$1" /dev/urandom; }

# Disk makers set DEV instead of printing it: make_loop must run in this
# shell so the loop device is detached on exit.
loop_of() { # FILE: attach, set DEV
	make_loop "$1" >"$TMP/loop.name" || return 1
	DEV=$(cat "$TMP/loop.name")
}

# blank_disk FILE MIB: a new all-zero loop disk in DEV.
blank_disk() {
	rm -f "$1"
	truncate -s "$2M" "$1"
	loop_of "$1"
}

_fill_root() { # DEV: ext4 root with a fake VMS tree
	local m=$TMP/fill.$$
	mkdir -p "$m"
	mount "$1" "$m" || return 1
	mkdir -p "$m/etc/vms" "$m/opt/vms/bin" "$m/opt/vms/lib" "$m/var/log"
	printf 'UUID=root / ext4 defaults 0 1\n' >"$m/etc/fstab"
	printf 'ID=debian\nVERSION_ID=12\n' >"$m/etc/os-release"
	rand 300000 >"$m/opt/vms/bin/vmsd"
	chmod 0755 "$m/opt/vms/bin/vmsd"
	for i in 1 2 3; do rand 50000 >"$m/opt/vms/lib/libvms$i.so"; done
	ln -s libvms1.so "$m/opt/vms/lib/libvms.so"
	printf '[server]\nport = 7001\n' >"$m/etc/vms/server.ini"
	printf '[cameras]\ncount = 64\n' >"$m/etc/vms/cameras.ini"
	printf 'LICENSE-KEY-0123456789\n' >"$m/etc/vms/license.lic"
	chmod 0600 "$m/etc/vms/license.lic"
	ln "$m/opt/vms/bin/vmsd" "$m/opt/vms/bin/vmsd.hardlink"
	truncate -s 5M "$m/var/log/sparse.log"
	echo tail >>"$m/var/log/sparse.log"
	umount "$m"
}

_fill_esp() { # DEV
	mkfs.vfat -n ESP "$1" >/dev/null 2>&1 || return 1 # (it warns about loop geometry)
	rand 100000 >"$TMP/bootx64.efi"
	mmd -i "$1" ::/EFI ::/EFI/BOOT && mcopy -i "$1" "$TMP/bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
}

# vms_disk FILE gpt|dos [MIB]: the loop device in DEV.
vms_disk() {
	local f=$1 label=$2 size=${3:-40} dev
	rm -f "$f"
	truncate -s "${size}M" "$f"
	if [ "$label" = gpt ]; then
		sfdisk -q "$f" <<-EOF || return 1
			label: gpt
			start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="bios"
			size=24M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
			size=8M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System", attrs="RequiredPartition LegacyBIOSBootable"
			size=4M, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
		EOF
	else
		sfdisk -q "$f" <<-EOF || return 1
			label: dos
			start=2048, size=8M, type=ef, bootable
			size=4M, type=82
			type=83
		EOF
	fi
	# Boot code in sector 0 (before the table), and on DOS in the gap.
	rand 440 | dd of="$f" bs=440 count=1 conv=notrunc 2>/dev/null
	[ "$label" = dos ] && rand 500000 | dd of="$f" bs=512 seek=1 conv=notrunc 2>/dev/null
	loop_of "$f" || return 1
	dev=$DEV
	if [ "$label" = gpt ]; then
		rand 60000 | dd of="${dev}p1" bs=60000 count=1 conv=notrunc 2>/dev/null
		mkfs.ext4 -q -L vmsroot "${dev}p2" && _fill_root "${dev}p2" && _fill_esp "${dev}p3" &&
			mkswap -L vmsswap "${dev}p4" >/dev/null || return 1
	else
		_fill_esp "${dev}p1" && mkswap -L vmsswap "${dev}p2" >/dev/null &&
			mkfs.ext4 -q -L vmsroot "${dev}p3" && _fill_root "${dev}p3" || return 1
	fi
}

# ids DEV: the identifiers that must survive a reimage, one per line.
ids() {
	local p
	echo "PTUUID=$(blkid -p -o value -s PTUUID "$1") PTTYPE=$(blkid -p -o value -s PTTYPE "$1")"
	for p in "$1"p*; do
		[ -b "$p" ] || continue
		echo "${p#"$1"}: $(blkid -p -o export "$p" | grep -E '^(TYPE|UUID|LABEL|PART_ENTRY_(UUID|NAME|TYPE|NUMBER|OFFSET|FLAGS))=' | sort | tr '\n' ' ')"
	done
}

# tree DEV: every file of the filesystem with type, mode, owner, size,
# link target and content hash.
tree() {
	local m=$TMP/tree.$$
	mkdir -p "$m"
	mount -o ro "$1" "$m" || return 1
	(cd "$m" && find . -path ./lost+found -prune -o -printf '%p %y %m %u %g %s %l %n\n' | sort &&
		find . -type f ! -path './lost+found*' -exec md5sum {} + | sort -k2)
	umount "$m"
}

# first_mib_zero DEV
first_mib_zero() { cmp -s -n 1048576 "$1" /dev/zero; }

# root_of DEV gpt|dos
root_of() { [ "$2" = gpt ] && echo "${1}p2" || echo "${1}p3"; }
esp_of() { [ "$2" = gpt ] && echo "${1}p3" || echo "${1}p1"; }
