#!/usr/bin/env bash
# abur restore of a real backup: PATH... restores only those files or
# folders (a path not held is refused, nothing written); the result line
# counts what was written and the strays left in place; --exact removes
# the strays, only under the component's paths, after the plan and a
# question (--yes for scripts, refused without a terminal).
. "$TOP/tests/lib/common.sh"

src=$TMP/src
store=$TMP/store
mkdir -p "$store" "$src/etc/vms/sub" "$src/etc/vms/keep"
echo "a = 1" >"$src/etc/vms/server.conf"
echo b >"$src/etc/vms/sub/b.txt"
echo c >"$src/etc/vms/sub/c.txt"
cat >"$TMP/abur.ini" <<EOF
[flash]
store = $store
mount = $TMP/mnt
[component config]
paths = /etc/vms
exclude = /etc/vms/keep
EOF
abur() { "$ABUR" -c "$TMP/abur.ini" --store "$store" "$@"; }
listing() { (cd "$1" && find . | sort); }
out=$(abur backup --root "$src" 2>&1) || fail "restore: backup: $out"

# ---- one file, one folder ----
out=$(abur restore config --to "$TMP/r1" /etc/vms/server.conf 2>&1)
if [ $? = 0 ] && [ "$(cat "$TMP/r1/etc/vms/server.conf")" = "a = 1" ] && [ ! -e "$TMP/r1/etc/vms/sub" ] &&
	echo "$out" | grep -q "g000001 restored into $TMP/r1: 1 entry written$"; then
	pass "restore: one file given after --to ROOT restores only that file"
else
	fail "restore: one file: $out; $(listing "$TMP/r1" | tr '\n' ' ')"
fi
out=$(abur restore config /etc/vms/sub/ --to "$TMP/r2" 2>&1)
if [ $? = 0 ] && [ "$(listing "$TMP/r2" | tr '\n' ' ')" = ". ./etc ./etc/vms ./etc/vms/sub ./etc/vms/sub/b.txt ./etc/vms/sub/c.txt " ] &&
	echo "$out" | grep -q ": 3 entries written$"; then
	pass "restore: one folder restores it whole and nothing beside it"
else
	fail "restore: one folder: $out; $(listing "$TMP/r2" | tr '\n' ' ')"
fi

# ---- a path the generation does not hold ----
out=$(abur restore config --to "$TMP/r3" /etc/vms/server.conf /etc/vms/nope 2>&1)
if [ $? = 1 ] && echo "$out" | grep -q "g000001 does not hold /etc/vms/nope" && [ ! -e "$TMP/r3" ]; then
	pass "restore: a path not held is an error naming it, and nothing is written"
else
	fail "restore: a path not held: $out; $(ls -R "$TMP/r3" 2>&1 | tr '\n' ' ')"
fi
out=$(abur restore config --to "$TMP/r3" etc/vms 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "etc/vms: not an absolute path" && [ ! -e "$TMP/r3" ] &&
	pass "restore: a relative path is refused" || fail "restore: a relative path: $out"

# ---- strays: counted and left, or removed with --exact ----
r=$TMP/r4
mkdir -p "$r/etc/vms/keep" "$r/etc/vms/newdir" "$TMP/outside"
echo newer >"$r/etc/vms/new.conf"
echo n >"$r/etc/vms/newdir/n"
echo kept >"$r/etc/vms/keep/k"
echo other >"$r/etc/other.conf"
echo precious >"$TMP/outside/p"
ln -s "$TMP/outside" "$r/etc/vms/link"
echo "a = 2" >"$r/etc/vms/server.conf"
out=$(abur restore config --to "$r" 2>&1)
rc=$?
before=$(listing "$r")
if [ $rc = 0 ] && echo "$out" | grep -q ": 5 entries written; 4 newer entries not in g000001 left in place (--exact removes them)$" &&
	[ "$(cat "$r/etc/vms/server.conf")" = "a = 1" ] && [ -e "$r/etc/vms/new.conf" ] && [ -e "$r/etc/vms/newdir/n" ]; then
	pass "restore: without --exact the result line counts the entries written and the strays left in place"
else
	fail "restore: without --exact: $out"
fi
echo "a = 2" >"$r/etc/vms/server.conf"
out=$(abur restore config --to "$r" --exact </dev/null 2>&1)
if [ $? = 2 ] && echo "$out" | grep -q "confirm with --yes" && [ "$(listing "$r")" = "$before" ] &&
	[ "$(cat "$r/etc/vms/server.conf")" = "a = 2" ]; then
	pass "restore: --exact without a terminal and without --yes refuses (exit 2), nothing changed"
else
	fail "restore: --exact without a terminal: $out"
fi
out=$(script -qec "$ABUR -c $TMP/abur.ini --store $store restore config --to $r --exact" /dev/null <<<"n" 2>&1)
if [ $? = 1 ] && echo "$out" | grep -q "5 to write, 4 to remove" && echo "$out" | grep -q "not confirmed: nothing changed" &&
	[ "$(listing "$r")" = "$before" ] && [ "$(cat "$r/etc/vms/server.conf")" = "a = 2" ]; then
	pass "restore: --exact shows the plan and asks; 'n' changes nothing (exit 1)"
else
	fail "restore: --exact answered n: $out"
fi
out=$(abur restore config --to "$r" --exact --yes 2>&1)
if [ $? = 0 ] && echo "$out" | grep -q "g000001 into $r: 5 to write, 4 to remove$" &&
	echo "$out" | grep -q ": 5 entries written, 4 removed$" &&
	[ "$(listing "$r" | tr '\n' ' ')" = ". ./etc ./etc/other.conf ./etc/vms ./etc/vms/keep ./etc/vms/keep/k ./etc/vms/server.conf ./etc/vms/sub ./etc/vms/sub/b.txt ./etc/vms/sub/c.txt " ] &&
	[ "$(cat "$r/etc/vms/server.conf")" = "a = 1" ] && [ "$(cat "$TMP/outside/p")" = precious ]; then
	pass "restore: --exact --yes removes the strays only under the configured paths, never an excluded one or through a symlink"
else
	fail "restore: --exact --yes: $out; $(listing "$r" | tr '\n' ' ')"
fi
out=$(abur restore config --to "$r" 2>&1)
echo "$out" | grep -q ": 5 entries written$" && pass "restore: after --exact nothing is left to count" ||
	fail "restore: after --exact: $out"
out=$(abur restore config --to "$r" --yes 2>&1)
[ $? = 2 ] && pass "restore: --yes without --exact is a usage error" || fail "restore: --yes alone: $out"
