#!/usr/bin/env bash
# The file components' stat cache (<state_dir>/tree-cache/<component>.idx):
# an unchanged tree is recognised without its content being read, a file
# rewritten behind an unchanged size and mtime is still seen, a damaged or
# missing cache costs one full read, another --root leaves the cache
# alone, and a generation with an older digest scheme is followed by
# exactly one new generation.  Bytes read are the rchar of a shell that
# only ran abur (a reaped child's I/O counts to its parent): no timing.
. "$TOP/tests/lib/common.sh"

sw=$TMP/root/opt/sw
store=$TMP/store
cache=$TMP/state/tree-cache/software.idx
cat >"$TMP/abur.ini" <<EOF
[flash]
store = $store
mount = $TMP/mnt
[daemon]
state_dir = $TMP/state
[component software]
paths = $sw
keep = 100
EOF
cmd=("$ABUR" -c "$TMP/abur.ini" --store "$store")
abur() { "${cmd[@]}" "$@"; }
# reads CMD...: "RC BYTES", BYTES what CMD's read() calls returned.
reads() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	bash -c '"$@" >/dev/null 2>&1; rc=$?; echo "$rc $(awk "/^rchar:/ {print \$2}" /proc/$$/io)"' _ "$@"
}
gens() { find "$store/abur/software" -maxdepth 1 -name 'g*' | wc -l; }
MiB=$((1024 * 1024))
mkdir -p "$store" "$sw/sub"

# 50 MiB that compress to almost nothing: what an unchanged backup reads
# back from the store (the deep check of the newest generation) stays
# small, so the figure is the tree's.
yes 'abur tree cache 0123456789' | head -c $((50 * MiB)) >"$sw/big.bin"
echo "a = 1" >"$sw/sub/conf.ini"
ln "$sw/sub/conf.ini" "$sw/conf-link.ini"
ln -s sub/conf.ini "$sw/current.ini"
# The racy rule distrusts a stat taken within 2 s of the file's ctime:
# the first look must find these files older than that.
sleep 3

read -r rc n < <(reads "${cmd[@]}" backup)
if [ "$rc" = 0 ] && [ "$n" -gt $((50 * MiB)) ] && head -1 "$cache" | grep -qx 'abur-osidx 1 base'; then
	pass "treecache: the first backup reads the tree ($((n / MiB)) MiB) and writes the cache"
else
	fail "treecache: first backup: rc=$rc read=$n cache: $(head -c 200 "$cache" 2>&1)"
fi
read -r rc n < <(reads "${cmd[@]}" backup)
if [ "$rc" = 4 ] && [ "$n" -lt $((5 * MiB)) ]; then
	pass "treecache: an unchanged 50 MiB tree is recognised reading $n bytes (exit 4)"
else
	fail "treecache: unchanged backup: rc=$rc read=$n bytes (want exit 4, < 5 MiB)"
fi

# ---- a damaged or missing cache costs one full read, never a wrong answer ----
rm -f "$cache"
read -r rc n < <(reads "${cmd[@]}" backup)
read -r rc2 n2 < <(reads "${cmd[@]}" backup)
if [ "$rc" = 4 ] && [ "$n" -gt $((50 * MiB)) ] && [ "$rc2" = 4 ] && [ "$n2" -lt $((5 * MiB)) ]; then
	pass "treecache: a deleted cache costs one full read (exit 4), then the new one serves"
else
	fail "treecache: deleted cache: rc=$rc read=$n, then rc=$rc2 read=$n2"
fi
for bad in 'garbage' "$(sed '$d' "$cache")"$'\n=\tf\tjunk' "$(head -c 100 "$cache")"; do
	printf '%s' "$bad" >"$cache"
	read -r rc n < <(reads "${cmd[@]}" backup)
	read -r rc2 n2 < <(reads "${cmd[@]}" backup)
	if [ "$rc" = 4 ] && [ "$n" -gt $((50 * MiB)) ] && [ "$rc2" = 4 ] && [ "$n2" -lt $((5 * MiB)) ]; then
		pass "treecache: a damaged cache ($(printf '%s' "$bad" | wc -c) bytes) costs one full read, then serves again"
	else
		fail "treecache: damaged cache: rc=$rc read=$n, then rc=$rc2 read=$n2"
	fi
done

# ---- a file rewritten in place, its size and mtime as before ----
before=$(gens)
touch -r "$sw/big.bin" "$TMP/mtime"
printf 'Z' | dd of="$sw/big.bin" bs=1 seek=1000 conv=notrunc status=none
touch -r "$TMP/mtime" "$sw/big.bin"
out=$(abur backup 2>&1)
rc=$?
rm -rf "${TMP:?}/r1"
if [ $rc = 0 ] && [ "$(gens)" = $((before + 1)) ] && abur restore software --to "$TMP/r1" >/dev/null 2>&1 &&
	cmp -s "$sw/big.bin" "$TMP/r1$sw/big.bin"; then
	pass "treecache: one byte rewritten behind the same size, mtime and inode is seen (its ctime moved) and stored"
else
	fail "treecache: in-place rewrite: rc=$rc: $out"
fi
echo "a = 2" >"$sw/sub/conf.ini"
out=$(abur backup 2>&1)
rc=$?
echo "new" >"$sw/sub/new.ini"
out2=$(abur backup 2>&1)
rc2=$?
[ $rc = 0 ] && [ $rc2 = 0 ] && pass "treecache: a changed file and a new file are each stored" ||
	fail "treecache: changes: rc=$rc $out / rc=$rc2 $out2"

# ---- another root neither uses nor replaces this system's cache ----
sum=$(sha256sum <"$cache")
ino=$(stat -c %i "$cache")
mkdir -p "$TMP/other$sw"
echo other >"$TMP/other$sw/only.ini"
out=$(abur backup --root "$TMP/other" 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$(sha256sum <"$cache")" = "$sum" ] && [ "$(stat -c %i "$cache")" = "$ino" ]; then
	pass "treecache: a backup of another --root leaves this system's cache alone"
else
	fail "treecache: --root: rc=$rc $out; or the cache changed"
fi

# ---- a generation of the older digest scheme: exactly one new generation ----
# (abur-tree-1 digests can no longer be computed; the newest manifest is
# given a digest this abur does not compute, as such a generation has.)
newest=$(find "$store/abur/software" -maxdepth 1 -name 'g*' | sort | tail -1)
sed -i "s/^content_digest = .*/content_digest = $(printf '%064d' 1)/" "$newest/manifest.ini"
before=$(gens)
out=$(abur backup 2>&1)
rc=$?
out2=$(abur backup 2>&1)
rc2=$?
if [ $rc = 0 ] && [ $rc2 = 4 ] && [ "$(gens)" = $((before + 1)) ]; then
	pass "treecache: after a generation with another digest scheme, exactly one new generation, then unchanged"
else
	fail "treecache: digest upgrade: rc=$rc $out / rc=$rc2 $out2 / $(gens) generations, were $before"
fi

# ---- ASan over the cache paths: write, use, damaged ----
if [ -n "${ABUR_ASAN:-}" ] && [ -x "$ABUR_ASAN" ]; then
	A() { "$ABUR_ASAN" -c "$TMP/abur.ini" --store "$store" "$@"; }
	out=$(rm -f "$cache" && A backup 2>&1; A backup 2>&1; echo junk >>"$cache"; A backup 2>&1; A backup 2>&1)
	if ! echo "$out" | grep -q 'Sanitizer\|runtime error' && [ "$(A backup >/dev/null 2>&1; echo $?)" = 4 ]; then
		pass "treecache (ASan): writing, using and replacing a damaged cache run clean"
	else
		fail "treecache (ASan): $(echo "$out" | grep -m3 'Sanitizer\|runtime error\|error')"
	fi
else
	skip "treecache (ASan): no ASan build given (tests/run BUILD ASAN_BUILD)"
fi
