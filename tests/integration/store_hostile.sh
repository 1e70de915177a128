# Hostile archives placed in the store by hand, each as a generation whose
# manifest matches its payload (so only the restore's own checks can stop
# it).  None may write outside ROOT, exhaust memory, or write anything at
# all into ROOT; each gets a clear error.
. "$TOP/tests/lib/common.sh"

store=$TMP/store
canary=$TMP/canary
ini=$TMP/abur.ini
cat >"$ini" <<EOF
[flash]
store = $store
mount = $TMP/mnt
[restore]
max_total_size = 10M
max_entries = 1000
[component config]
paths = /etc/vms
keep = 100
EOF
mkdir -p "$store/abur/config" "$canary"
echo "canary" >"$canary/keep.txt"
printf '; ABUR snapshot store\nformat = 1\nboard = test\nmachine = test\ncreated = 0\n' >"$store/abur/STORE"

# gen.py CASE: an uncompressed tar on stdout.
cat >"$TMP/gen.py" <<'PYEOF'
import io, sys, tarfile
case, canary = sys.argv[1], sys.argv[2]
out = sys.stdout.buffer

def info(name, typ=tarfile.REGTYPE, size=0, **kw):
    t = tarfile.TarInfo(name)
    t.type, t.size, t.mode, t.mtime = typ, size, 0o644, 1700000000
    for k, v in kw.items():
        setattr(t, k, v)
    return t

def write(entries, fmt=tarfile.PAX_FORMAT):
    tf = tarfile.open(fileobj=out, mode="w|", format=fmt)
    for t, data in entries:
        tf.addfile(t, io.BytesIO(data) if data is not None else None)
    tf.close()

ok = (info("etc/vms/ok.ini", size=6), b"ok=1\n\n")
d = (info("etc/vms", tarfile.DIRTYPE, mode=0o755), None)
if case == "benign":
    write([d, ok, (info("etc/vms/link.ini", tarfile.SYMTYPE, linkname="ok.ini"), None),
           (info("etc/vms/hard.ini", tarfile.LNKTYPE, linkname="etc/vms/ok.ini"), None)])
elif case == "overlap-old":
    # What an older abur wrote for overlapping paths (/etc/vms/sub and
    # /etc/vms): the same directory and file twice.
    write([d, ok, d, (info("etc/vms/ok.ini", size=6), b"ok=1\n\n")])
elif case == "dotdot":
    write([d, ok, (info("../canary/abur-hostile-dotdot", size=4), b"evil")])
elif case == "dotdot-inner":
    write([d, ok, (info("etc/vms/../../../canary/abur-hostile-inner", size=4), b"evil")])
elif case == "absolute":
    write([d, ok, (info(canary + "/abur-hostile-abs", size=4), b"evil")])
elif case == "symlink-root":
    write([d, ok, (info("etc/vms/root", tarfile.SYMTYPE, linkname="/"), None),
           (info("etc/vms/root" + canary + "/abur-hostile-through", size=4), b"evil")])
elif case == "symlink-up":
    write([d, ok, (info("etc/up", tarfile.SYMTYPE, linkname="../../../../../../../.." + canary), None),
           (info("etc/up/abur-hostile-up", size=4), b"evil")])
elif case == "hardlink-out":
    write([d, ok, (info("etc/vms/passwd", tarfile.LNKTYPE, linkname=canary + "/keep.txt"), None)])
elif case == "hardlink-dotdot":
    write([d, ok, (info("etc/vms/k", tarfile.LNKTYPE, linkname="../../canary/keep.txt"), None)])
elif case == "hardlink-missing":
    write([d, ok, (info("etc/vms/k", tarfile.LNKTYPE, linkname="etc/shadow"), None)])
elif case == "chardev":
    write([d, ok, (info("etc/vms/null", tarfile.CHRTYPE, devmajor=1, devminor=3), None)])
elif case == "blockdev":
    write([d, ok, (info("etc/vms/sda", tarfile.BLKTYPE, devmajor=8, devminor=0), None)])
elif case == "fifo":
    write([d, ok, (info("etc/vms/fifo", tarfile.FIFOTYPE), None)])
elif case == "million":
    # 10^6 empty files, written by hand for speed (ustar headers).
    tmpl = bytearray(tarfile.TarInfo("x").tobuf(tarfile.USTAR_FORMAT))
    buf = bytearray()
    for i in range(1000000):
        h = bytearray(tmpl)
        name = b"etc/vms/f%07d" % i
        h[0:100] = name.ljust(100, b"\0")
        h[148:156] = b" " * 8
        h[148:156] = b"%06o\0 " % sum(h)
        buf += h
        if len(buf) >= 1 << 22:
            out.write(buf); buf = bytearray()
    out.write(buf + b"\0" * 1024)
elif case == "many-small":
    # 200 x 1 MiB of zeros: each under the limit, together 20x over it.
    write([d] + [(info("etc/vms/z%03d" % i, size=1 << 20), b"\0" * (1 << 20)) for i in range(200)])
elif case == "bomb-header":
    # One entry of 2 GiB of zeros: its header, then the test appends zeros.
    out.write(info("etc/vms/bomb", size=2 << 30).tobuf(tarfile.USTAR_FORMAT))
elif case == "pax-bomb":
    # A pax extended header of 1 GiB: the header itself is the bomb.
    hdr = info("././@PaxHeader", tarfile.XHDTYPE, size=1 << 30)
    out.write(hdr.tobuf(tarfile.USTAR_FORMAT))
elif case == "longname-bomb":
    hdr = info("././@LongLink", tarfile.GNUTYPE_LONGNAME, size=1 << 30)
    out.write(hdr.tobuf(tarfile.GNU_FORMAT))
elif case == "symlink-then-file":
    # A symlink out of ROOT, then a regular file of the same name.
    write([d, (info("etc/vms/a", tarfile.SYMTYPE, linkname=canary + "/keep.txt"), None),
           (info("etc/vms/a", size=4), b"evil")])
elif case == "hardlink-data-via-symlink":
    # A file, replaced by a symlink out of ROOT, then a hard link to that
    # name carrying data (pax allows it): the data must not land outside.
    write([d, (info("etc/vms/f", size=2), b"ok"),
           (info("etc/vms/f", tarfile.SYMTYPE, linkname=canary + "/keep.txt"), None),
           (info("etc/vms/h", tarfile.LNKTYPE, linkname="etc/vms/f", size=4), b"evil")])
elif case == "dot-slash":
    # "a/./l/x" names "a/l/x": through the symlink l.
    write([d, ok, (info("etc/vms/l", tarfile.SYMTYPE, linkname=canary), None),
           (info("etc/vms/./l/abur-hostile-dot", size=4), b"evil")])
elif case == "double-slash":
    write([d, ok, (info("etc/vms/l", tarfile.SYMTYPE, linkname=canary), None),
           (info("etc/vms//l/abur-hostile-dbl", size=4), b"evil")])
elif case == "slash-symlink":
    # A symlink named "l/" is the symlink l.
    write([d, ok, (info("etc/vms/l/", tarfile.SYMTYPE, linkname=canary), None),
           (info("etc/vms/l/abur-hostile-slash", size=4), b"evil")])
elif case == "dot-end-symlink":
    write([d, ok, (info("etc/vms/l/.", tarfile.SYMTYPE, linkname=canary), None),
           (info("etc/vms/l/abur-hostile-dotend", size=4), b"evil")])
elif case == "hardlink-to-symlink":
    write([d, ok, (info("etc/vms/l", tarfile.SYMTYPE, linkname=canary + "/keep.txt"), None),
           (info("etc/vms/h", tarfile.LNKTYPE, linkname="etc/vms/l"), None)])
elif case == "dir-after-symlink":
    write([d, ok, (info("etc/vms/l", tarfile.SYMTYPE, linkname=canary), None),
           (info("etc/vms/l/", tarfile.DIRTYPE, mode=0o755), None),
           (info("etc/vms/l/abur-hostile-dir", size=4), b"evil")])
elif case == "abs-symlink-spelled":
    # An absolute symlink target is fine by itself; not a path through it.
    write([d, ok, (info("etc/vms/abs", tarfile.SYMTYPE, linkname=canary), None),
           (info("./etc/vms/./abs//abur-hostile-abs2", size=4), b"evil")])
elif case == "file-then-symlink":
    write([d, ok, (info("etc/vms/f", size=2), b"ok"),
           (info("etc/vms/f", tarfile.SYMTYPE, linkname=canary + "/keep.txt"), None)])
elif case == "trailing-slash-dup":
    write([d, ok, (info("etc/vms/a", size=2), b"ok"), (info("etc/vms/a/", tarfile.DIRTYPE, mode=0o755), None)])
elif case == "pax-nul":
    t = info("etc/vms/n", size=4)
    t.pax_headers = {"path": "etc/vms/n\0/../../../.." + canary + "/abur-hostile-nul"}
    write([d, ok, (t, b"evil"), (info("etc/vms/n/../../abur-hostile-nul2", size=4), b"evil")])
elif case == "pax-long":
    t = info("etc/vms/x", size=4)
    t.pax_headers = {"path": "etc/vms/" + "d/" * 2100 + "abur-hostile-long"}
    write([d, ok, (t, b"evil")])
elif case == "pax-long-name":
    t = info("etc/vms/x", size=4)
    t.pax_headers = {"path": "etc/vms/" + "n" * 300}
    write([d, ok, (t, b"evil")])
elif case == "dot-symlink":
    # The restore root itself as a symlink, then a file "in" it.
    write([(info(".", tarfile.SYMTYPE, linkname=canary), None), d, ok,
           (info("./abur-hostile-rootlink", size=4), b"evil")])
elif case == "symlink-then-hardlink-through":
    write([d, ok, (info("etc/vms/l", tarfile.SYMTYPE, linkname=canary), None),
           (info("etc/vms//l/abur-hostile-hl", tarfile.LNKTYPE, linkname="etc/vms/ok.ini"), None)])
else:
    raise SystemExit("unknown case " + case)
PYEOF

seq=0
# place CASE: builds the archive and commits it by hand as the next generation.
place() {
	local case=$1 dir
	seq=$((seq + 1))
	dir=$store/abur/config/$(printf g%06d $seq)
	mkdir -p "$dir"
	case $case in
	bomb-header | pax-bomb | longname-bomb)
		{
			python3 "$TMP/gen.py" "$case" "$canary"
			case $case in
			bomb-header) head -c $((2 << 30)) /dev/zero; head -c 1024 /dev/zero ;;
			*) head -c $((1 << 30)) /dev/zero; head -c 1536 /dev/zero ;;
			esac
		} | zstd -q -1 -T2 >"$dir/data.tar.zst"
		;;
	*) python3 "$TMP/gen.py" "$case" "$canary" | zstd -q -3 >"$dir/data.tar.zst" ;;
	esac
	cat >"$dir/manifest.ini" <<EOF
[generation]
format = 1
component = config
seq = $seq
parent = 0
trigger = manual
time = 1700000000
content_digest = $(printf '%064d' $seq)
tool = hand-made
pinned = no

[sources]
path = /etc/vms

[payload data.tar.zst]
size = $(stat -c %s "$dir/data.tar.zst")
sha256 = $(sha256sum "$dir/data.tar.zst" | cut -d' ' -f1)

[end]
EOF
}

outside_state() { # what must not change outside ROOT (every hostile name starts abur-hostile-)
	ls -A /
	find "$canary" -printf '%P %y %s %n\n' | sort
	find / -maxdepth 3 -xdev -name 'abur-hostile-*' 2>/dev/null
	find "$TMP" -name 'abur-hostile-*' -not -path "$store/*" 2>/dev/null
}

# hostile CASE "MESSAGE REGEX": restore must fail with that message and
# write nothing inside or outside ROOT, within memory bounds.
hostile() {
	local case=$1 want=$2 root=$TMP/root-$1 out rc rss
	place "$case"
	mkdir -p "$root"
	outside_state >"$TMP/before"
	out=$( (ulimit -v $((1024 * 1024)) && /usr/bin/time -f 'maxrss=%M' -o "$TMP/time" \
		"$ABUR" -c "$ini" --store "$store" restore config --generation $seq --to "$root") 2>&1)
	rc=$?
	rss=$(sed -n 's/^maxrss=//p' "$TMP/time" 2>/dev/null)
	outside_state >"$TMP/after"
	if [ $rc != 1 ]; then
		fail "hostile/$case: restore exited $rc (wanted 1): $(echo "$out" | tail -n 2)"
	elif ! echo "$out" | grep -Eq "$want"; then
		fail "hostile/$case: unclear error (wanted /$want/): $out"
	elif [ -n "$(ls -A "$root")" ]; then
		fail "hostile/$case: wrote into ROOT: $(find "$root" | head -n 5 | tr '\n' ' ')"
	elif ! cmp -s "$TMP/before" "$TMP/after"; then
		fail "hostile/$case: something changed outside ROOT: $(diff "$TMP/before" "$TMP/after" | head -n 5 | tr '\n' ' ')"
	elif [ -z "$rss" ] || [ "$rss" -gt 262144 ]; then
		fail "hostile/$case: peak memory ${rss:-unknown} KiB"
	else
		pass "hostile/$case: refused ($(echo "$out" | tail -n 1 | sed 's/.*restore config: //' | cut -c 1-110)), peak ${rss} KiB"
	fi
	"$ABUR" -c "$ini" --store "$store" verify --generation $seq >/dev/null 2>&1
	echo "# $case: verify exits $? (hash matches: the archive itself is what is refused)"
}

# A benign hand-built generation restores: the harness is sound, so the
# refusals below come from the restore's own checks.
place benign
out=$("$ABUR" -c "$ini" --store "$store" restore config --generation $seq --to "$TMP/root-benign" 2>&1)
if [ $? = 0 ] && [ "$(cat "$TMP/root-benign/etc/vms/hard.ini")" = "ok=1" ] &&
	[ "$(readlink "$TMP/root-benign/etc/vms/link.ini")" = ok.ini ]; then
	pass "hostile/benign: a hand-built generation restores"
else
	fail "hostile/benign: $out"
fi

hostile dotdot "path leaves the restore root"
hostile dotdot-inner "path leaves the restore root"
hostile absolute "path leaves the restore root"
hostile symlink-root "goes through a symlink"
hostile symlink-up "goes through a symlink"
hostile hardlink-out "hard link to"
hostile hardlink-dotdot "hard link to"
hostile hardlink-missing "hard link to"
hostile chardev "is a character device"
hostile blockdev "is a block device"
hostile fifo "is a FIFO"
t0=$(date +%s)
hostile million "more than 1000 entries"
echo "# million: $(($(date +%s) - t0)) s"
hostile many-small "exceed 10485760 bytes|max_total_size"
t0=$(date +%s)
hostile bomb-header "exceed 10485760 bytes|max_total_size|decompresses to more than"
echo "# bomb-header: $(($(date +%s) - t0)) s"
hostile pax-bomb "decompresses to more than|too large|max_total_size"
hostile longname-bomb "decompresses to more than|too large|max_total_size"
# Other spellings of a path through a symlink, and names that replace an
# earlier entry of another type: refused before anything is written.
hostile dot-slash "goes through a symlink"
hostile double-slash "goes through a symlink"
hostile slash-symlink "goes through a symlink"
hostile dot-end-symlink "goes through a symlink"
hostile hardlink-to-symlink "hard link to"
hostile dir-after-symlink "appeared before as another type"
hostile abs-symlink-spelled "goes through a symlink"
hostile file-then-symlink "appeared before as another type"
hostile trailing-slash-dup "appeared before as another type"
hostile pax-nul "path leaves the restore root"
hostile pax-long "too long"
hostile pax-long-name "too long"
hostile dot-symlink "path leaves the restore root"
hostile symlink-then-hardlink-through "goes through a symlink"

# The newest is hostile: a restore without --generation must not pick it
# and must not fall back silently to nothing: the benign g1 is the only
# one that verifies AND passes the checks... verification only checks
# hashes, so it picks the newest verifying one and refuses it clearly.
out=$("$ABUR" -c "$ini" --store "$store" restore config --to "$TMP/root-newest" 2>&1)
rc=$?
[ $rc = 1 ] && [ -z "$(ls -A "$TMP/root-newest" 2>/dev/null)" ] &&
	pass "hostile/newest: restore without --generation refuses the hostile newest, writes nothing" ||
	fail "hostile/newest: rc=$rc: $out"

# The same refusals under AddressSanitizer: no leak or bad access on any
# of the error paths.
if [ -n "${ABUR_ASAN:-}" ] && [ -x "$ABUR_ASAN" ]; then
	bad=""
	for g in $(seq 2 $seq); do
		rm -rf "${TMP:?}/root-asan"
		out=$("$ABUR_ASAN" -c "$ini" --store "$store" restore config --generation $g --to "$TMP/root-asan" 2>&1)
		rc=$?
		if [ $rc != 1 ] || echo "$out" | grep -q 'Sanitizer\|runtime error' || [ -e "$TMP/root-asan" ]; then
			bad="$bad g$g: rc=$rc $(echo "$out" | grep -m1 'Sanitizer\|runtime error\|error')"
		fi
	done
	[ -z "$bad" ] && pass "hostile (ASan): all $((seq - 1)) hostile generations refused cleanly" ||
		fail "hostile (ASan):$bad"
else
	skip "hostile (ASan): no ASan build given (tests/run BUILD ASAN_BUILD)"
fi

# Replacing an entry by one of another type: whatever the outcome, nothing
# may be written through the symlink.
for case in symlink-then-file hardlink-data-via-symlink; do
	place $case
	root=$TMP/root-$case
	mkdir -p "$root"
	outside_state >"$TMP/before"
	out=$("$ABUR" -c "$ini" --store "$store" restore config --generation $seq --to "$root" 2>&1)
	rc=$?
	outside_state >"$TMP/after"
	if ! cmp -s "$TMP/before" "$TMP/after" || [ "$(cat "$canary/keep.txt")" != canary ]; then
		fail "hostile/$case: wrote outside ROOT (rc=$rc): $(diff "$TMP/before" "$TMP/after" | head -n 3 | tr '\n' ' ')"
	elif [ $rc = 0 ] && [ -L "$root/etc/vms/a" ]; then
		fail "hostile/$case: restored, but left the symlink in place"
	elif [ $rc != 0 ] && [ $rc != 1 ]; then
		fail "hostile/$case: exited $rc: $out"
	else
		pass "hostile/$case: nothing written outside ROOT (restore exit $rc: $(echo "$out" | tail -n 1 | sed "s|.*data.tar.zst: ||" | cut -c 1-100))"
	fi
done

# Not hostile: what an older abur wrote for overlapping configured paths.
place overlap-old
out=$("$ABUR" -c "$ini" --store "$store" restore config --generation $seq --to "$TMP/root-overlap" 2>&1)
if [ $? = 0 ] && [ "$(cat "$TMP/root-overlap/etc/vms/ok.ini")" = "ok=1" ]; then
	pass "hostile/overlap-old: names archived twice with the same type (an older backup's overlapping paths) still restore"
else
	fail "hostile/overlap-old: $out"
fi
