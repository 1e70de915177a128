# A damaged newest generation (flipped byte, truncated payload, missing
# manifest): verify reports it, restore falls back to the previous valid
# generation and says so, and restoring the bad one by number is refused
# naming the newest earlier valid one.
. "$TOP/tests/lib/common.sh"

src=$TMP/src
ini=$TMP/abur.ini
cat >"$ini" <<EOF
[flash]
store = $TMP/store
mount = $TMP/mnt
[restore]
max_total_size = 1G
max_entries = 10000
[component config]
paths = /etc/vms
keep = 5
EOF
abur() { "$ABUR" -c "$ini" --store "$TMP/store" "$@"; }
tree_state() {
	(cd "$1" && find . -printf '%P %y %m %n %l\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
write_tree() {
	rm -rf "$src"
	mkdir -p "$src/etc/vms/sub"
	printf '[recorder]\nversion = %s\n' "$1" >"$src/etc/vms/recorder.ini"
	head -c 200000 /dev/urandom >"$src/etc/vms/sub/blob.bin"
	ln -s recorder.ini "$src/etc/vms/link.ini"
}

mkdir -p "$TMP/store"
for v in 1 2 3; do
	write_tree v$v
	tree_state "$src/etc/vms" >"$TMP/v$v.state"
	abur backup --root "$src" >/dev/null || { fail "corrupt: backup $v failed"; exit 0; }
done
cp -a "$TMP/store" "$TMP/prepared"
payload=$TMP/store/abur/config/g000003/data.tar.zst

damage() { # KIND
	rm -rf "${TMP:?}/store" "${TMP:?}/out" "${TMP:?}/bad"
	cp -a "$TMP/prepared" "$TMP/store"
	case $1 in
	flip)
		size=$(stat -c %s "$payload")
		python3 - "$payload" $((size / 2)) <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
EOF
		;;
	truncate) truncate -s $(($(stat -c %s "$payload") / 2)) "$payload" ;;
	manifest) rm "$TMP/store/abur/config/g000003/manifest.ini" ;;
	esac
}

for kind in flip truncate manifest; do
	damage $kind
	out=$(abur verify 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q '^config *g000003 *FAILED' && echo "$out" | grep -q '^config *g000002 *ok'; then
		pass "corrupt/$kind: verify exits 1 naming g000003"
	else
		fail "corrupt/$kind: verify rc=$rc: $out"
	fi
	out=$(abur verify --generation 3 --json 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)["generations"]
assert len(v) == 1 and v[0]["generation"] == 3 and v[0]["valid"] is False and v[0]["problem"], v'; then
		pass "corrupt/$kind: verify --generation 3 --json reports the problem"
	else
		fail "corrupt/$kind: verify --generation 3 --json rc=$rc: $out"
	fi
	abur verify --generation 2 >/dev/null 2>&1 && pass "corrupt/$kind: g000002 still verifies" ||
		fail "corrupt/$kind: g000002 does not verify"

	out=$(abur restore config --to "$TMP/out" 2>&1)
	rc=$?
	if [ $rc = 0 ] && echo "$out" | grep -q 'failed verification; using g000002' &&
		echo "$out" | grep -q 'g000002 restored' && tree_state "$TMP/out/etc/vms" | cmp -s - "$TMP/v2.state"; then
		pass "corrupt/$kind: restore falls back to g000002, says so, and restores its files"
	else
		fail "corrupt/$kind: restore rc=$rc: $out"
	fi

	out=$(abur restore config --generation 3 --to "$TMP/bad" 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q 'g000002 is the newest earlier valid generation' && [ ! -e "$TMP/bad" ]; then
		pass "corrupt/$kind: restore --generation 3 refused naming g000002, nothing written"
	else
		fail "corrupt/$kind: restore --generation 3 rc=$rc (ROOT $(ls -A "$TMP/bad" 2>/dev/null | wc -l) entries): $out"
	fi

	# The live content is still v3: the next backup must store it again
	# in a generation that verifies, so the newest good copy is v3 again.
	out=$(abur backup --root "$src" 2>&1)
	rc=$?
	rm -rf "${TMP:?}/out"
	if [ $rc = 0 ] && abur verify --generation 4 >/dev/null 2>&1 && abur restore config --to "$TMP/out" >/dev/null 2>&1 &&
		tree_state "$TMP/out/etc/vms" | cmp -s - "$TMP/v3.state"; then
		pass "corrupt/$kind: the next backup of the same content writes a good g000004"
	else
		fail "corrupt/$kind: next backup rc=$rc ($out); gens: $(ls "$TMP/store/abur/config" | tr '\n' ' ')"
	fi
done

# A damaged older generation: verify names it, the newest is unaffected.
damage none
truncate -s 100 "$TMP/store/abur/config/g000001/data.tar.zst"
out=$(abur verify 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q '^config *g000001 *FAILED' && echo "$out" | grep -q '1 failed' &&
	pass "corrupt/old: verify names a damaged older generation" || fail "corrupt/old: verify rc=$rc: $out"
out=$(abur list 2>&1)
echo "$out" | grep -q 'g000001.*payload data.tar.zst is 100 bytes' && pass "corrupt/old: list shows why g000001 is invalid" ||
	fail "corrupt/old: list: $out"
# Every generation damaged: restore fails and says none verifies.
for g in 2 3; do truncate -s 10 "$TMP/store/abur/config/g00000$g/data.tar.zst"; done
out=$(abur restore config --to "$TMP/none" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 'no generation verifies' && [ ! -e "$TMP/none" ] &&
	pass "corrupt/all: restore with nothing valid fails clearly and writes nothing" ||
	fail "corrupt/all: rc=$rc: $out"
