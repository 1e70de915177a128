# Reimage failures: a corrupted image and an I/O error stop the run, say
# where, and leave the incomplete marker; the payload is standard (p2.img
# mounts); progress events with --json.
. "$TOP/tests/lib/common.sh"
need_root "image faults" || exit 0
. "$TOP/tests/lib/image.sh"

STORE=$TMP/store
make_store "$STORE" 96
MARKER=$STORE/abur/state/reimage-incomplete
vms_disk "$TMP/sys.img" gpt >/dev/null 2>&1 || fail "building the test disk"
sys=$DEV
# The kernel need not know the partitions (no udev; a kernel without a
# GPT parser): seal tells it from the table it reads.
delpart "$sys" 2 && rm -f "${sys}p2"
check "seal (with partition 2 unknown to the kernel)" abur seal --disk "$sys"
check "seal made the partition known again" test -b "${sys}p2"
payload=$(ls "$STORE"/abur/os/g*/disk.tar.zst)

# The payload is a standard archive: p2.img is a sparse ext4 image.
mkdir -p "$TMP/x/m" "$TMP/src"
mount_tracked -o ro "${sys}p2" "$TMP/src"
if tar --zstd -xf "$payload" -C "$TMP/x" p2.img && mount_tracked -o loop,ro "$TMP/x/p2.img" "$TMP/x/m" &&
	diff -r "$TMP/src/opt" "$TMP/x/m/opt" >/dev/null; then
	pass "p2.img extracted with tar --zstd mounts with -o loop,ro and holds the files"
else
	fail "p2.img from tar does not mount or differs"
fi
umount "$TMP/src"
umount "$TMP/x/m" 2>/dev/null
alloc=$(du -k "$TMP/x/p2.img" | cut -f1)
[ "$alloc" -lt $((24 * 1024 / 2)) ] && pass "p2.img is extracted sparse (${alloc} KiB allocated of 24 MiB)" ||
	fail "p2.img not sparse: $alloc KiB"

# JSON progress events, and --generation.
blank_disk "$TMP/t1.img" 40
out=$(abur --json reimage --disk "$DEV" --generation 1 2>"$TMP/err")
if echo "$out" | grep '"event"' | python3 -c '
import json, sys
ev = [json.loads(l) for l in sys.stdin]
assert any(e["event"] == "progress" and e["stage"] == "write" and e["done"] == e["total"] > 0 for e in ev), ev
assert any(e["event"] == "progress" and e["stage"] == "verify" and e["done"] == e["total"] > 0 for e in ev), ev
'; then pass "reimage --json prints progress events (verify and write stages count bytes)"; else fail "no JSON progress: $out $(cat "$TMP/err")"; fi
out=$(abur reimage --disk "$DEV" --generation 99 --yes=x 2>&1)
[ $? = 1 ] && pass "reimage --generation of a missing generation fails" || fail "--generation 99: $out"

# An I/O error half-way through the data: stops, names the place, marker
# stays, and the disk has no partition table (it is written last).
blank_disk "$TMP/t2.img" 40
t2=$DEV
rm -f "$TMP/trace"
blank_disk "$TMP/t3.img" 40
ABUR_IO_TRACE=$TMP/trace abur reimage --disk "$DEV" --no-settings >/dev/null 2>&1
n=$(awk -v d="$DEV" '$2 == "write" && $3 == d {c++; if (c == 5) print $1}' "$TMP/trace")
if [ -z "$n" ]; then
	fail "I/O fault: no 5th write to $DEV in the trace"
else
	# the same call numbering holds on the second disk
	out=$(ABUR_IO_FAULT=eio:$n abur reimage --disk "$t2" 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q "at disk byte"; then
		pass "an I/O error stops the reimage naming where"
	else
		fail "I/O fault: rc=$rc $out"
	fi
	check "after the I/O error the marker says stage write, written" sh -c \
		"grep -q '^stage = write' '$MARKER' && grep -q '^written = yes' '$MARKER' && grep -q '^error = ' '$MARKER'"
	check "after the I/O error the disk has no partition table" sh -c "[ -z \"\$(blkid -p -o value -s PTTYPE $t2)\" ]"
	check "a second reimage completes and removes the marker" sh -c \
		"'$ABUR' -c '$INI' --store '$STORE' reimage --disk $t2 --yes=$(basename "$t2") >/dev/null 2>&1 && [ ! -e '$MARKER' ]"
fi

# A corrupted image: refused at the hash check, marker left, disk untouched.
# (changed first: a re-seal of the very same disk would reuse the seal)
mkdir -p "$TMP/sysmnt"
mount "${sys}p2" "$TMP/sysmnt" && echo changed >"$TMP/sysmnt/etc/changed" && umount "$TMP/sysmnt" ||
	fail "changing the disk before the second seal"
check "seal again: a second os generation" abur seal --disk "$sys"
payload=$(ls "$STORE"/abur/os/g*/disk.tar.zst | tail -1)
newest=$(basename "$(dirname "$payload")")
size=$(stat -c %s "$payload")
printf '\377\377\377\377' | dd of="$payload" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
blank_disk "$TMP/t4.img" 40
out=$(abur reimage --disk "$DEV" --generation "$newest" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "generation $((10#${newest#g})) fails verification"; then
	pass "a corrupted disk.tar.zst stops the reimage with an error naming it"
else
	fail "corrupted payload: rc=$rc $out"
fi
check "the corrupted image leaves the incomplete marker (nothing written)" sh -c \
	"grep -q '^stage = verify' '$MARKER' && grep -q '^written = no' '$MARKER'"
check "the corrupted image wrote nothing" first_mib_zero "$DEV"
out=$(abur reimage --disk "$DEV" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "$newest failed verification; wrote .* g000001" && [ ! -e "$MARKER" ]; then
	pass "without --generation the newest image that verifies is used, with a warning"
else
	fail "fallback to an older image: rc=$rc $out"
fi
