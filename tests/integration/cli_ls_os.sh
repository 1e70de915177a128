#!/usr/bin/env bash
# abur ls and abur diff of the os component, on loop devices: a seal lists
# its filesystems as sealed, an update the tree of that night (seal and
# changes); diff of an update is against its seal by default, or between
# two updates.
. "$TOP/tests/lib/common.sh"
need_root "ls os" || exit 0
. "$TOP/tests/lib/image.sh"
command -v setcap >/dev/null && command -v setfacl >/dev/null || { skip "ls os: needs setcap and setfacl"; exit 0; }
. "$TOP/tests/lib/osupd.sh"
paths() { python3 -c 'import json, sys; print("\n".join(e["path"] for e in json.load(sys.stdin)["entries"]))'; }

sealed_disk && pass "seal" || { fail "ls os: a sealed disk: $(tail -3 "$TMP/mk.log" "$TMP/seal.log")"; exit 0; }
seal=$SEAL
mount "${DEV}p2" "$MNT"
(cd "$MNT" && find . -path ./lost+found -prune -o -printf 'p2/%P\n' | sed 's#/$##' | sort) >"$TMP/sealed.paths"

abur --json ls os >"$TMP/seal.json"
paths <"$TMP/seal.json" | grep '^p2' | grep -v '^p2/lost+found' | sort >"$TMP/seal.paths"
if diff -u "$TMP/sealed.paths" "$TMP/seal.paths" >"$TMP/seal.diff" &&
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["schema"] == 1 and d["component"] == "os", d' "$TMP/seal.json"; then
	pass "ls os of a seal: every path of its root filesystem, as pN/PATH"
else
	fail "ls os seal: $(head -20 "$TMP/seal.diff" | tr '\n' '|')"
fi
out=$(abur ls os p2/usr/bin)
echo "$out" | grep -Eq '^-rwxr-xr-x  0/0 +146\.5 KiB  .*  p2/usr/bin/vmsctl$' && echo "$out" | grep -Eq '  p2/usr/bin$' &&
	[ "$(echo "$out" | wc -l)" = 4 ] && pass "ls os PATH: a seal's entries with mode, owner, IEC size" ||
	fail "ls os PATH: $(echo "$out" | tr '\n' '|')"

night_one
check "night 1: capture" abur backup os --root "$MNT" --trigger nightly
n1=$(newest)
out=$(abur ls os p2/usr/bin p2/etc/motd p2/etc/big.conf p2/usr/share/doc)
if echo "$out" | head -1 | grep -q "^os $n1 " && echo "$out" | grep -Eq '^-rwxr-xr-x  0/0 +156\.2 KiB  .*  p2/usr/bin/vmsctl$' &&
	echo "$out" | grep -Eq '^lrwxrwxrwx  0/0 .*  p2/usr/bin/vms -> vmsctl$' &&
	echo "$out" | grep -Eq '^-rw-r--r--  1000/1000 .*  p2/etc/motd$' && echo "$out" | grep -Eq '^-rw-------  0/0 .*  p2/etc/big\.conf$' &&
	echo "$out" | grep -Eq '^-rwxr-xr-x  0/0 .*  2001-02-03 04:05:06 UTC  p2/usr/bin/ping$' && ! echo "$out" | grep -q legacy; then
	pass "ls os of an update: the tree of that night (seal and changes)"
else
	fail "ls os update: $(echo "$out" | tr '\n' '|')"
fi
abur --json ls os --generation "$seal" p2/usr/share/doc | paths | grep -qx 'p2/usr/share/doc/legacy/1.txt' &&
	pass "ls os --generation SEAL: the seal as it was" || fail "ls os --generation $seal"

out=$(abur diff os)
for want in "+  p2/usr/lib/firmware/acme/cam7.bin" "+  p2/usr/bin/vms" "-  p2/usr/share/doc/legacy/1.txt" \
	"M  p2/etc/big.conf  (mode)" "M  p2/etc/motd  (owner)" "M  p2/usr/bin/ping  (mtime, xattrs)"; do
	echo "$out" | grep -qxF -- "$want" || { fail "diff os: no '$want' in: $(echo "$out" | tr '\n' '|')"; break; }
done && pass "diff os: an update against its seal, each path with what changed"
echo "$out" | head -1 | grep -q "^from os $seal " && echo "$out" | grep -q '^M  p2/usr/bin/vmsctl  (content, size' &&
	pass "diff os: from the seal; vmsctl's content changed" || fail "diff os head: $(echo "$out" | head -3 | tr '\n' '|')"

night_two
check "night 2: capture" abur backup os --root "$MNT" --trigger nightly
n2=$(newest)
out=$(abur diff os "$n1" "$n2")
echo "$out" | grep -qxF -- "-  p2/usr/lib/firmware/acme/cam7.bin" && echo "$out" | grep -qxF "+  p2/usr/bin/vmsctl-helper" &&
	echo "$out" | grep -q '^M  p2/etc/motd  (content' && ! echo "$out" | grep -q 'legacy' &&
	pass "diff os N1 N2: between two updates" || fail "diff os $n1 $n2: $(echo "$out" | tr '\n' '|')"
out=$(abur diff os)
echo "$out" | head -1 | grep -q "^from os $seal " && echo "$out" | sed -n 2p | grep -q "^  to os $n2 " &&
	echo "$out" | grep -q 'legacy' && pass "diff os: the newest update against its seal, not the update before" ||
	fail "diff os default: $(echo "$out" | head -3 | tr '\n' '|')"
abur --json diff os "$n2" p2/etc >"$TMP/d.json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["from"]["generation"] == int(sys.argv[2]) and d["to"]["generation"] == int(sys.argv[3]), d
c = {e["path"]: e for e in d["changes"]}
assert c["p2/etc/motd"]["change"] == "changed" and "owner" in c["p2/etc/motd"]["what"], c
assert all(p.startswith("p2/etc") for p in c), c
' "$TMP/d.json" "$((10#${seal#g}))" "$((10#${n2#g}))" && pass "diff os --json N PATH: against its seal, under PATH only" ||
	fail "diff os --json: $(head -c 600 "$TMP/d.json")"
out=$(abur ls os p9/nope 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "no path 'p9/nope'" && pass "ls os of a missing path: exit 1 naming it" || fail "ls os p9: rc=$rc $out"
umount "$MNT"
