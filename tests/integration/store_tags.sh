# Restore points and retention you can steer: abur backup --tag NAME stores
# a generation even when unchanged, pinned until forgotten (retention and a
# full flash keep it); --generation and diff take the tag; abur prune
# [--dry-run] says what retention removes; abur forget removes one
# generation and refuses what a restore still needs.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/store.sh"

src=$TMP/src
gens() { find "$1/abur/$2" -mindepth 1 -maxdepth 1 -name 'g*' -printf '%f\n' | sort | tr '\n' ' '; }
write() { # VERSION
	mkdir -p "$src/etc/vms" "$src/opt/vms"
	printf 'version = %s\n' "$1" >"$src/etc/vms/server.conf"
	printf 'bin %s\n' "$1" >"$src/opt/vms/run"
}

ini=$TMP/abur.ini
st=$TMP/store
mkdir -p "$st"
store_ini "$ini" "$st" 2
abur() { "$ABUR" -c "$ini" --store "$st" "$@"; }
write 9.1
abur backup --root "$src" >/dev/null

# ---- a restore point of unchanged content ------------------------------------
out=$(abur backup --root "$src" --tag before-9.2 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^config: g000003 written .*, tagged before-9.2$' &&
	echo "$out" | grep -q '^software: g000004 written .*, tagged before-9.2$'; then
	pass "tags: backup --tag stores every component even unchanged, and says the tag"
else
	fail "tags: backup --tag rc=$rc: $out"
fi
check "tags: list shows the tag in NOTES" grep -q '^config .*g000003 .*tag before-9.2' <<<"$(abur list config)"
check "tags: list --json has the tag" grep -q '"tag":"before-9.2"' <<<"$(abur --json list config)"
before=$(store_state "$st")
out=$(abur backup --root "$src" --tag before-9.2 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'before-9.2 already names config/g000003: nothing written' &&
	[ "$(store_state "$st")" = "$before" ]; then
	pass "tags: a tag already given is refused (1) naming its generation, nothing written"
else
	fail "tags: second --tag before-9.2 rc=$rc: $out"
fi
for bad in 12 g000012 -x 'a/b' "$(printf 'x%.0s' $(seq 1 65))" ''; do
	out=$(abur backup --root "$src" --tag "$bad" 2>&1)
	rc=$?
	if [ $rc = 2 ] && echo "$out" | grep -q -- "--tag '"; then
		pass "tags: --tag '${bad:0:12}' is a usage error (2) naming the rule"
	else
		fail "tags: --tag '${bad:0:12}' rc=$rc: $out"
	fi
done
check "tags: nothing was written by the refused tags" test "$(store_state "$st")" = "$before"

# ---- retention keeps it -------------------------------------------------------
for v in 9.2 9.3 9.4 9.5; do
	write "$v"
	abur backup --root "$src" >/dev/null
done
g=$(gens "$st" config)
if echo "$g" | grep -q g000003 && ! echo "$g" | grep -q g000001 && [ "$(echo "$g" | wc -w)" = 3 ]; then
	pass "tags: retention (keep 2) removed the old generations and kept the tagged one ($g)"
else
	fail "tags: retention left config: $g"
fi

# ---- --generation TAG everywhere, diff A B as tags ----------------------------
check "tags: ls --generation before-9.2" grep -q 'etc/vms/server.conf' <<<"$(abur ls config --generation before-9.2)"
abur restore config --generation before-9.2 --to "$TMP/r" >/dev/null 2>&1
check "tags: restore --generation before-9.2 writes the tagged content" grep -qx 'version = 9.1' \
	"$TMP/r/etc/vms/server.conf"
check "tags: verify config --generation before-9.2" abur verify config --generation before-9.2
abur export config --generation before-9.2 -o "$TMP/x.tar.zst" >/dev/null
check "tags: export --generation before-9.2 is a tar GNU tar reads" tar --zstd -tf "$TMP/x.tar.zst"
abur backup --root "$src" --tag after-9.2 >/dev/null
out=$(abur diff config before-9.2 after-9.2)
if echo "$out" | grep -q '^M  *etc/vms/server.conf  (content[,)]' &&
	echo "$out" | grep -q '^from config g000003 .*tag before-9.2$' && echo "$out" | grep -q '^  to config .*tag after-9.2$'; then
	pass "tags: diff config before-9.2 after-9.2 compares the two restore points"
else
	fail "tags: diff by tags: $out"
fi
out=$(abur ls config --generation no-such-tag 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "config has no generation tagged 'no-such-tag'" &&
	pass "tags: an unknown tag fails (1) naming it" || fail "tags: unknown tag rc=$rc: $out"
out=$(abur verify --generation before-9.2 2>&1)
rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'one COMPONENT' &&
	pass "tags: verify --generation TAG without a component is a usage error" || fail "tags: verify tag rc=$rc: $out"

# ---- prune --dry-run, prune ---------------------------------------------------
store_ini "$ini" "$st" 1
before=$(store_state "$st")
out=$(abur prune --dry-run config 2>&1)
rc=$?
would=$(echo "$out" | sed -n 's/^config: would remove //p')
if [ $rc = 0 ] && [ -n "$would" ] && [ "$(store_state "$st")" = "$before" ] &&
	! echo "$would" | grep -q 'g000003'; then
	pass "tags: prune --dry-run names what retention would remove ($would), not the tag, and removes nothing"
else
	fail "tags: prune --dry-run rc=$rc: $out"
fi
out=$(abur prune config 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$(echo "$out" | sed -n 's/^config: removed //p')" = "$would" ]; then
	pass "tags: prune removes exactly what the dry run named"
else
	fail "tags: prune rc=$rc: $out (dry run: $would)"
fi
for w in ${would//,/ }; do
	[ -e "$st/abur/$w" ] && fail "tags: prune left $w"
done
check "tags: the tagged generations stay" test -d "$st/abur/config/g000003"
out=$(abur prune config 2>&1)
rc=$?
[ $rc = 4 ] && echo "$out" | grep -q '^config: nothing to remove' &&
	pass "tags: a second prune has nothing to remove (4)" || fail "tags: second prune rc=$rc: $out"
check "tags: prune --json" grep -q '"dry_run":true,"components":\[{"component":"config","removed_generations":\[\]' \
	<<<"$(abur --json prune --dry-run config)"

# ---- forget -------------------------------------------------------------------
newest=$(gens "$st" config | awk '{ print $NF }')
before=$(store_state "$st")
write 9.6
abur backup --root "$src" config >/dev/null
newest=$(gens "$st" config | awk '{ print $NF }')
before=$(store_state "$st")
out=$(abur forget config --generation "$newest" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "is the newest valid generation" && [ "$(store_state "$st")" = "$before" ]; then
	pass "tags: forget refuses the newest valid generation (1), nothing removed"
else
	fail "tags: forget newest rc=$rc: $out"
fi
out=$(abur forget config --generation before-9.2 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^config: g000003 forgotten (tag before-9.2)$' &&
	[ ! -e "$st/abur/config/g000003" ] && [ -d "$st/abur/software/g000004" ]; then
	pass "tags: forget config --generation before-9.2 removes config's and leaves software's"
else
	fail "tags: forget by tag rc=$rc: $out"
fi
abur backup --root "$src" config --tag same >/dev/null
same=$(gens "$st" config | awk '{ print $NF }')
out=$(abur forget config --generation same 2>&1)
rc=$?
[ $rc = 0 ] && [ ! -e "$st/abur/config/$same" ] && [ -d "$st/abur/config/$newest" ] &&
	pass "tags: a newest restore point of unchanged content can be forgotten" ||
	fail "tags: forget newest unchanged tag rc=$rc: $out"
for args in "config" "config --generation nosuch-tag" "config --generation 999" "nosuch --generation 1"; do
	before=$(store_state "$st")
	# shellcheck disable=SC2086 # the arguments are words
	out=$(abur forget $args 2>&1)
	rc=$?
	case $args in config) want=2 ;; nosuch*) want=2 ;; *) want=1 ;; esac
	if [ $rc = $want ] && [ "$(store_state "$st")" = "$before" ]; then
		pass "tags: forget $args fails ($want) and removes nothing"
	else
		fail "tags: forget $args rc=$rc (want $want): $out"
	fi
done

# ---- a full flash never removes a restore point --------------------------------
if need_root "tags: space planning on a tiny ext4"; then
	make_store "$TMP/tiny" 16
	store_ini "$TMP/tiny.ini" "$TMP/tiny" 10
	tb() { "$ABUR" -c "$TMP/tiny.ini" backup --root "$src" config "$@" 2>&1; }
	big() { head -c $((2800 * 1024)) /dev/urandom >"$src/etc/vms/blob.bin"; }
	big && tb --tag keep-me >/dev/null
	for i in 2 3 4 5 6; do big && tb >/dev/null; done
	g=$(gens "$TMP/tiny" config)
	if [ -d "$TMP/tiny/abur/config/g000001" ] && echo "$g" | grep -q g000006 && ! echo "$g" | grep -q g000002; then
		pass "tags: a full flash made room from old generations, never the restore point ($g)"
	else
		fail "tags: full flash left: $g"
	fi
fi
