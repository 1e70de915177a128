#!/usr/bin/env bash
# abur ls and abur diff of a file component: stores built with the real
# abur backup over a tree with files, directories, symlinks and hard links;
# between two backups a file changes, one goes, one comes, a mode, an owner
# and an mtime change.  The listing matches GNU tar's of the payload; diff
# names each change and what changed; PATH filters; --json; errors.
. "$TOP/tests/lib/common.sh"

src=$TMP/src
store=$TMP/store
cat >"$TMP/abur.ini" <<EOF
[flash]
store = $store
mount = $TMP/mnt
[component config]
paths = /etc/vms
keep = 100
EOF
mkdir -p "$store" "$src/etc/vms/cams" "$src/etc/vms/cams.d"
BIN=$ABUR
abur() { "$BIN" -c "$TMP/abur.ini" --store "$store" "$@"; }
payload() { echo "$store/abur/config/$1/data.tar.zst"; }
# settle: one mtime for every path but cam3.conf, so that only what a test
# changes on purpose differs between the two backups (not the second they ran in)
settle() { find "$src" ! -name cam3.conf -exec touch -h -d '2026-03-01 10:00:00' {} +; }

echo "general = 1" >"$src/etc/vms/vms.conf"
for i in 1 2 3 7; do echo "camera $i" >"$src/etc/vms/cams/cam$i.conf"; done
echo "old" >"$src/etc/vms/old.conf"
echo "d" >"$src/etc/vms/cams.d/x"
ln -s vms.conf "$src/etc/vms/current"
ln "$src/etc/vms/vms.conf" "$src/etc/vms/vms.hard"
chmod 0640 "$src/etc/vms/cams/cam1.conf"
chown 1234:5678 "$src/etc/vms/cams/cam2.conf"
touch -d '2026-01-02 03:04:05' "$src/etc/vms/cams/cam3.conf"
settle
check "backup 1" abur backup config --root "$src"

# ---- ls against GNU tar ----
# tar_view: GNU tar's -tv listing as "PERMS UID/GID SIZE YYYY-MM-DD HH:MM PATH[ -> T | link to T]",
# directories without their trailing "/"; ls_view: the same fields from abur ls --json.
tar_view() { tar --zstd --numeric-owner -tvf "$1" | sed -E 's#^(\S+) +(\S+) +(\S+) +#\1 \2 \3 #; s#/$##' | sort; }
ls_view() {
	python3 -c '
import json, sys, time
d = json.load(sys.stdin)
assert d["schema"] == 1, d
kind = {"file": "-", "dir": "d", "symlink": "l", "hardlink": "h"}
def perms(e):
    m = int(e["mode"], 8)
    s = kind[e["type"]] + "".join(c if m & (0o400 >> i) else "-" for i, c in enumerate("rwxrwxrwx"))
    return s
for e in d["entries"]:
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e["mtime_epoch"])) == e["mtime"], e
    t = time.strftime("%Y-%m-%d %H:%M", time.localtime(e["mtime_epoch"]))
    link = {"symlink": " -> ", "hardlink": " link to "}.get(e["type"], "")
    print("%s %d/%d %d %s %s%s" % (perms(e), e["uid"], e["gid"], e["size"], t, e["path"], link + e["target"] if link else ""))
' | sort
}
tar_view "$(payload g000001)" >"$TMP/tar1"
abur --json ls config >"$TMP/ls1.json" && ls_view <"$TMP/ls1.json" >"$TMP/ls1"
if [ -s "$TMP/tar1" ] && diff -u "$TMP/tar1" "$TMP/ls1" >"$TMP/ls1.diff"; then
	pass "ls --json: every entry as GNU tar lists the payload (type, mode, owner, size, mtime, path, target)"
else
	fail "ls --json against tar -tv: $(head -20 "$TMP/ls1.diff" | tr '\n' '|')"
fi
# the text output: the same modes, owners and paths, sizes in IEC units
abur ls config >"$TMP/ls1.txt"
tail -n +2 "$TMP/ls1.txt" | awk '{print $1, $2, $NF}' | sort >"$TMP/ls1.cols"
awk '{print $1, $2, $NF}' "$TMP/tar1" | sort >"$TMP/tar1.cols"
if head -1 "$TMP/ls1.txt" | grep -Eq '^config g000001  [0-9-]+ [0-9:]+ [A-Z]+  manual$' &&
	diff -q "$TMP/tar1.cols" "$TMP/ls1.cols" >/dev/null &&
	grep -Eq '^-rw-r-----  0/0 +9 B  .*  etc/vms/cams/cam1\.conf$' "$TMP/ls1.txt" &&
	grep -Eq '^lrwxrwxrwx  0/0 +-  .*  etc/vms/current -> vms\.conf$' "$TMP/ls1.txt" &&
	grep -Eq '^hrw-r--r--  0/0 +-  .*  etc/vms/vms\.hard link to etc/vms/vms\.conf$' "$TMP/ls1.txt" &&
	grep -Eq '^-rw-r--r--  1234/5678 +9 B  .*  etc/vms/cams/cam2\.conf$' "$TMP/ls1.txt" &&
	grep -Eq '^-rw-r--r--  0/0 +9 B  2026-01-02 03:04:05 UTC  etc/vms/cams/cam3\.conf$' "$TMP/ls1.txt"; then
	pass "ls: a header, then mode, uid/gid, IEC size, mtime, path and link target per entry"
else
	fail "ls text: $(cat "$TMP/ls1.txt" | tr '\n' '|')"
fi
sha=$(sha256sum "$src/etc/vms/cams/cam7.conf" | cut -d' ' -f1)
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = [e for e in d["entries"] if e["path"] == "etc/vms/cams/cam7.conf"][0]
assert e["sha256"] == sys.argv[2] and e["type"] == "file" and e["mode"] == "0644" and e["size"] == 9, e
assert d["component"] == "config" and d["generation"] == 1 and d["trigger"] == "manual", d
assert isinstance(d["time_epoch"], int) and d["time"].endswith("Z"), d
' "$TMP/ls1.json" "$sha" && pass "ls --json: schema 1, the generation, RFC 3339 and epoch times, content hashes" ||
	fail "ls --json fields: $(head -c 600 "$TMP/ls1.json")"

# ---- the second backup ----
echo "camera 7 broken" >"$src/etc/vms/cams/cam7.conf"
rm "$src/etc/vms/old.conf"
echo "new" >"$src/etc/vms/new.conf"
chmod 0600 "$src/etc/vms/vms.conf"
chown 42:43 "$src/etc/vms/cams/cam1.conf"
touch -d '2026-02-03 04:05:06' "$src/etc/vms/cams/cam3.conf"
ln -sfn cams "$src/etc/vms/current"
settle
check "backup 2" abur backup config --root "$src"
tar_view "$(payload g000002)" >"$TMP/tar2"
abur --json ls config --generation 2 | ls_view >"$TMP/ls2"
diff -q "$TMP/tar2" "$TMP/ls2" >/dev/null && pass "ls --generation 2 matches tar -tv of g000002" ||
	fail "ls g2: $(diff "$TMP/tar2" "$TMP/ls2" | tr '\n' '|')"
abur --json ls config --generation g000001 | ls_view >"$TMP/ls1b"
diff -q "$TMP/tar1" "$TMP/ls1b" >/dev/null && pass "ls --generation g000001: the older generation" ||
	fail "ls g1: $(diff "$TMP/tar1" "$TMP/ls1b" | tr '\n' '|')"

# ---- diff ----
cat >"$TMP/want.diff" <<'EOF'
M  etc/vms/cams/cam1.conf  (owner)
M  etc/vms/cams/cam3.conf  (mtime)
M  etc/vms/cams/cam7.conf  (content, size)
M  etc/vms/current  (content)
+  etc/vms/new.conf
-  etc/vms/old.conf
M  etc/vms/vms.conf  (mode)
M  etc/vms/vms.hard  (mode)
1 added, 1 removed, 6 changed
EOF
out=$(abur diff config); rc=$?
if [ $rc = 0 ] && [ "$(echo "$out" | tail -n +3)" = "$(cat "$TMP/want.diff")" ] &&
	echo "$out" | head -1 | grep -q '^from config g000001 ' && echo "$out" | sed -n 2p | grep -q '^  to config g000002 '; then
	pass "diff: newest against the one before, each path with what changed"
else
	fail "diff: rc=$rc: $(echo "$out" | tr '\n' '|')"
fi
[ "$(abur diff config 1 2)" = "$out" ] && [ "$(abur diff config g000002)" = "$out" ] &&
	pass "diff 1 2 and diff g000002 (against the one before) say the same" || fail "diff 1 2: $(abur diff config 1 2 | tr '\n' '|')"
out=$(abur diff config 2 1)
echo "$out" | grep -qx -- '-  etc/vms/new.conf' && echo "$out" | grep -qx '+  etc/vms/old.conf' &&
	echo "$out" | grep -qx '1 added, 1 removed, 6 changed' && pass "diff 2 1: the other way round" ||
	fail "diff 2 1: $(echo "$out" | tr '\n' '|')"
out=$(abur diff config /etc/vms/cams/cam7.conf)
[ "$(echo "$out" | tail -n +3)" = "M  etc/vms/cams/cam7.conf  (content, size)
0 added, 0 removed, 1 changed" ] && pass "diff config PATH: who broke camera 7's config, in one command" ||
	fail "diff PATH: $(echo "$out" | tr '\n' '|')"
abur --json diff config >"$TMP/diff.json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["component"] == "config", d
assert d["from"]["generation"] == 1 and d["to"]["generation"] == 2, d
assert d["from"]["time"].endswith("Z") and isinstance(d["to"]["time_epoch"], int), d
assert (d["added"], d["deleted"], d["changed"]) == (1, 1, 6), d
c = {e["path"]: (e["change"], e["what"]) for e in d["changes"]}
assert c["etc/vms/cams/cam7.conf"] == ("changed", ["content", "size"]), c
assert c["etc/vms/new.conf"] == ("added", []) and c["etc/vms/old.conf"] == ("deleted", []), c
assert c["etc/vms/vms.conf"] == ("changed", ["mode"]) and c["etc/vms/cams/cam1.conf"] == ("changed", ["owner"]), c
' "$TMP/diff.json" && pass "diff --json: schema 1, from/to, counts, each change with what changed" ||
	fail "diff --json: $(head -c 800 "$TMP/diff.json")"

# ---- PATH filters ----
out=$(abur ls config /etc/vms/cams/ | tail -n +2 | awk '{print $NF}' | tr '\n' ' ')
[ "$out" = "etc/vms/cams etc/vms/cams/cam1.conf etc/vms/cams/cam2.conf etc/vms/cams/cam3.conf etc/vms/cams/cam7.conf " ] &&
	pass "ls PATH: the path and everything under it (not cams.d, a name it begins)" || fail "ls PATH: $out"
out=$(abur --json ls config etc/vms/new.conf etc/vms/current | python3 -c 'import json, sys; print(" ".join(e["path"] for e in json.load(sys.stdin)["entries"]))')
[ "$out" = "etc/vms/current etc/vms/new.conf" ] && pass "ls PATH PATH: several paths, a symlink not followed" ||
	fail "ls PATH PATH: $out"

# the same reads under the sanitizers
if [ -n "${ABUR_ASAN:-}" ] && [ -x "$ABUR_ASAN" ]; then
	BIN=$ABUR_ASAN
	if out=$({ abur --json ls config && abur ls config --generation 1 etc/vms/cams && abur --json diff config &&
		abur diff config 2 1 etc/vms; } 2>&1 >/dev/null); then
		pass "ls and diff (ASan)"
	else
		fail "ls and diff (ASan): $(echo "$out" | head -5)"
	fi
	BIN=$ABUR
fi

# ---- errors ----
# refused RC PATTERN NAME CMD...: CMD exits RC with PATTERN in its output
refused() {
	local rc=$1 pat=$2 name=$3 out got
	shift 3
	out=$("$@" 2>&1); got=$?
	[ $got = "$rc" ] && echo "$out" | grep -q -- "$pat" && pass "$name" || fail "$name: rc=$got $out"
}
refused 2 "no component 'nosuch'" "ls of an unknown component exits 2 naming it" abur ls nosuch
refused 2 "no component 'nosuch'" "diff of an unknown component exits 2 naming it" abur diff nosuch
refused 1 "config has no generation g000009" "ls --generation of a missing one: exit 1 naming it" abur ls config --generation 9
refused 1 "config has no generation g000009" "diff of a missing generation: exit 1 naming it" abur diff config 1 9
refused 1 "config g000001 has no valid generation before it" "diff of the first generation alone: exit 1, says so" abur diff config 1
refused 1 "no path 'etc/vms/nope'" "ls of a path the generation does not hold: exit 1 naming it" abur ls config etc/vms/nope
[ -z "$(abur ls config etc/vms/nope 2>/dev/null)" ] && pass "ls of a missing path lists nothing" || fail "ls nope listed"
refused 2 "expected a number" "ls --generation x/y: usage error" abur ls config --generation x/y
refused 1 "config has no generation tagged 'x'" "ls --generation x (a tag none has): exit 1 naming it" \
	abur ls config --generation x
refused 2 "usage: abur ls" "ls without a component: usage" abur ls
# a damaged payload (same size, other bytes): the hash check names it
cp "$(payload g000002)" "$TMP/g2.keep"
python3 -c '
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff; open(p, "wb").write(b)
' "$(payload g000002)"
refused 1 "config/g000002" "ls of a generation whose payload fails its check: exit 1 naming it" abur ls config
refused 1 "config/g000002" "diff with a damaged generation: exit 1 naming it" abur diff config
cp "$TMP/g2.keep" "$(payload g000002)"
truncate -s 10 "$(payload g000001)"
refused 1 "config g000001 is damaged" "ls of a generation that fails the cheap checks: named damaged" abur ls config --generation 1
