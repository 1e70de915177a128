#!/usr/bin/env bash
# os imaging against peer tools, in one run on one ext4 disk image:
#   seal:    abur seal  vs  partclone.ext4 -c | zstd -3 -T0  vs  fsarchiver savefs -Z3 -j2
#   reimage: abur reimage  vs  zstd -d | partclone.ext4 -r  vs  fsarchiver restfs -j2
# Prints a table of times, payload sizes and ratios (peer / abur: above 1
# means abur is faster or smaller).  Needs root and loop devices.
#   bench/image.sh [ABUR]      (or $ABUR)      BENCH_DISK_MIB (3072), BENCH_DATA (dirs to copy)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
ABUR=${1:-${ABUR:-$TOP/build/abur}}
. "$TOP/tests/lib/common.sh"
need_root "bench image" || exit 0
for t in partclone.ext4 fsarchiver zstd; do
	command -v $t >/dev/null || { skip "bench image: $t not installed"; exit 0; }
done

DISK_MIB=${BENCH_DISK_MIB:-3072}
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

disk_with_table() { # FILE: GPT with one Linux partition over the whole disk
	truncate -s "${DISK_MIB}M" "$1"
	printf 'label: gpt\nlabel-id: 5E3A1C52-3C51-4C7C-9D3A-1B1B7A7E1A01\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=6A1E6C1E-2B0D-4C65-9C59-3F0E4B4E2B11, name="root"\n' |
		sfdisk -q "$1"
}

echo "== preparing a ${DISK_MIB} MiB disk image"
disk_with_table "$W/src.img"
attach_to "$W/src.img"
src=$LOOP
mkfs.ext4 -q -L vmsroot "${src}p1"
mkdir -p "$W/m"
mount "${src}p1" "$W/m"
for d in $DATA; do [ -d "$d" ] && mkdir -p "$W/m$(dirname "$d")" && cp -a "$d" "$W/m$d"; done
used=$(df -B1 --output=used "$W/m" | tail -1)
umount "$W/m"
echo "   $(numfmt --to=iec "$used") used of $(numfmt --to=iec $((DISK_MIB * 1048576)))"

truncate -s 8G "$W/store.img"
mkfs.ext4 -q -F -L ABUR-STORE "$W/store.img"
mkdir -p "$W/store"
mount_tracked -o loop "$W/store.img" "$W/store"
a() { "$ABUR" -q -c "$INI" --store "$W/store" "$@"; }

echo "== seal"
cold; t=$(now)
a seal --disk "$src" 2>"$W/seal.err" || { fail "bench: abur seal failed: $(tail -3 "$W/seal.err")"; exit 1; }
seal_abur=$(elapsed "$t")
size_abur=$(size_of "$(ls "$W"/store/abur/os/g*/disk.tar.zst)")

cold; t=$(now)
partclone.ext4 -c -q -L "$W/pc.log" -s "${src}p1" -o - 2>/dev/null | zstd -3 -T0 -q -o "$W/pc.zst"
sync
seal_pc=$(elapsed "$t")
size_pc=$(size_of "$W/pc.zst")

cold; t=$(now)
fsarchiver savefs -Z3 -j2 "$W/fs.fsa" "${src}p1" >/dev/null 2>&1
sync
seal_fsa=$(elapsed "$t")
size_fsa=$(size_of "$W/fs.fsa")

echo "== reimage"
truncate -s "${DISK_MIB}M" "$W/t1.img"
attach_to "$W/t1.img"
t1=$LOOP
cold; t=$(now)
a reimage --disk "$t1" --no-settings 2>"$W/reimage.err" || fail "bench: abur reimage failed: $(tail -3 "$W/reimage.err")"
re_abur=$(elapsed "$t")
e2fsck -fn "${t1}p1" >/dev/null 2>&1 && pass "bench: abur-reimaged disk passes e2fsck -fn" || fail "bench: e2fsck"

disk_with_table "$W/t2.img"
attach_to "$W/t2.img"
t2=$LOOP
cold; t=$(now)
zstd -dc -q "$W/pc.zst" | partclone.ext4 -r -q -L "$W/pc.log" -s - -o "${t2}p1" >/dev/null 2>&1
sync
re_pc=$(elapsed "$t")

disk_with_table "$W/t3.img"
attach_to "$W/t3.img"
t3=$LOOP
cold; t=$(now)
fsarchiver restfs -j2 "$W/fs.fsa" id=0,dest="${t3}p1" >/dev/null 2>&1
sync
re_fsa=$(elapsed "$t")

ratio() { echo "scale=2; $1 / $2" | bc; }
mib() { echo "scale=1; $1 / 1048576" | bc; }
echo
echo "os imaging, $(numfmt --to=iec "$used") used on a ${DISK_MIB} MiB ext4 disk ($(nproc) cores)"
printf '%-22s %9s %8s %12s %8s %11s %8s\n' tool "seal s" "x abur" "payload MiB" "x abur" "reimage s" "x abur"
row() { printf '%-22s %9.2f %8s %12s %8s %11.2f %8s\n' "$1" "$2" "$(ratio "$2" "$seal_abur")" "$(mib "$3")" \
	"$(ratio "$3" "$size_abur")" "$4" "$(ratio "$4" "$re_abur")"; }
row "abur" "$seal_abur" "$size_abur" "$re_abur"
row "partclone+zstd -3 -T0" "$seal_pc" "$size_pc" "$re_pc"
row "fsarchiver -Z3 -j2" "$seal_fsa" "$size_fsa" "$re_fsa"
echo "(x abur = peer / abur: above 1.00 means abur is faster or smaller.  Every timing starts with cold"
echo " caches and ends with the data on disk (abur fsyncs; the peers are followed by sync).  abur reimage"
echo " also includes its verification pass over the payload and writing the partition table.)"
