#!/usr/bin/env bash
# os imaging against peer tools, in one run, the same files on an ext4 and
# on an NTFS disk image (BENCH_FS="ext4 ntfs" picks):
#   ext4 seal:    abur seal  vs  partclone.ext4 -c | zstd -3 -T0  vs  fsarchiver savefs -Z3 -j2
#   ext4 reimage: abur reimage  vs  zstd -d | partclone.ext4 -r  vs  fsarchiver restfs -j2
#   ntfs seal:    abur seal  vs  partclone.ntfs -c | zstd -3 -T0  vs  ntfsclone --save-image | zstd -3 -T0
#   ntfs reimage: abur reimage  vs  zstd -d | partclone.ntfs -r  vs  zstd -d | ntfsclone --restore-image
# Prints a table per filesystem of times, payload sizes and ratios (peer /
# abur: above 1 means abur is faster or smaller).  Needs root and loop devices.
#   bench/image.sh [ABUR]      (or $ABUR)      BENCH_DISK_MIB (3072), BENCH_DATA (dirs to copy)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
ABUR=${1:-${ABUR:-$TOP/build/abur}}
. "$TOP/tests/lib/common.sh"
need_root "bench image" || exit 0
for t in partclone.ext4 partclone.ntfs fsarchiver ntfsclone mkntfs ntfs-3g ntfsfix zstd; do
	command -v $t >/dev/null || { skip "bench image: $t not installed"; exit 0; }
done

DISK_MIB=${BENCH_DISK_MIB:-3072}
FSES=${BENCH_FS:-ext4 ntfs}
# About 1.5 GB of ordinary Debian files: binaries, libraries, text.
DATA=${BENCH_DATA:-"/usr/bin /usr/sbin /usr/lib/gcc /usr/include /usr/share/doc /usr/share/locale /usr/share/man
/usr/lib/python3 /usr/lib/python3.11 /usr/libexec /usr/share/perl /usr/share/zoneinfo"}
W=$TMP
INI=$W/bench.ini
printf '[flash]\nstore = %s/store\n[disk]\nsystem = auto\n[component os]\ntype = disk\npolicy = manual\nkeep = 2\n' \
	"$W" >"$INI"

# make_loop in this shell (not in $(...)) so the loop is detached on exit.
LOOP=
attach_to() { make_loop "$1" >"$W/loop.name" || exit 1; LOOP=$(cat "$W/loop.name"); }
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
size_of() { stat -c %s "$1"; }

# GUID of the one partition over the whole disk, per filesystem.
declare -A PART_TYPE=([ext4]=0FC63DAF-8483-4772-8E79-3D69D8477DE4 [ntfs]=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7)
disk_with_table() { # FILE FS: GPT with one partition over the whole disk
	truncate -s "${DISK_MIB}M" "$1"
	printf 'label: gpt\nlabel-id: 5E3A1C52-3C51-4C7C-9D3A-1B1B7A7E1A01\nstart=2048, type=%s, uuid=6A1E6C1E-2B0D-4C65-9C59-3F0E4B4E2B11, name="root"\n' \
		"${PART_TYPE[$2]}" | sfdisk -q "$1"
}

# mkfs_FS DEV, mount_FS DEV DIR, copy_FS SRC DST, check_FS DEV
mkfs_ext4() { mkfs.ext4 -q -L vmsroot "$1"; }
mount_ext4() { mount "$1" "$2"; }
copy_ext4() { cp -a "$1" "$2"; }
check_ext4() { e2fsck -fn "$1" >/dev/null 2>&1; }
mkfs_ntfs() { mkntfs -f -Q -q -L Windows "$1" >/dev/null 2>&1; }
mount_ntfs() { ntfs-3g "$1" "$2"; }
copy_ntfs() { cp -r --preserve=timestamps "$1" "$2"; } # NTFS keeps no Unix owners
check_ntfs() { ntfsfix -n "$1" >/dev/null 2>&1; }

# The peers: PEER_seal FS PART OUT and PEER_restore FS IN PART.
pc_seal() { partclone."$1" -c -q -L "$W/pc.log" -s "$2" -o - 2>/dev/null | zstd -3 -T0 -q -o "$3"; }
pc_restore() { zstd -dc -q "$2" | partclone."$1" -r -q -L "$W/pc.log" -s - -o "$3" >/dev/null 2>&1; }
fsa_seal() { fsarchiver savefs -Z3 -j2 "$3" "$2" >/dev/null 2>&1; }
fsa_restore() { fsarchiver restfs -j2 "$2" id=0,dest="$3" >/dev/null 2>&1; }
nc_seal() { ntfsclone -f --save-image -o - "$2" 2>/dev/null | zstd -3 -T0 -q -o "$3"; }
nc_restore() { zstd -dc -q "$2" | ntfsclone -f --restore-image --overwrite "$3" - >/dev/null 2>&1; }
declare -A PEERS=([ext4]="pc fsa" [ntfs]="pc nc")
declare -A PEER_NAME=([pc]="partclone+zstd -3 -T0" [fsa]="fsarchiver -Z3 -j2" [nc]="ntfsclone+zstd -3 -T0")
declare -A PEER_OUT=([pc]=pc.zst [fsa]=fs.fsa [nc]=nc.zst) # fsarchiver wants .fsa

truncate -s 8G "$W/store.img"
mkfs.ext4 -q -F -L ABUR-STORE "$W/store.img"
mkdir -p "$W/store"
mount_tracked -o loop "$W/store.img" "$W/store"
a() { "$ABUR" -q -c "$INI" --store "$W/store" "$@"; }

ratio() { echo "scale=2; $1 / $2" | bc; }
mib() { echo "scale=1; $1 / 1048576" | bc; }
row() { # NAME SEAL_S BYTES REIMAGE_S, against abur's
	printf '%-22s %9.2f %8s %12s %8s %11.2f %8s\n' "$1" "$2" "$(ratio "$2" "$seal_abur")" "$(mib "$3")" \
		"$(ratio "$3" "$size_abur")" "$4" "$(ratio "$4" "$re_abur")"
}

bench_fs() { # FS
	local fs=$1 src used t p n
	declare -A seal_s size_b re_s
	echo "== $fs: preparing a ${DISK_MIB} MiB disk image"
	disk_with_table "$W/src-$fs.img" "$fs"
	attach_to "$W/src-$fs.img"
	src=$LOOP
	mkfs_"$fs" "${src}p1"
	mkdir -p "$W/m"
	mount_"$fs" "${src}p1" "$W/m"
	for d in $DATA; do [ -d "$d" ] && mkdir -p "$W/m$(dirname "$d")" && copy_"$fs" "$d" "$W/m$d"; done
	used=$(df -B1 --output=used "$W/m" | tail -1)
	umount "$W/m"
	echo "   $(numfmt --to=iec "$used") used of $(numfmt --to=iec $((DISK_MIB * 1048576)))"

	echo "== $fs: seal"
	# The first reader of the source would pay the host's cache (a VM's
	# virtual disk): read it once, so every tool meets the same one.
	cat "$src" >/dev/null
	cold; t=$(now)
	a seal --disk "$src" 2>"$W/seal.err" || { fail "bench: $fs: abur seal failed: $(tail -3 "$W/seal.err")"; return; }
	seal_abur=$(elapsed "$t")
	size_abur=$(size_of "$(ls -d "$W"/store/abur/os/g* | tail -1)/disk.tar.zst")
	for p in ${PEERS[$fs]}; do
		cold; t=$(now)
		"${p}_seal" "$fs" "${src}p1" "$W/${PEER_OUT[$p]}"
		sync
		seal_s[$p]=$(elapsed "$t") size_b[$p]=$(size_of "$W/${PEER_OUT[$p]}")
	done

	echo "== $fs: reimage"
	truncate -s "${DISK_MIB}M" "$W/t-$fs-abur.img"
	attach_to "$W/t-$fs-abur.img"
	cold; t=$(now)
	a reimage --disk "$LOOP" --no-settings 2>"$W/reimage.err" || fail "bench: $fs: abur reimage failed: $(tail -3 "$W/reimage.err")"
	re_abur=$(elapsed "$t")
	check_"$fs" "${LOOP}p1" && pass "bench: $fs: the abur-reimaged disk checks clean" || fail "bench: $fs: check after reimage"
	for p in ${PEERS[$fs]}; do
		disk_with_table "$W/t-$fs-$p.img" "$fs"
		attach_to "$W/t-$fs-$p.img"
		cold; t=$(now)
		"${p}_restore" "$fs" "$W/${PEER_OUT[$p]}" "${LOOP}p1"
		sync
		re_s[$p]=$(elapsed "$t")
		rm -f "$W/${PEER_OUT[$p]}"
	done

	echo
	echo "os imaging, $(numfmt --to=iec "$used") used on a ${DISK_MIB} MiB $fs disk ($(nproc) cores)"
	printf '%-22s %9s %8s %12s %8s %11s %8s\n' tool "seal s" "x abur" "payload MiB" "x abur" "reimage s" "x abur"
	row "abur" "$seal_abur" "$size_abur" "$re_abur"
	for p in ${PEERS[$fs]}; do row "${PEER_NAME[$p]}" "${seal_s[$p]}" "${size_b[$p]}" "${re_s[$p]}"; done
	n=0
	for p in ${PEERS[$fs]}; do
		[ "$(echo "${seal_s[$p]} >= $seal_abur && ${size_b[$p]} >= $size_abur" | bc)" = 1 ] || n=$((n + 1))
	done
	[ $n = 0 ] && echo "abur: no slower to seal and no bigger than any peer on $fs" ||
		echo "abur: slower to seal or bigger than $n peer(s) on $fs"
	echo
}

for fs in $FSES; do bench_fs "$fs"; done
echo "(x abur = peer / abur: above 1.00 means abur is faster or smaller.  Every timing starts with cold"
echo " caches and ends with the data on disk (abur fsyncs; the peers are followed by sync).  abur reimage"
echo " also includes its verification pass over the payload and writing the partition table.)"
