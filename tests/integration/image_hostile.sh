# Wrong targets, unreadable sources and crafted images: every refusal
# comes before the first write (the target is filled with a pattern and
# must be byte-identical afterwards, and still probe the same class).
. "$TOP/tests/lib/common.sh"
need_root "image hostile" || exit 0
. "$TOP/tests/lib/image.sh"

STORE=$TMP/store
make_store "$STORE" 96

# patterned FILE MIB [LOSETUP-ARGS]: a loop disk full of non-zero bytes in DEV
# (no table: it probes foreign), its copy in FILE.orig.
patterned() {
	python3 -c "import sys; sys.stdout.buffer.write(bytes(range(1, 256)) * ($2 * 1048576 // 255 + 1))" |
		head -c $(($2 * 1048576)) >"$1"
	cp "$1" "$1.orig"
	DEV=$(losetup -f --show ${3:-} "$1") && _loops+=("$DEV")
}

# refused NAME REGEX CMD...: exit 1, the message matches, the pattern disk
# $DEV (file $PAT) is unchanged and still probes foreign.
refused() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	sync
	if [ $rc != 1 ] || ! echo "$out" | grep -qE "$want"; then
		fail "$name: rc=$rc $out"
	elif ! cmp -s "$PAT" "$PAT.orig"; then
		fail "$name: the target changed: $(cmp "$PAT" "$PAT.orig" 2>&1 | head -1)"
	elif ! abur probe "$DEV" 2>&1 | head -1 | grep -q ': foreign ('; then
		fail "$name: the target no longer probes foreign: $(abur probe "$DEV" 2>&1 | head -1)"
	else
		pass "$name"
	fi
}

vms_disk "$TMP/sys.img" gpt >/dev/null 2>&1 || fail "building the test disk"
sys=$DEV
check "seal a good GPT disk" abur seal --disk "$sys"
gdir=$(ls -d "$STORE"/abur/os/g* | tail -1)
gen=$((10#${gdir##*/g}))
cp "$gdir/disk.tar.zst" "$TMP/good.tar.zst"
cp "$gdir/manifest.ini" "$TMP/good.manifest"
zstd -q -d -c "$TMP/good.tar.zst" >"$TMP/good.tar"

# 7. A partition as the target: refused, naming it and its disk.
PAT=$TMP/part.img
patterned "$PAT" 48
losetup -d "$DEV"
sfdisk -q "$PAT" <<<'label: gpt
start=2048, size=40M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' >/dev/null
dd if=/dev/zero of="$PAT" bs=1M seek=1 count=40 conv=notrunc status=none # a blank partition
cp "$PAT" "$PAT.orig"
loop_of "$PAT"
out=$(abur reimage --disk "${DEV}p1" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "partition 1 of $DEV" && cmp -s "$PAT" "$PAT.orig" &&
	pass "reimage onto a blank partition is refused naming its disk, nothing written" ||
	fail "reimage onto a partition: rc=$rc $out"
out=$(abur seal --disk "${sys}p2" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "partition 2 of $sys" && [ "$(ls -d "$STORE"/abur/os/g* | wc -l)" = 1 ] &&
	pass "seal of a partition is refused naming its disk, no generation" || fail "seal of a partition: rc=$rc $out"

# The blank test samples the middle too: a disk whose table (first MiB)
# was wiped but whose ext4 at 1 MiB is intact is not blank.
rm -f "$TMP/mid.img"
truncate -s 40M "$TMP/mid.img"
mkfs.ext4 -q -F -E offset=1048576 "$TMP/mid.img" 20M
loop_of "$TMP/mid.img"
out=$(abur probe "$DEV" 2>&1)
echo "$out" | head -1 | grep -q ": foreign (.*data at byte 1048576" &&
	pass "a wiped table over an intact ext4 at 1 MiB is foreign, not blank" || fail "data in the middle: $out"

# 9. A 4096-byte-sector disk for a 512-byte-sector image: refused first.
PAT=$TMP/4k.img
patterned "$PAT" 48 "-b 4096"
refused "a 4096-byte-sector target is refused naming both sector sizes, nothing written" \
	"4096-byte logical sectors.*512-byte" abur reimage --disk "$DEV" --yes="$(basename "$DEV")"

# Crafted layout.ini: the generation's payload rewritten with a matching
# manifest, then reimaged onto a pattern disk.
# craft 'SED SCRIPT': layout.ini of the good image edited by sed.
craft() {
	python3 - "$TMP/good.tar" "$TMP/layout.ini" split <<'EOF'
import sys, tarfile
data = open(sys.argv[1], 'rb').read()
h = tarfile.TarInfo.frombuf(data[:512], 'utf-8', 'surrogateescape')
assert h.name == 'layout.ini', h.name
open(sys.argv[2], 'wb').write(data[512:512 + h.size])
EOF
	sed -e "$1" "$TMP/layout.ini" >"$TMP/layout.new"
	python3 - "$TMP/good.tar" "$TMP/layout.new" "$TMP/new.tar" <<'EOF'
import sys, tarfile
data = open(sys.argv[1], 'rb').read()
h = tarfile.TarInfo.frombuf(data[:512], 'utf-8', 'surrogateescape')
rest = data[512 + (h.size + 511) // 512 * 512:]
text = open(sys.argv[2], 'rb').read()
t = tarfile.TarInfo('layout.ini')
t.size, t.mode = len(text), 0o600
open(sys.argv[3], 'wb').write(t.tobuf(format=tarfile.USTAR_FORMAT) + text + b'\0' * (-len(text) % 512) + rest)
EOF
	zstd -q -f "$TMP/new.tar" -o "$gdir/disk.tar.zst"
	awk -v size="$(stat -c %s "$gdir/disk.tar.zst")" -v sum="$(sha256sum "$gdir/disk.tar.zst" | cut -c1-64)" '
		/^\[/ { sec = $0 }
		sec == "[payload disk.tar.zst]" && /^size = / { $0 = "size = " size }
		sec == "[payload disk.tar.zst]" && /^sha256 = / { $0 = "sha256 = " sum }
		{ print }' "$TMP/good.manifest" >"$gdir/manifest.ini"
}

PAT=$TMP/crafted.img
patterned "$PAT" 48
crafted() { # NAME 'SED' REGEX
	craft "$2"
	refused "crafted layout.ini, $1: refused before any write" "$3" \
		abur reimage --disk "$DEV" --generation "$gen" --yes="$(basename "$DEV")"
}
crafted "overlapping partitions" '/^\[partition 3\]/,/^$/s/^start = .*/start = 10000/' "partitions 2 and 3 overlap"
crafted "start * sector_size overflows" '/^\[partition 2\]/,/^$/s/^start = .*/start = 36028797018963968/' "overflows"
crafted "a partition inside the GPT header" '/^\[partition 1\]/,/^$/s/^start = .*/start = 3/' "partition table area"
crafted "a negative start" '/^\[partition 3\]/,/^$/s/^start = .*/start = -1/' "start = -1"
crafted "zero sectors" '/^\[partition 3\]/,/^$/s/^size = .*/size = 0/' "no sectors"
crafted "duplicate partition numbers" 's/^\[partition 3\]/[partition 2]/' "partition 2"
crafted "out-of-order partitions" 's/^\[partition 1\]/[partition 9]/' "listed after"
crafted "a huge partition size" '/^\[partition 4\]/,/^$/s/^size = .*/size = 18446744073709000000/' "overflows"
# Own cases: an entry missing from the archive, a bootarea.bin larger
# than layout.ini says, a pN.img larger than its partition, sector size 520.
crafted "a partition image missing from the archive" \
	'$a\
\
[partition 5]\
start = 77824\
size = 2048\
type = 0FC63DAF-8483-4772-8E79-3D69D8477DE4\
method = raw\
used = 0' "lacks p5.img"
crafted "bootarea.bin larger than recorded" 's/^bootarea = .*/bootarea = 4096/' "bootarea.bin: .* layout.ini says 4096"
crafted "p3.img larger than its partition" '/^\[partition 3\]/,/^$/{s/^size = .*/size = 2048/;s/^used = .*/used = 0/}' "does not fit partition 3"
crafted "sector size 520" 's/^sector_size = .*/sector_size = 520/' "sector_size 520"
cp "$TMP/good.tar.zst" "$gdir/disk.tar.zst"
cp "$TMP/good.manifest" "$gdir/manifest.ini"

# 8. A GPT whose partitions run past the end of the disk: libfdisk sees
# the protective MBR only; seal refuses and commits nothing.
truncate -s 64M "$TMP/pe.img"
sfdisk -q "$TMP/pe.img" <<<'label: gpt
start=2048, size=20M, name=a
size=30M, name=b' >/dev/null
truncate -s 40M "$TMP/pe.img"
loop_of "$TMP/pe.img"
n0=$(ls -d "$STORE"/abur/*/g* | wc -l)
out=$(abur seal --disk "$DEV" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "protective MBR" && [ "$(ls -d "$STORE"/abur/*/g* | wc -l)" = "$n0" ] &&
	pass "seal of a GPT with partitions past the end is refused, nothing committed" || fail "GPT past the end: rc=$rc $out"

# 8. No root filesystem while file components are configured.
blank_disk "$TMP/noroot.img" 40
sfdisk -q "$DEV" <<<'label: gpt
start=2048, size=30M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' >/dev/null
partprobe "$DEV" 2>/dev/null
udev_settle_parts "$DEV"
mkfs.vfat "${DEV}p1" >/dev/null 2>&1
out=$(abur seal --disk "$DEV" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "no root filesystem.*software" && [ "$(ls -d "$STORE"/abur/*/g* | wc -l)" = "$n0" ] &&
	pass "seal without a root filesystem fails naming the configured components" || fail "no root: rc=$rc $out"

# Own case: a partition number beyond what layout.ini holds (GPT with 300
# entries): seal refuses instead of storing an image reimage cannot read.
blank_disk "$TMP/many.img" 40
sfdisk -q "$DEV" >/dev/null 2>&1 <<EOF
label: gpt
table-length: 300
${DEV}p300 : start=4096, size=20M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
EOF
out=$(abur seal --disk "$DEV" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "partition 300" && [ "$(ls -d "$STORE"/abur/*/g* | wc -l)" = "$n0" ] &&
	pass "seal of a GPT partition 300 is refused naming it" || fail "partition 300: rc=$rc $out"

# 15a. A zeroed ext4 block bitmap: the com_err text, not a number.
vms_disk "$TMP/bm.img" gpt >/dev/null 2>&1 || fail "building the bitmap disk"
bs=$(dumpe2fs -h "${DEV}p2" 2>/dev/null | awk -F: '/^Block size/{print $2+0}')
bb=$(dumpe2fs "${DEV}p2" 2>/dev/null | sed -n 's/.*Block bitmap at \([0-9]*\).*/\1/p' | head -1)
dd if=/dev/zero of="${DEV}p2" bs="$bs" seek="$bb" count=1 conv=notrunc status=none
out=$(abur seal --disk "$DEV" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -qi "bitmap checksum" && ! echo "$out" | grep -q "libext2fs error" &&
	pass "a zeroed block bitmap is reported with libext2fs's text" || fail "zeroed bitmap: rc=$rc $out"
