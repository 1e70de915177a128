#!/usr/bin/env bash
# Source trees a real server holds: every generation a backup commits must
# restore.  Special files are left out with a warning, the restore limits
# are checked at backup time, a configured path that is a symlink is
# followed once, and a file that never stops changing defers the backup
# (exit 3) instead of failing it.
. "$TOP/tests/lib/common.sh"

src=$TMP/src
store=$TMP/store
mkini() { # FILE MAX_TOTAL MAX_ENTRIES PATHS...
	local f=$1 size=$2 entries=$3
	shift 3
	cat >"$f" <<EOF
[flash]
store = $store
mount = $TMP/mnt
[restore]
max_total_size = $size
max_entries = $entries
[component config]
keep = 100
EOF
	for p in "$@"; do echo "paths = $p" >>"$f"; done
}
abur() { "$ABUR" -c "$TMP/abur.ini" --store "$store" "$@"; }
gens() { find "$store/abur/config" -maxdepth 1 -name 'g*' 2>/dev/null | wc -l; }
tree_state() { # DIR: names, types, modes, link targets, contents
	(cd "$1" && find . -printf '%P %y %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
mkdir -p "$store"

# ---- 5: special files are left out, named, and the rest restores ----
mkdir -p "$src/etc/vms/sub"
echo "a = 1" >"$src/etc/vms/vms.conf"
echo "b" >"$src/etc/vms/sub/b.txt"
mkfifo "$src/etc/vms/pipe"
mknod "$src/etc/vms/null" c 1 3
mknod "$src/etc/vms/loop" b 7 200
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$src/etc/vms/sock"
mkini "$TMP/abur.ini" 1G 1000 /etc/vms
out=$(abur backup --root "$src" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "skipped $src/etc/vms/pipe (a FIFO)" &&
	echo "$out" | grep -q "skipped $src/etc/vms/null (a character device)" &&
	echo "$out" | grep -q "skipped $src/etc/vms/loop (a block device)" && ! echo "$out" | grep -q sock; then
	pass "tree: a FIFO and device nodes are skipped, each named in a warning (sockets silently)"
else
	fail "tree: special files: rc=$rc: $out"
fi
rm -rf "${TMP:?}/r1"
out=$(abur restore config --to "$TMP/r1" 2>&1)
if [ $? = 0 ] && [ "$(cat "$TMP/r1/etc/vms/sub/b.txt")" = b ] && [ ! -e "$TMP/r1/etc/vms/pipe" ]; then
	pass "tree: the generation with special files left out restores"
else
	fail "tree: restore after skipping special files: $out"
fi
out=$(abur backup --root "$src" 2>&1)
[ $? = 4 ] && pass "tree: the digest leaves special files out in both passes (second backup unchanged)" ||
	fail "tree: second backup is not unchanged: $out"
out=$(abur --json backup --root "$src" 2>&1)
echo "$out" | grep -q '"skipped":3' && echo "$out" | grep -q 'pipe (a FIFO)' &&
	pass "tree: --json lists the skipped files" || fail "tree: --json: $out"
rm -f "$src/etc/vms/pipe" "$src/etc/vms/null" "$src/etc/vms/loop" "$src/etc/vms/sock"

# ---- 5: the restore limits apply at backup time ----
rm -rf "${store:?}/abur"
truncate -s 200M "$src/etc/vms/sparse.img"
echo data | dd of="$src/etc/vms/sparse.img" bs=1 seek=$((100 << 20)) conv=notrunc status=none
mkini "$TMP/abur.ini" 100M 1000 /etc/vms
out=$(abur backup --root "$src" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "max_total_size" && echo "$out" | grep -q "sparse.img" && [ "$(gens)" = 0 ]; then
	pass "tree: a sparse file of 200 MiB apparent size over max_total_size = 100M fails at backup, names it, commits nothing"
else
	fail "tree: sparse over the limit: rc=$rc gens=$(gens): $out"
fi
mkini "$TMP/abur.ini" 300M 1000 /etc/vms
out=$(abur backup --root "$src" 2>&1)
rm -rf "${TMP:?}/r2"
if [ $? = 0 ] && abur restore config --to "$TMP/r2" >/dev/null 2>&1 && cmp -s "$src/etc/vms/sparse.img" "$TMP/r2/etc/vms/sparse.img"; then
	pass "tree: under a limit that allows it, the sparse file is stored and restores ($(du -k "$TMP/r2/etc/vms/sparse.img" | cut -f1) KiB used)"
else
	fail "tree: sparse within the limit: $out"
fi
rm -f "$src/etc/vms/sparse.img"
rm -rf "${store:?}/abur"
for i in $(seq 1 30); do echo "$i" >"$src/etc/vms/sub/f$i"; done
mkini "$TMP/abur.ini" 1G 20 /etc/vms
out=$(abur backup --root "$src" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "max_entries" && echo "$out" | grep -q "$src/etc/vms/sub/f" && [ "$(gens)" = 0 ]; then
	pass "tree: more entries than max_entries fails at backup, naming the limit and a path, commits nothing"
else
	fail "tree: max_entries: rc=$rc gens=$(gens): $out"
fi
rm -f "$src"/etc/vms/sub/f*

# ---- overlapping configured paths: archived once ----
rm -rf "${store:?}/abur" "${TMP:?}/r3"
mkini "$TMP/abur.ini" 1G 1000 /etc/vms/sub /etc/vms /etc/vms
out=$(abur backup --root "$src" 2>&1)
if [ $? = 0 ] && abur restore config --to "$TMP/r3" >/dev/null 2>&1 &&
	[ "$(tree_state "$TMP/r3/etc/vms")" = "$(tree_state "$src/etc/vms")" ]; then
	pass "tree: a configured path inside another (or twice) is archived once and restores"
else
	fail "tree: overlapping paths: $out $(abur restore config --to "$TMP/r3x" 2>&1)"
fi

# ---- 6: a configured path that is a symlink is followed once ----
rm -rf "${store:?}/abur" "$src"
mkdir -p "$src/etc" "$src/data/vms/cams"
echo "x = 1" >"$src/data/vms/vms.conf"
echo "cam" >"$src/data/vms/cams/c1.xml"
ln -s cams/c1.xml "$src/data/vms/current.xml"
ln -s /data/vms "$src/etc/vms" # absolute: means the root's /data/vms
mkini "$TMP/abur.ini" 1G 1000 /etc/vms
out=$(abur backup --root "$src" 2>&1)
rc=$?
man=$store/abur/config/g000001/manifest.ini
list=$(tar --zstd -tvf "$store/abur/config/g000001/data.tar.zst" 2>&1)
if [ $rc = 0 ] && grep -qx "link1 = /etc/vms" "$man" && grep -qx "link1_target = /data/vms" "$man" &&
	grep -qx "link1_content = /data/vms" "$man" && echo "$list" | grep -q " etc/vms/cams/c1.xml$" &&
	echo "$list" | grep -q "etc/vms/current.xml -> cams/c1.xml"; then
	pass "tree: /etc/vms -> /data/vms is backed up as its target's content, the link in the manifest, inner symlinks kept"
else
	fail "tree: symlinked path: rc=$rc: $out $(cat "$man" 2>/dev/null | tr '\n' ' ') $list"
fi
out=$(abur backup --root "$src" 2>&1)
[ $? = 4 ] && pass "tree: the followed path's digest is stable (second backup unchanged)" ||
	fail "tree: second backup of the followed path: $out"
rm -rf "${TMP:?}/r4"
out=$(abur restore config --to "$TMP/r4" 2>&1)
if [ $? = 0 ] && [ "$(readlink "$TMP/r4/etc/vms")" = /data/vms ] && [ ! -L "$TMP/r4/data/vms" ] &&
	[ "$(tree_state "$TMP/r4/data/vms")" = "$(tree_state "$src/data/vms")" ]; then
	pass "tree: restore puts the content at the target (/data/vms) and the link back at /etc/vms"
else
	fail "tree: restore of the followed path: $out $(find "$TMP/r4" -printf '%P %y %l\n' | tr '\n' ' ')"
fi
# Restoring onto a system that has the link already: content lands at the target.
rm -rf "${TMP:?}/r5" && mkdir -p "$TMP/r5/etc" "$TMP/r5/data/vms" && ln -s /data/vms "$TMP/r5/etc/vms"
out=$(abur restore config --to "$TMP/r5" 2>&1)
if [ $? = 0 ] && [ "$(readlink "$TMP/r5/etc/vms")" = /data/vms ] && [ "$(cat "$TMP/r5/data/vms/vms.conf")" = "x = 1" ]; then
	pass "tree: restore onto a system with /etc/vms -> /data/vms writes into /data/vms, keeps the link"
else
	fail "tree: restore onto the link: $out"
fi
ln -sfn ../data/vms "$src/etc/vms"
out=$(abur backup --root "$src" 2>&1)
[ $? = 0 ] && grep -qx "link1_target = ../data/vms" "$store/abur/config/g000002/manifest.ini" &&
	pass "tree: a changed link text is a change (relative target followed beneath the root)" ||
	fail "tree: relative link: $out"
mkini "$TMP/abur.ini" 1G 1000 /etc/vms /data
out=$(abur backup --root "$src" 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "also covers" &&
	pass "tree: a followed link whose target another path covers is refused at backup" ||
	fail "tree: link into another path: $out"

# A configured path that is a symlink to a file (and one that dangles).
rm -rf "${store:?}/abur" "$src" "${TMP:?}/r7"
mkdir -p "$src/etc" "$src/data"
echo "lic" >"$src/data/license.lic"
ln -s ../data/license.lic "$src/etc/license.lic"
ln -s /nowhere "$src/etc/gone"
mkini "$TMP/abur.ini" 1G 1000 /etc/license.lic /etc/gone
out=$(abur backup --root "$src" 2>&1) && out=$(abur restore config --to "$TMP/r7" 2>&1)
if [ $? = 0 ] && [ "$(readlink "$TMP/r7/etc/license.lic")" = ../data/license.lic ] &&
	[ "$(cat "$TMP/r7/data/license.lic")" = lic ] && [ "$(readlink "$TMP/r7/etc/gone")" = /nowhere ]; then
	pass "tree: a configured symlink to a file restores as the file at its target and the link; a dangling one as the link"
else
	fail "tree: symlink to a file: $out $(find "$TMP/r7" -printf '%P %y %l\n' 2>/dev/null | tr '\n' ' ')"
fi

# ---- 12: a file that never stops changing ----
rm -rf "${store:?}/abur" "$src"
mkdir -p "$src/etc/vms"
echo "log" >"$src/etc/vms/a-busy.log"
# Between the two reads of a-busy.log lie ~100 MiB of hashing: the writer,
# appending every 2 ms, always changes it in between.
head -c $((96 << 20)) /dev/zero >"$src/etc/vms/z-big.bin"
mkini "$TMP/abur.ini" 1G 1000 /etc/vms
cat >"$TMP/writer.py" <<'PYEOF'
import os, sys, time
path, stop_dir = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
with open(path, "a") as f:
    while not os.path.exists(path + ".stop"):
        # With stop_dir: stop once an attempt got as far as its archive
        # pass (a .tmp- directory): that attempt read the file after a
        # change, a later one finds it quiet.
        if stop_dir and any(n.startswith(".tmp-") for n in os.listdir(stop_dir)):
            break
        f.write("line %f\n" % time.time()); f.flush()
        time.sleep(0.002)
PYEOF
# writing FILE: wait until the writer has appended (it runs before the backup starts)
writing() { wait_for -t 10 -i 0.05 _appended "$1"; }
_appended() { [ "$(wc -l <"$1")" -gt 3 ]; }
python3 "$TMP/writer.py" "$src/etc/vms/a-busy.log" &
wpid=$!
writing "$src/etc/vms/a-busy.log" || fail "tree: the writer does not start"
out=$(abur backup --root "$src" 2>&1)
rc=$?
touch "$src/etc/vms/a-busy.log.stop"
wait $wpid
rm -f "$src/etc/vms/a-busy.log.stop"
if [ $rc = 3 ] && echo "$out" | grep -q "$src/etc/vms/a-busy.log kept changing" &&
	echo "$out" | grep -q "$(printf '(%s attempts)' 4)" && [ "$(gens)" = 0 ]; then
	pass "tree: a file appended all the time defers the backup (exit 3) after the retries, naming it"
else
	fail "tree: busy file: rc=$rc gens=$(gens): $out"
fi
mkdir -p "$store/abur/config"
echo "log" >"$src/etc/vms/a-busy.log" # so that writing() waits for this writer
python3 "$TMP/writer.py" "$src/etc/vms/a-busy.log" "$store/abur/config" &
wpid=$!
writing "$src/etc/vms/a-busy.log" || fail "tree: the writer does not start"
out=$(abur backup --root "$src" 2>&1)
rc=$?
touch "$src/etc/vms/a-busy.log.stop"
wait $wpid
rm -f "$src/etc/vms/a-busy.log.stop"
rm -rf "${TMP:?}/r6"
# The writer's last line may land after the successful attempt read the
# file: what is stored is a whole-line prefix of the file, never cut or padded.
got=$TMP/r6/etc/vms/a-busy.log
if [ $rc = 0 ] && abur restore config --to "$TMP/r6" >/dev/null && [ "$(tail -c 1 "$got" | od -An -c | tr -d ' ')" = '\n' ] &&
	head -c "$(stat -c %s "$got")" "$src/etc/vms/a-busy.log" | cmp -s - "$got"; then
	pass "tree: a file that stops changing is backed up by a retry (exit 0), stored as a whole snapshot"
else
	fail "tree: busy then quiet: rc=$rc: $out"
fi

# ---- ASan over the new paths ----
if [ -n "${ABUR_ASAN:-}" ] && [ -x "$ABUR_ASAN" ]; then
	rm -rf "${store:?}/abur" "$src" "${TMP:?}/ra"
	mkdir -p "$src/etc" "$src/data/vms"
	echo x >"$src/data/vms/f"
	mkfifo "$src/data/vms/p"
	ln -s /data/vms "$src/etc/vms"
	mkini "$TMP/abur.ini" 1G 1000 /etc/vms
	out=$("$ABUR_ASAN" -c "$TMP/abur.ini" --store "$store" backup --root "$src" 2>&1 &&
		"$ABUR_ASAN" -c "$TMP/abur.ini" --store "$store" restore config --to "$TMP/ra" 2>&1)
	rc=$?
	mkini "$TMP/abur.ini" 1G 2 /etc/vms
	out2=$("$ABUR_ASAN" -c "$TMP/abur.ini" --store "$store" backup --root "$src" 2>&1)
	if [ $rc = 0 ] && ! echo "$out$out2" | grep -q 'Sanitizer\|runtime error'; then
		pass "tree (ASan): followed link, skipped FIFO, restore and a limit failure run clean"
	else
		fail "tree (ASan): rc=$rc: $(echo "$out$out2" | grep -m3 'Sanitizer\|runtime error\|error')"
	fi
else
	skip "tree (ASan): no ASan build given (tests/run BUILD ASAN_BUILD)"
fi
