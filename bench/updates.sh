#!/usr/bin/env bash
# os updates after delivery against restic and borg, in one run (issue 12):
# a GPT system disk on a loop device (BIOS boot, an ext4 root of ~50,000
# files / ~690 MB, swap) is sealed; an upgrade of ~110 MB (300 rewritten
# codecs, a new module tree, edited configs, two patched large files,
# deletions, chmods) is then captured by
#   abur backup os --root MNT      (update generation; baseline: the seal)
#   restic backup                  (repository v2, --compression auto = zstd default level; always encrypted)
#   borg create --compression zstd,3   (borg init -e none: no encryption)
# each from a baseline backup of the same root into its own local repository,
# and compared with the floor: tar of exactly the changed files | zstd -3.
# Then the unchanged night: each tool again, nothing changed.  The update
# is 3 s old when the first capture runs (older than abur's racy window).
# Every timed run starts with cold caches (sync; drop_caches) and ends with
# its filesystem synced (sync -f); bytes written = growth of the store or
# repository (du -sb), plus the kernel's write accounting of the process
# (caches included).  Prints a table and abur/peer ratios; fails only when a
# tool fails or abur's capture is wrong (checked through abur export).
#   bench/updates.sh [ABUR]      BENCH_FILES (50000)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
ABUR=${1:-${ABUR:-$TOP/build/abur}}
. "$TOP/tests/lib/common.sh"
need_root "bench updates" || exit 0
for t in restic borg zstd python3 sfdisk mkfs.ext4 /usr/bin/time; do
	command -v $t >/dev/null || { skip "bench updates: $t not installed (make deps)"; exit 0; }
done
[ -x "$ABUR" ] || { echo "bench/updates.sh: no $ABUR (run make first)" >&2; exit 1; }
NFILES=${BENCH_FILES:-50000}
W=$TMP
MNT=$W/root
STORE=$W/store
PEERS=$W/peers
CHANGED=$W/changed
INI=$W/abur.ini
sed -e 's/^system = .*/system = auto/' -e "s#^state_dir = .*#state_dir = $W/state#" \
	"$TOP/board/qemu-x86_64/abur.ini" >"$INI"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/cache/restic BORG_BASE_DIR=$W/cache/borg
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_PASSPHRASE=
threads=$(sed -n 's/^#define CONFIG_ZSTD_THREADS //p' "$TOP/include/generated/autoconf.h" 2>/dev/null)
level=$(sed -n 's/^#define CONFIG_ZSTD_LEVEL //p' "$TOP/include/generated/autoconf.h" 2>/dev/null)
threads=${threads:-1} level=${level:-3}

die() { fail "bench updates: $*"; exit 1; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
bytes() { du -sb "$1" | cut -f1; }
LOOP=
attach_to() { make_loop "$1" >"$W/loop.name" || die "no loop device"; LOOP=$(cat "$W/loop.name"); }
A=("$ABUR" -c "$INI" --store "$STORE")

# measure NAME DIR CMD...: CMD once, cold, then DIR's filesystem synced.
# Sets RC, T (s), RSS (KiB), IO (bytes the process wrote), GROW (DIR's growth).
measure() {
	local name=$1 dir=$2 before
	shift 2
	before=$(bytes "$dir")
	cold
	SYNCDIR=$dir /usr/bin/time -f '%e %M %O' -o "$W/time.$name" \
		bash -c '"$@"; rc=$?; sync -f "$SYNCDIR"; exit $rc' _ "$@" >"$W/out.$name" 2>&1
	RC=$?
	read -r T RSS IO < <(tail -n 1 "$W/time.$name")
	IO=$((IO * 512))
	GROW=$(($(bytes "$dir") - before))
}
# keep NAME: remember the last measure's figures under NAME.
declare -A t w rss io
keep() { t[$1]=$T w[$1]=$GROW rss[$1]=$RSS io[$1]=$IO; }
ok() { [ "$RC" = "${2:-0}" ] || die "$1 exited $RC: $(tail -n 3 "$W/out.$1" | tr '\n' ' ')"; }

# ---- the disk, its root, the seal -------------------------------------
echo "== a GPT disk with an ext4 root of ~$NFILES files"
truncate -s 1600M "$W/sys.img"
sfdisk -q "$W/sys.img" <<-EOF || die "sfdisk"
	label: gpt
	start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="bios"
	size=1400M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
	size=64M, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
EOF
head -c 440 /dev/urandom | dd of="$W/sys.img" bs=440 count=1 conv=notrunc 2>/dev/null
attach_to "$W/sys.img"
DEV=$LOOP
head -c 60000 /dev/urandom | dd of="${DEV}p1" bs=60000 count=1 conv=notrunc 2>/dev/null
mkfs.ext4 -q -L vmsroot "${DEV}p2" && mkswap -L vmsswap "${DEV}p3" >/dev/null || die "mkfs"
mkdir -p "$MNT"
mount_tracked "${DEV}p2" "$MNT" || die "mount root"
python3 "$TOP/bench/updtree.py" base "$MNT" "$NFILES" || die "making the tree"
entries=$(find "$MNT" -xdev ! -type d | wc -l)
dirs=$(find "$MNT" -xdev -type d | wc -l)
used=$(df -B1 --output=used "$MNT" | tail -1)
umount "$MNT"
echo "   $entries files and links, $dirs directories, $(numfmt --to=iec "$used") used"

for fs in store peers; do
	truncate -s 3G "$W/$fs.img"
	mkfs.ext4 -q -F "$W/$fs.img"
	mkdir -p "$W/$fs"
	mount_tracked -o loop "$W/$fs.img" "$W/$fs" || die "mount $fs"
done
echo "== baselines: abur seal, restic backup, borg create (untimed in the table)"
measure seal "$STORE" "${A[@]}" seal --disk "$DEV"
ok seal
seal_t=$T
mount_tracked "${DEV}p2" "$MNT" || die "mount root"
# The paths abur leaves out of os (board defaults, the file components).
excl=(lost+found tmp var/tmp var/cache/apt/archives var/log var/lib/abur etc/vms opt/vms)
RESTIC=(restic -r "$PEERS/restic" -q --compression auto backup --one-file-system --host bench)
BORG=(borg create --compression "zstd,$level" --one-file-system)
for e in "${excl[@]}"; do RESTIC+=(--exclude "$MNT/$e") BORG+=(--exclude "sh:${MNT#/}/$e"); done
RESTIC+=("$MNT")
restic -r "$PEERS/restic" -q init --repository-version 2 >"$W/out.rinit" 2>&1 || die "restic init: $(cat "$W/out.rinit")"
borg init -e none "$PEERS/borg" >"$W/out.binit" 2>&1 || die "borg init: $(cat "$W/out.binit")"
mkdir -p "$PEERS/floor"
measure restic0 "$PEERS/restic" "${RESTIC[@]}"
ok restic0
restic0_t=$T
measure borg0 "$PEERS/borg" "${BORG[@]}" "$PEERS/borg::night0" "$MNT"
ok borg0
borg0_t=$T
echo "   seal ${seal_t}s ($(numfmt --to=iec "$(bytes "$STORE")")), restic ${restic0_t}s" \
	"($(numfmt --to=iec "$(bytes "$PEERS/restic")")), borg ${borg0_t}s ($(numfmt --to=iec "$(bytes "$PEERS/borg")"))"

# ---- the update night ---------------------------------------------------
echo "== the update"
python3 "$TOP/bench/updtree.py" update "$MNT" "$CHANGED" || die "the update"
sync
# As at night, the update is older than abur's racy window (2 s): the
# capture need not re-hash what it sees, the unchanged night is a stat walk.
sleep 3
new_bytes=$(cd "$MNT" && tr '\n' '\0' <"$CHANGED" | xargs -0 stat -c %s | awk '{s += $1} END {print s}')
echo "   $(wc -l <"$CHANGED") paths with new content ($(numfmt --to=iec "$new_bytes")), $(wc -l <"$CHANGED.deleted")" \
	"removed, $(wc -l <"$CHANGED.modes") chmod'ed"
measure abur "$STORE" "${A[@]}" --json backup os --root "$MNT"
ok abur
keep abur
abur_payload=$(grep -o '"payload_bytes": *[0-9]*' "$W/out.abur" | grep -o '[0-9]*$')
gen=$(grep -o '"generation": *[0-9]*' "$W/out.abur" | grep -o '[0-9]*$')
measure restic "$PEERS/restic" "${RESTIC[@]}"
ok restic
keep restic
measure borg "$PEERS/borg" "${BORG[@]}" "$PEERS/borg::night1" "$MNT"
ok borg
keep borg
measure floor "$PEERS/floor" bash -c 'tar -C "$1" -cf - -T "$2" | zstd -q -"$3" -T"$4" -o "$5"' _ \
	"$MNT" "$CHANGED" "$level" "$threads" "$PEERS/floor/changed.tar.zst"
ok floor
keep floor

# ---- the unchanged night ------------------------------------------------
echo "== the unchanged night"
measure abur2 "$STORE" "${A[@]}" backup os --root "$MNT"
ok abur2 4
keep abur2
measure restic2 "$PEERS/restic" "${RESTIC[@]}"
ok restic2
keep restic2
measure borg2 "$PEERS/borg" "${BORG[@]}" "$PEERS/borg::night2" "$MNT"
ok borg2
keep borg2

# ---- was abur's capture right? -------------------------------------------
"${A[@]}" export os --generation "$gen" -o "$W/update.tar.zst" >"$W/out.export" 2>&1 || die "export: $(cat "$W/out.export")"
mkdir -p "$W/x"
tar --zstd -xpf "$W/update.tar.zst" -C "$W/x" || die "tar cannot extract the export"
python3 "$TOP/bench/updtree.py" verify "$W/x" "$MNT" "$CHANGED" || die "abur's capture of the update is wrong"
echo "   abur's update (g$gen: $(tr -d '\n ' <"$W/out.abur" | grep -o '"added".*"metadata":[0-9]*' | tr -d '"'))" \
	"holds every change: checked through abur export"

# ---- the table ------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
echo
echo "os update capture: $entries files and links, $dirs dirs, $(numfmt --to=iec "$used") on ext4; update:" \
	"$(numfmt --to=iec "$new_bytes") of new content; $(nproc) cores, cold caches, synced"
printf '%-12s %10s %11s %13s %13s %9s %9s %9s %9s\n' tool "update s" "update MiB" "unchanged s" "unchanged B" \
	"RSS MiB" "I/O MiB" "RSS2 MiB" "I/O2 MiB"
row() { printf '%-12s %10s %11s %13s %13s %9s %9s %9s %9s\n' "$1" "$2" "$(mib "$3")" "$4" "$5" \
	"$(mib "$(($6 * 1024))")" "$(mib "$7")" "$8" "$9"; }
t[floor2]=- w[floor2]=0
for p in abur restic borg floor; do
	r2=- i2=-
	[ -n "${rss[${p}2]:-}" ] && r2=$(mib "$((rss[${p}2] * 1024))") i2=$(mib "${io[${p}2]}")
	row "$p" "${t[$p]}" "${w[$p]}" "${t[${p}2]}" "${w[${p}2]}" "${rss[$p]}" "${io[$p]}" "$r2" "$i2"
done
for k in "" 2; do
	t[best$k]=$(best "${t[restic$k]}" "${t[borg$k]}") w[best$k]=$(best "${w[restic$k]}" "${w[borg$k]}")
done
for p in restic borg best floor; do
	printf '%-12s %10s %11s %13s %13s\n' "abur/$p" "$(ratio "${t[abur]}" "${t[$p]}")" "$(ratio "${w[abur]}" "${w[$p]}")" \
		"$(ratio "${t[abur2]}" "${t[${p}2]}")" "$(ratio "${w[abur2]}" "${w[${p}2]}")"
done
echo "(bytes = growth of the store or repository; abur's payloads alone: $(mib "$abur_payload") MiB.  RSS, I/O:"
echo " max RSS and the kernel's write accounting of the process on the update night (I/O includes its"
echo " caches outside the repository); RSS2, I/O2: the same on the unchanged night (abur: its stat"
echo " cache in state_dir, on the system disk).  Ratios below 1.00 mean abur is faster or smaller;"
echo " best = the better of restic and borg per column.  restic encrypts always (AES-256 + Poly1305);"
echo " borg runs unencrypted (-e none);"
echo " compression: abur zstd -$level, $threads threads; borg zstd,$level; restic auto (zstd default level);"
echo " floor: tar | zstd -$level -T$threads of just the changed files.)"
goal() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
goal "${t[abur]}" "${t[best]}" && goal "${w[abur]}" "${w[best]}" &&
	echo "goal: abur no slower and no bigger than the better peer: met" ||
	echo "goal: abur no slower and no bigger than the better peer: NOT met"
goal "${t[abur2]}" 2 && [ "${w[abur2]}" = 0 ] &&
	echo "goal: unchanged night under 2 s and 0 bytes (exit 4): met" ||
	echo "goal: unchanged night under 2 s and 0 bytes (exit 4): NOT met (${t[abur2]}s, ${w[abur2]} B)"
