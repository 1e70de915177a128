# The store in use: GNU tar reads our payloads, writers wait for each
# other, device specs are mounted and unmounted, a full flash frees the
# oldest generations or fails cleanly, retention, JSON output.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/store.sh"

src=$TMP/src
tree_state() {
	(cd "$1" && find . -printf '%P %y %m %n %l\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
write_config() { # VERSION [RANDOM_KB]
	rm -rf "${src:?}/etc"
	mkdir -p "$src/etc/vms/cameras" "$src/etc/vms/empty-dir"
	printf '[recorder]\nversion = %s\n' "$1" >"$src/etc/vms/recorder.ini"
	for i in $(seq 1 20); do printf '<camera id="%s" v="%s"/>\n' "$i" "$1" >"$src/etc/vms/cameras/cam$i.xml"; done
	head -c $((${2:-64} * 1024)) /dev/urandom >"$src/etc/vms/blob.bin"
}

# ---- GNU tar reads a payload -------------------------------------------
ini=$TMP/abur.ini
mkdir -p "$TMP/store"
store_ini "$ini" "$TMP/store" 5
abur() { "$ABUR" -c "$ini" --store "$TMP/store" "$@"; }
write_config v1
v=$src/etc/vms
long=$v/$(printf 'd%.0s' $(seq 1 60))/$(printf 'e%.0s' $(seq 1 60))
mkdir -p "$long" "$src/opt/vms/bin"
echo deep >"$long/$(printf 'f%.0s' $(seq 1 90)).ini"
echo "caméra" >"$v/ünïcode ñame.txt"
echo "latin1" >"$v/$(printf 'caf\351-latin1.ini')" # not valid UTF-8: names are bytes
: >"$v/empty.ini"
printf '#!/bin/sh\necho hi\n' >"$src/opt/vms/bin/run"
chmod 0755 "$src/opt/vms/bin/run"
chmod 0600 "$v/recorder.ini"
chmod 2750 "$v/cameras"
ln -s cameras/cam1.xml "$v/default.xml"
ln -s /nonexistent/target "$v/dangling"
ln "$v/cameras/cam2.xml" "$v/cam2-hard.xml"
chown 1234:5678 "$v/cameras/cam3.xml"
have_xattr=1
setfattr -n user.abur -v "hello" "$v/recorder.ini" 2>/dev/null || have_xattr=0
setfacl -m u:1234:rw "$v/cameras/cam4.xml" 2>/dev/null || have_xattr=0
out=$(abur backup --root "$src" 2>&1)
rc=$?
[ $rc = 0 ] && pass "ops: backup of a tree with links, modes, owners, long and unicode names" ||
	fail "ops: backup rc=$rc: $out"
payload=$(ls "$TMP/store/abur/config"/g*/data.tar.zst | tail -n 1)
if tar --zstd -tvf "$payload" >"$TMP/tar.list" 2>"$TMP/tar.err" && grep -q 'default.xml -> cameras/cam1.xml' "$TMP/tar.list" &&
	grep -q 'cam2-hard.xml link to\|cam2.xml link to' "$TMP/tar.list"; then
	pass "ops: tar --zstd -tvf lists the payload ($(wc -l <"$TMP/tar.list") entries)"
else
	fail "ops: tar --zstd -tvf: $(head -n 3 "$TMP/tar.list")"
fi
mkdir -p "$TMP/gnu"
if out=$(tar --zstd -xpf "$payload" --xattrs --xattrs-include='*' --acls --numeric-owner -C "$TMP/gnu" 2>&1) &&
	diff <(tree_state "$src/etc/vms") <(tree_state "$TMP/gnu/etc/vms") >"$TMP/gnu.diff"; then
	pass "ops: tar --zstd -xf extracts files, modes, links identical to the source"
else
	fail "ops: GNU tar extraction differs: $out $(head -n 5 "$TMP/gnu.diff")"
fi
owner=$(stat -c %u:%g "$TMP/gnu/etc/vms/cameras/cam3.xml" 2>/dev/null)
[ "$owner" = 1234:5678 ] && pass "ops: GNU tar restores owners" || fail "ops: owner after GNU tar: $owner"
if [ $have_xattr = 1 ]; then
	x=$(getfattr --only-values -n user.abur "$TMP/gnu/etc/vms/recorder.ini" 2>/dev/null)
	a=$(getfacl -cp "$TMP/gnu/etc/vms/cameras/cam4.xml" 2>/dev/null | grep '^user:1234:')
	[ "$x" = hello ] && [ "$a" = user:1234:rw- ] && pass "ops: GNU tar restores xattrs and ACLs" ||
		fail "ops: xattr='$x' acl='$a' after GNU tar"
else
	skip "ops: xattrs/ACLs: $TMP does not take user xattrs or ACLs"
fi
# And our own restore gives the same.
rm -rf "${TMP:?}/own"
out=$(abur restore config --to "$TMP/own" 2>&1)
if [ $? = 0 ] && diff <(tree_state "$src/etc/vms") <(tree_state "$TMP/own/etc/vms") >"$TMP/own.diff" &&
	[ "$(stat -c %u:%g "$TMP/own/etc/vms/cameras/cam3.xml")" = 1234:5678 ] &&
	{ [ $have_xattr = 0 ] || [ "$(getfattr --only-values -n user.abur "$TMP/own/etc/vms/recorder.ini")" = hello ]; }; then
	pass "ops: abur restore gives the same tree, owners and xattrs"
else
	fail "ops: abur restore differs: $out $(head -n 5 "$TMP/own.diff")"
fi
# A relative --store path and --to path work (restore changes directory).
rm -rf "${TMP:?}/rel"
out=$(cd "$TMP" && "$ABUR" -c "$ini" --store store restore config --to rel 2>&1)
[ $? = 0 ] && [ -f "$TMP/rel/etc/vms/recorder.ini" ] && pass "ops: restore with a relative --store and --to" ||
	fail "ops: relative paths: $out"

# ---- unchanged re-run writes nothing --------------------------------
before=$(store_state "$TMP/store")
out=$(abur backup --root "$src" 2>&1)
rc=$?
after=$(store_state "$TMP/store")
[ $rc = 4 ] && [ "$before" = "$after" ] && echo "$out" | grep -q 'unchanged, nothing written' &&
	pass "ops: unchanged re-run exits 4 and leaves the store byte-identical" || fail "ops: unchanged re-run rc=$rc: $out"
touch -d '2001-01-01' "$v/recorder.ini"
abur backup --root "$src" config >/dev/null 2>&1
[ $? = 4 ] && pass "ops: an mtime-only change is no change" || fail "ops: mtime-only change was backed up"

# ---- JSON ------------------------------------------------------------
json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; }
for c in list status verify; do
	abur $c --json | json_ok && pass "ops: $c --json is JSON" || fail "ops: $c --json is not JSON"
done
echo "changed" >>"$v/recorder.ini"
out=$(abur backup --root "$src" --json config)
echo "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)["components"]
assert v[0]["component"] == "config" and v[0]["result"] == "written" and v[0]["generation"] > 0, v' &&
	pass "ops: backup --json reports the new generation" || fail "ops: backup --json: $out"

# ---- retention ---------------------------------------------------------
mkdir -p "$TMP/rstore"
store_ini "$TMP/keep2.ini" "$TMP/rstore" 2
for i in 1 2 3 4 5; do
	write_config r$i 4
	out=$("$ABUR" -c "$TMP/keep2.ini" backup --root "$src" config 2>&1) || fail "ops: retention backup $i"
done
gens=$(ls "$TMP/rstore/abur/config" | tr '\n' ' ')
[ "$gens" = "g000004 g000005 " ] && pass "ops: keep = 2 leaves the 2 newest generations" ||
	fail "ops: keep = 2 left: $gens"
echo "$out" | grep -qx "config: removed old generations: config/g000003" &&
	pass "ops: the backup's result names the generation retention removed" || fail "ops: retention line: $out"
write_config r6 4
out=$("$ABUR" -c "$TMP/keep2.ini" --json backup --root "$src" config 2>&1)
echo "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)["components"]
assert v[0]["generation"] == 6 and v[0]["removed_generations"] == ["config/g000004"], v' &&
	pass "ops: backup --json lists what retention removed" || fail "ops: backup --json removed: $out"

# Retention keeps the pinned seal generation: seal a small disk, then
# back up changed config until retention has had to remove old ones.
. "$TOP/tests/lib/disks.sh"
make_sys_disk "$TMP/pin.img" 48 gpt
pin_dev=$(make_loop "$TMP/pin.img")
make_store "$TMP/pstore" 72
test_ini "$TMP/pin.ini" "$pin_dev"
sed -i 's/^keep = 5$/keep = 2/' "$TMP/pin.ini"
P() { "$ABUR" -c "$TMP/pin.ini" --store "$TMP/pstore" "$@"; }
if P seal --disk "$pin_dev" >"$TMP/pin.log" 2>&1; then
	mkdir -p "$TMP/pinroot/etc/vms"
	for i in 1 2 3 4; do
		echo "change $i" >"$TMP/pinroot/etc/vms/recorder.ini"
		P backup --root "$TMP/pinroot" config >/dev/null 2>&1
	done
	pinned=$(P list config --json | python3 -c 'import json,sys; print(" ".join("g%06d" % g["generation"] for g in json.load(sys.stdin)["generations"] if g["pinned"]))')
	count=$(P list config --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["generations"]))')
	[ -n "$pinned" ] && [ "$count" = 3 ] &&
		pass "ops: keep = 2 keeps the pinned seal generation ($pinned) besides the 2 newest" ||
		fail "ops: pinned retention: pinned='$pinned' generations=$count"
else
	fail "ops: pinned retention: seal failed: $(tail -2 "$TMP/pin.log")"
fi

# ---- the writer lock ----------------------------------------------------
write_config lock1 4
flock "$TMP/store/abur/.lock" -c "touch $TMP/locked; sleep 2" &
holder=$!
wait_for -t 5 test -e "$TMP/locked"
abur backup --root "$src" config >"$TMP/waiter.out" 2>&1 &
waiter=$!
sleep 1
if kill -0 $waiter 2>/dev/null && ! compgen -G "$TMP/store/abur/config/.tmp-*" >/dev/null; then
	pass "ops: a backup waits while another writer holds the lock (and writes nothing meanwhile)"
else
	fail "ops: the backup did not wait for the lock: $(cat "$TMP/waiter.out")"
fi
wait $holder
wait $waiter
rc=$?
[ $rc = 0 ] && pass "ops: the waiting backup runs once the lock is free" || fail "ops: waiting backup rc=$rc: $(cat "$TMP/waiter.out")"

# Two backups at once, of different components, sharing one trace: both
# succeed and their I/O calls do not interleave.
mkdir -p "$TMP/cstore"
store_ini "$TMP/c.ini" "$TMP/cstore" 5
"$ABUR" -c "$TMP/c.ini" backup --root "$src" >/dev/null 2>&1 # first generations, STORE file
write_config conc 8192
mkdir -p "$src/opt/vms/lib"
head -c $((8 << 20)) /dev/urandom >"$src/opt/vms/lib/big.so"
rm -f "$TMP/ctrace"
ABUR_IO_TRACE=$TMP/ctrace "$ABUR" -c "$TMP/c.ini" backup --root "$src" config >"$TMP/a.out" 2>&1 &
a=$!
ABUR_IO_TRACE=$TMP/ctrace "$ABUR" -c "$TMP/c.ini" backup --root "$src" software >"$TMP/b.out" 2>&1 &
b=$!
wait $a
ra=$?
wait $b
rb=$?
switches=$(sed -n 's|^[0-9]* [a-z]* \([a-z]*\)/.*|\1|p' "$TMP/ctrace" | uniq | wc -l)
if [ $ra = 0 ] && [ $rb = 0 ] && [ "$switches" = 2 ]; then
	pass "ops: two concurrent backups both succeed, one after the other"
else
	fail "ops: concurrent backups: rc $ra/$rb, trace switches between components $switches times"
fi
# The same component twice at once: one writes, the other finds it unchanged.
write_config conc2 16
"$ABUR" -c "$TMP/c.ini" backup --root "$src" config >/dev/null 2>&1 &
a=$!
"$ABUR" -c "$TMP/c.ini" backup --root "$src" config >/dev/null 2>&1 &
b=$!
wait $a
ra=$?
wait $b
rb=$?
[ "$(echo $ra $rb | tr ' ' '\n' | sort | tr '\n' ' ')" = "0 4 " ] &&
	pass "ops: two concurrent backups of the same change: one writes, the other finds it unchanged" ||
	fail "ops: same-component concurrent backups exited $ra and $rb"
"$ABUR" -c "$TMP/c.ini" verify >/dev/null 2>&1 && pass "ops: the store verifies after concurrent writers" ||
	fail "ops: verify after concurrent writers"

# ---- device specs --------------------------------------------------------
if need_root "ops: device specs"; then
	label=ABURT$$
	truncate -s 32M "$TMP/dev.img"
	mkfs.ext4 -q -F -L "$label" "$TMP/dev.img"
	# make_loop in this shell, not in $(...), so cleanup detaches it.
	make_loop "$TMP/dev.img" >"$TMP/dev.name" || { fail "ops: losetup failed"; exit 0; }
	dev=$(cat "$TMP/dev.name")
	blkid -p "$dev" >/dev/null 2>&1
	store_ini "$TMP/dev.ini" "LABEL=$label" 3
	mounted() { grep -c "^$dev " /proc/mounts; }
	write_config dev1 4
	out=$("$ABUR" -c "$TMP/dev.ini" backup --root "$src" config 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ "$(mounted)" = 0 ] && [ -z "$(ls -A "$TMP/mnt" 2>/dev/null)" ]; then
		pass "ops: [flash] store = LABEL=$label: backup mounts the device and unmounts it after"
	else
		fail "ops: LABEL store backup rc=$rc, mounted $(mounted), mnt: $(ls -A "$TMP/mnt" 2>/dev/null): $out"
	fi
	out=$("$ABUR" -c "$TMP/dev.ini" --store "LABEL=$label" list 2>&1)
	echo "$out" | grep -q '^config *g000001' && [ "$(mounted)" = 0 ] &&
		pass "ops: --store LABEL=$label list reads it and unmounts" || fail "ops: LABEL list: $out"
	uuid=$(blkid -p -s UUID -o value "$dev")
	rm -rf "${TMP:?}/devout"
	out=$("$ABUR" -c "$TMP/dev.ini" --store "UUID=$uuid" restore config --to "$TMP/devout" 2>&1)
	[ $? = 0 ] && [ -f "$TMP/devout/etc/vms/recorder.ini" ] && [ "$(mounted)" = 0 ] &&
		pass "ops: --store UUID=... restore works and unmounts" || fail "ops: UUID restore: $out"
	out=$("$ABUR" -c "$TMP/dev.ini" --store "$dev" verify 2>&1)
	[ $? = 0 ] && [ "$(mounted)" = 0 ] && pass "ops: --store /dev/loopN verify works and unmounts" ||
		fail "ops: device path verify: $out"
	out=$("$ABUR" -c "$TMP/dev.ini" --store LABEL=NO-SUCH-ABUR-LABEL list 2>&1)
	rc=$?
	[ $rc = 1 ] && echo "$out" | grep -q 'LABEL=NO-SUCH-ABUR-LABEL' &&
		pass "ops: a missing label fails (1) naming what was looked for" || fail "ops: missing label rc=$rc: $out"
	out=$("$ABUR" -c "$TMP/dev.ini" --store LABEL=NO-SUCH-ABUR-LABEL backup --root "$src" 2>&1)
	rc=$?
	[ $rc = 1 ] && echo "$out" | grep -q 'LABEL=NO-SUCH-ABUR-LABEL' &&
		pass "ops: backup to a missing label fails (1) naming it" || fail "ops: missing label backup rc=$rc: $out"
fi

# ---- a full flash ----------------------------------------------------------
if need_root "ops: space on a tiny ext4"; then
	make_store "$TMP/tiny" 16
	store_ini "$TMP/tiny.ini" "$TMP/tiny" 10
	tb() { "$ABUR" -c "$TMP/tiny.ini" backup --root "$src" "$@" 2>&1; }
	rm -rf "${src:?}/opt"
	ok=1
	for i in 1 2 3 4; do
		write_config s$i 2800
		tb config >/dev/null || ok=0
	done
	gens_before=$(ls "$TMP/tiny/abur/config" | tr '\n' ' ')
	free_kb=$(df -k --output=avail "$TMP/tiny" | tail -n 1)
	echo "# tiny store: $gens_before, ${free_kb} KiB free"
	write_config s5 2800
	out=$(tb config)
	rc=$?
	gens=$(ls "$TMP/tiny/abur/config" | tr '\n' ' ')
	if [ $ok = 1 ] && [ $rc = 0 ] && [ "${gens%% *}" != g000001 ] && echo "$gens" | grep -q g000005 &&
		"$ABUR" -c "$TMP/tiny.ini" verify >/dev/null 2>&1; then
		pass "ops: a full flash: the oldest generations make room (before: $gens_before; after: $gens)"
	else
		fail "ops: full flash backup rc=$rc (first four ok=$ok) before: $gens_before after: $gens: $out"
	fi
	before=$(store_state "$TMP/tiny")
	write_config huge 20000
	out=$(tb config)
	rc=$?
	after=$(store_state "$TMP/tiny")
	if [ $rc = 1 ] && echo "$out" | grep -q 'not enough space' && [ "$before" = "$after" ]; then
		pass "ops: a backup that cannot fit fails clearly and leaves the store exactly as it was"
		echo "# $out"
	else
		fail "ops: too-big backup rc=$rc, store changed: $([ "$before" = "$after" ] && echo no || echo yes): $out"
		diff <(echo "$before") <(echo "$after") | head -n 10
	fi
fi
