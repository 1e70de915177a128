# Helpers for the NTFS (Windows system disk) tests, sourced after image.sh.
# A "Windows disk" is a loop disk laid out as Windows Setup lays one out:
#   gpt: p1 ESP (vfat), p2 MSR (no filesystem), p3 NTFS C:, p4 NTFS recovery
#   dos: p1 NTFS "System Reserved" (active), p2 NTFS C:
# C: holds WIN_FILES small files and a few large ones, written through the
# ntfs-3g FUSE mount; some are deleted before sealing, their clusters free
# but holding DELETED_MARK.

WIN_INI=$TMP/abur-win.ini
# Only the os component: a Windows disk has no Linux root for file components.
sed -n '1,/^\[component software\]/p' "$INI" | sed '$d' >"$WIN_INI"
abur_win() { "$ABUR" -c "$WIN_INI" --store "$STORE" "$@"; }

WIN_FILES=${WIN_FILES:-3000}
DELETED_MARK=ABUR-DELETED-CLUSTER-MARK

win_c() { [ "$2" = gpt ] && echo "${1}p3" || echo "${1}p2"; }
win_ntfs_parts() { [ "$2" = gpt ] && echo "${1}p3 ${1}p4" || echo "${1}p1 ${1}p2"; }

_win_fill() { # DEV: files written through ntfs-3g, some deleted
	local m=$TMP/winfill.$$ i
	mkdir -p "$m"
	ntfs-3g "$1" "$m" || return 1
	mkdir -p "$m/Windows/System32" "$m/Users/vms/Documents" "$m/ProgramData/VMS"
	for ((i = 0; i < WIN_FILES; i++)); do
		printf 'file %d of the VMS install %s\n' "$i" "$RANDOM" >"$m/ProgramData/VMS/f$i.dat"
	done
	rand 3000000 >"$m/Windows/System32/ntoskrnl.exe"
	rand 200000 >"$m/Users/vms/Documents/report.doc"
	echo "[server]" >"$m/ProgramData/VMS/server.ini"
	# Freed clusters that are not zero: an image of them would be waste.
	yes "$DELETED_MARK" | head -c 4000000 >"$m/Users/vms/Documents/deleted.tmp"
	for ((i = 0; i < WIN_FILES; i += 10)); do rm "$m/ProgramData/VMS/f$i.dat"; done
	sync
	rm "$m/Users/vms/Documents/deleted.tmp"
	umount "$m"
}

_win_ntfs() { # DEV LABEL: mkntfs, quick
	mkntfs -f -Q -q -L "$2" "$1" >/dev/null 2>&1
}

# win_disk FILE gpt|dos [MIB]: the loop device in DEV.
win_disk() {
	local f=$1 label=$2 size=${3:-96} dev
	rm -f "$f"
	truncate -s "${size}M" "$f"
	if [ "$label" = gpt ]; then
		sfdisk -q "$f" <<-EOF || return 1
			label: gpt
			start=2048, size=8M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"
			size=16M, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE, name="Microsoft reserved partition"
			size=56M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
			type=DE94BBA4-06D1-4D40-A16A-BFD50179D6AC, name="Recovery", attrs="RequiredPartition GUID:63"
		EOF
	else
		sfdisk -q "$f" <<-EOF || return 1
			label: dos
			start=2048, size=16M, type=7, bootable
			type=7
		EOF
	fi
	rand 440 | dd of="$f" bs=440 count=1 conv=notrunc 2>/dev/null
	loop_of "$f" || return 1
	dev=$DEV
	if [ "$label" = gpt ]; then
		_fill_esp "${dev}p1" && _win_ntfs "${dev}p3" Windows && _win_ntfs "${dev}p4" Recovery &&
			_win_fill "${dev}p3" || return 1
	else
		_win_ntfs "${dev}p1" "System Reserved" && _win_ntfs "${dev}p2" Windows && _win_fill "${dev}p2" || return 1
	fi
}

# ntfs_tree DEV: every file with size and content hash, read through ntfs-3g.
ntfs_tree() {
	local m=$TMP/ntree.$$
	mkdir -p "$m"
	ntfs-3g -o ro "$1" "$m" || return 1
	(cd "$m" && find . -printf '%p %y %s\n' | sort && find . -type f -exec md5sum {} + | sort -k2)
	umount "$m"
}

# ntfs_set_dirty DEV: sets VOLUME_IS_DIRTY in $Volume's $VOLUME_INFORMATION,
# in $MFT and in $MFTMirr (the library compares the two), as Windows leaves
# a volume it did not shut down cleanly.
ntfs_set_dirty() {
	python3 - "$1" <<'PYEOF'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    bs = f.read(512)
    bps, spc = struct.unpack_from("<HB", bs, 0x0B)
    mft, mirr = struct.unpack_from("<qq", bs, 0x30)
    rs = struct.unpack_from("<b", bs, 0x40)[0]
    csize = bps * spc
    rsize = 1 << -rs if rs < 0 else rs * csize
    for lcn in (mft, mirr):
        at = lcn * csize + 3 * rsize
        f.seek(at)
        rec = bytearray(f.read(rsize))
        a = struct.unpack_from("<H", rec, 0x14)[0]
        while True:
            typ, alen = struct.unpack_from("<II", rec, a)
            if typ == 0xFFFFFFFF:
                sys.exit("no $VOLUME_INFORMATION")
            if typ == 0x70:
                v = a + struct.unpack_from("<H", rec, a + 0x14)[0]
                flags = struct.unpack_from("<H", rec, v + 10)[0] | 1
                struct.pack_into("<H", rec, v + 10, flags)
                break
            a += alen
        f.seek(at)
        f.write(rec)
PYEOF
}

# ntfs_damage_mirror DEV: $MFTMirr no longer matches $MFT (libblkid, which
# reads $MFT only, still sees NTFS; libntfs-3g refuses to mount it).
ntfs_damage_mirror() {
	python3 - "$1" <<'PYEOF'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    bs = f.read(512)
    bps, spc = struct.unpack_from("<HB", bs, 0x0B)
    mirr = struct.unpack_from("<q", bs, 0x38)[0]
    f.seek(mirr * bps * spc + 0x100)
    f.write(b"\xAB" * 64)
PYEOF
}

# ntfs_set_hibernated DEV MAGIC: a hiberfil.sys at the root whose first
# bytes are MAGIC ("hibr", "HIBR"), as hibernation and Fast Startup leave it.
ntfs_set_hibernated() {
	{ printf '%s' "$2"; head -c 65532 /dev/zero; } >"$TMP/hiberfil.sys"
	ntfscp -f "$1" "$TMP/hiberfil.sys" hiberfil.sys >/dev/null 2>&1
}

# ntfs_set_bitlocker DEV: BitLocker's signature in the OEM id field.
ntfs_set_bitlocker() {
	printf -- '-FVE-FS-' | dd of="$1" bs=1 seek=3 conv=notrunc 2>/dev/null
}

# layout_of STORE: layout.ini of the newest os generation.
layout_of() {
	local g
	g=$(ls -d "$1"/abur/os/g* | tail -1)
	tar --zstd -xOf "$g/disk.tar.zst" layout.ini
}
