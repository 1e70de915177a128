# shellcheck shell=bash
# The store is a sandbox: a flash holding stray names, crafted manifests,
# special files or symlinks where ABUR expects its own never makes abur
# write, delete or hang outside its store, and each gets a clear message.
# Also: readers beside retention, and the bound on sequence numbers.
. "$TOP/tests/lib/common.sh"

src=$TMP/src
mkdir -p "$src/etc/vms"
echo "fps = 25" >"$src/etc/vms/recorder.ini"

# mkini NAME KEEP: a config for store $TMP/NAME (created empty).
mkini() {
	mkdir -p "$TMP/$1"
	cat >"$TMP/$1.ini" <<EOF
[flash]
store = $TMP/$1
mount = $TMP/mnt
[restore]
max_total_size = 10M
max_entries = 1000
[component config]
paths = /etc/vms
keep = $2
EOF
}
# ab NAME ARGS...: abur on store NAME, bounded in time (a hang fails).
ab() {
	local n=$1
	shift
	timeout 30 "$ABUR" -c "$TMP/$n.ini" --store "$TMP/$n" "$@"
}
# fresh NAME KEEP [N]: a store with N (default 1) config generations.
fresh() {
	mkini "$1" "$2"
	for i in $(seq "${3:-1}"); do
		echo "rev = $1.$i" >"$src/etc/vms/rev.ini"
		ab "$1" backup --root "$src" config >/dev/null 2>&1 || echo "setup backup of $1 failed"
	done
}
gens() { (cd "$TMP/$1/abur/config" && ls -d g* 2>/dev/null | tr '\n' ' '); }
# state DIR: names, types, link targets and contents, to compare before/after.
state() { (cd "$1" && find . -printf '%P %y %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }

# ---- 1. stray generation names ----
fresh s1 100
mkdir "$TMP/s1/abur/config/g999999"
echo "rev = s1.new" >"$src/etc/vms/rev.ini"
out=$(ab s1 backup --root "$src" config 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "g999999" && [ "$(gens s1)" = "g000001 g999999 " ]; then
	pass "sandbox: a stray g999999 stops the next backup with a clear error; nothing named g1000000"
else
	fail "sandbox: stray g999999: rc=$rc gens='$(gens s1)': $out"
fi

fresh s1b 1 2
mkdir "$TMP/s1b/abur/config/g1000000" "$TMP/s1b/abur/config/g12345" "$TMP/s1b/abur/config/gabcdef" \
	"$TMP/s1b/abur/config/g000000" "$TMP/s1b/abur/config/g000005"
mkdir "$TMP/s1b/abur/config/.tmp-other" "$TMP/s1b/abur/config/.tmp-g000001-x"
echo x >"$TMP/s1b/abur/config/g000006"
ln -s /nonexistent "$TMP/s1b/abur/config/g000007"
for i in 1 2 3; do
	echo "rev = s1b.more.$i" >"$src/etc/vms/rev.ini"
	ab s1b backup --root "$src" config >"$TMP/s1b.out" 2>&1 || echo "backup $i: $(cat "$TMP/s1b.out")" >>"$TMP/s1b.err"
done
list=$(ab s1b list 2>&1)
foreign_ok=1
for n in g1000000 g12345 gabcdef g000000 g000006 g000007 .tmp-other .tmp-g000001-x; do
	[ -e "$TMP/s1b/abur/config/$n" ] || [ -L "$TMP/s1b/abur/config/$n" ] || foreign_ok=0
	echo "$list" | grep -q "foreign entry .*config/$n " || foreign_ok=0
done
# g000005 (empty: a half-written generation) lists as damaged, numbering
# passes every ABUR-named entry, retention (keep 1) leaves only the newest
# valid one plus what is not ABUR's.
c=$TMP/s1b/abur/config
if [ ! -s "$TMP/s1b.err" ] && [ $foreign_ok = 1 ] && [ -d "$c/g000010" ] && ! [ -e "$c/g000008" ] &&
	! [ -e "$c/g000005" ] && ! [ -e "$c/g000002" ]; then
	pass "sandbox: foreign names (g1000000, g12345, gabcdef, g000000, a file, a link, .tmp-other, .tmp-g000001-x) are listed as foreign, never numbered or removed"
else
	fail "sandbox: foreign names: gens='$(gens s1b)' errors='$(cat "$TMP/s1b.err" 2>/dev/null)' list: $list"
fi
out=$(ab s1b verify 2>&1)
echo "$out" | grep -q "foreign entry .*config/g1000000 (a directory)" &&
	pass "sandbox: verify names the foreign entries" || fail "sandbox: verify does not name foreign entries: $out"

fresh s1c 100
mkdir "$TMP/s1c/abur/config/g000002" # half-written: no manifest
l1=$(ab s1c list 2>&1)
echo "rev = s1c.2" >"$src/etc/vms/rev.ini"
out1=$(ab s1c backup --root "$src" config 2>&1)
r1=$?
echo "rev = s1c.3" >"$src/etc/vms/rev.ini"
out2=$(ab s1c backup --root "$src" config 2>&1)
r2=$?
# Numbering passes it; retention may remove it (it is ABUR-named and damaged).
if [ $r1 = 0 ] && [ $r2 = 0 ] && [ -d "$TMP/s1c/abur/config/g000004" ] && echo "$l1" | grep -q "g000002.*manifest missing"; then
	pass "sandbox: an empty gNNNNNN (no manifest) lists as damaged and later backups go on past it"
else
	fail "sandbox: empty generation dir: rc $r1/$r2 gens='$(gens s1c)': $out1 $out2"
fi

# ---- 2. out-of-range manifest values ----
fresh s2 100 2
m=$TMP/s2/abur/config/g000002/manifest.ini
sed -i 's/^time = .*/time = 4611686018427387903/' "$m"
out=$(ab s2 list 2>&1)
r1=$?
out2=$(ab s2 status 2>&1)
r2=$?
if [ $r1 -lt 128 ] && [ $r2 -lt 128 ] && echo "$out" | grep -q "g000002.*manifest unreadable.*time" &&
	echo "$out" | grep -q "g000001"; then
	pass "sandbox: a manifest time of 2^62 is refused (list rc $r1, status rc $r2; no crash)"
else
	fail "sandbox: huge manifest time: list rc=$r1 status rc=$r2: $out $out2"
fi
for edit in 's/^seq = .*/seq = 99999999999/' 's/^parent = .*/parent = 2/' 's/^size = .*/size = 9223372036854775807/' \
	's/^\[payload data.tar.zst\]/[payload ..\/..\/..\/etc\/passwd]/' 's/^\[payload data.tar.zst\]/[payload extra.bin]/'; do
	fresh s2b 100 2
	sed -i "$edit" "$TMP/s2b/abur/config/g000002/manifest.ini"
	out=$(ab s2b list 2>&1)
	rc=$?
	if [ $rc = 0 ] && echo "$out" | grep -q "g000002.*manifest unreadable"; then
		pass "sandbox: manifest edit '$edit' is refused"
	else
		fail "sandbox: manifest edit '$edit': rc=$rc: $out"
	fi
	rm -rf "${TMP:?}/s2b"
done

# ---- 3. special files where payloads and manifests are expected ----
fresh s3 100 2
p=$TMP/s3/abur/config/g000002/data.tar.zst
rm "$p"
mkfifo "$p"
sed -i 's/^size = .*/size = 0/' "$TMP/s3/abur/config/g000002/manifest.ini"
v=$(ab s3 verify 2>&1)
rv=$?
rs=$(ab s3 restore config --to "$TMP/s3.root" 2>&1)
rr=$?
echo "rev = s3.3" >"$src/etc/vms/rev.ini"
b=$(ab s3 backup --root "$src" config 2>&1)
rb=$?
if [ $rv = 1 ] && echo "$v" | grep -q "data.tar.zst is a FIFO" && [ $rr -lt 124 ] && [ $rb = 0 ]; then
	pass "sandbox: a FIFO payload is reported (verify names it), restore and backup do not hang"
else
	fail "sandbox: FIFO payload: verify rc=$rv restore rc=$rr backup rc=$rb: $v / $rs / $b"
fi

fresh s3b 100 2
mf=$TMP/s3b/abur/config/g000002/manifest.ini
rm "$mf"
mkfifo "$mf"
out=$(ab s3b list 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "g000002.*manifest.ini is a FIFO"; then
	pass "sandbox: a FIFO manifest is reported, not read (no hang)"
else
	fail "sandbox: FIFO manifest: rc=$rc: $out"
fi

for f in STORE .lock .readers; do
	fresh s3c 100
	rm -f "$TMP/s3c/abur/$f"
	mkfifo "$TMP/s3c/abur/$f"
	echo "rev = s3c.$f" >"$src/etc/vms/rev.ini"
	out=$(ab s3c backup --root "$src" config 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q "$f is a FIFO"; then
		pass "sandbox: a FIFO as abur/$f: backup refuses naming it, no hang"
	else
		fail "sandbox: FIFO abur/$f: rc=$rc: $out"
	fi
	rm -rf "${TMP:?}/s3c"
done

# ---- 4. symlinks in the store are never followed ----
canary=$TMP/canary
mkdir -p "$canary/config/g000001" "$canary/config/.tmp-g000009-1" "$canary/log" "$canary/etc"
echo keep >"$canary/config/g000001/manifest.ini"
echo keep >"$canary/config/.tmp-g000009-1/data.tar.zst"
echo keep >"$canary/etc/x"
printf '; ABUR snapshot store\nformat = 1\nboard = t\nmachine = t\ncreated = 0\n' >"$canary/STORE"
state "$canary" >"$TMP/canary.before"

# case LABEL SETUP: a fresh store, SETUP run inside abur/, then backup,
# list, verify, restore; canary unchanged, the backup names the link.
link_case() {
	local label=$1 setup=$2 out rc
	fresh s4 1 2
	(cd "$TMP/s4/abur" && eval "$setup")
	echo "rev = $label" >"$src/etc/vms/rev.ini"
	out=$(ab s4 backup --root "$src" config 2>&1)
	rc=$?
	ab s4 list >/dev/null 2>&1
	ab s4 verify >/dev/null 2>&1
	ab s4 restore config --to "$TMP/s4.root" >/dev/null 2>&1
	echo "rev = again" >"$src/etc/vms/rev.ini"
	ab s4 backup --root "$src" config >/dev/null 2>&1
	state "$canary" >"$TMP/canary.after"
	if ! cmp -s "$TMP/canary.before" "$TMP/canary.after"; then
		fail "sandbox: $label: the canary outside the store changed: $(diff "$TMP/canary.before" "$TMP/canary.after" | head -5)"
	elif [ $rc = 1 ] && echo "$out" | grep -q "is a symlink"; then
		pass "sandbox: $label: backup refuses naming the link, nothing outside the store touched"
	elif [ "$3" = ok ] && [ $rc = 0 ]; then
		pass "sandbox: $label: the link is left alone, nothing outside the store touched"
	else
		fail "sandbox: $label: backup rc=$rc: $out"
	fi
	rm -rf "${TMP:?}/s4" "${TMP:?}/s4.root"
}
link_case "abur -> outside" "cd .. && mv abur abur.real && ln -s '$canary' abur"
link_case "abur/config -> outside" "rm -rf config && ln -s '$canary/config' config"
link_case "abur/config/g000003 -> outside (a generation name)" "ln -s '$canary/config/g000001' config/g000003" ok
link_case "abur/config/.tmp-g000009-1 -> outside" "ln -s '$canary/config/.tmp-g000009-1' config/.tmp-g000009-1" ok
link_case "abur/config/.tmp-del-g000001 -> outside" "ln -s '$canary/config/g000001' config/.tmp-del-g000001" ok
link_case "abur/.lock -> outside" "rm -f .lock && ln -s '$canary/etc/x' .lock"
link_case "abur/STORE -> outside" "rm -f STORE && ln -s '$canary/STORE' STORE"
link_case "abur/.readers -> outside" "rm -f .readers && ln -s '$canary/etc/x' .readers"
link_case "abur/config/g000002/data.tar.zst -> outside" \
	"rm config/g000002/data.tar.zst && ln -s '$canary/etc/x' config/g000002/data.tar.zst" ok

# A generation holding a link to outside: retention removes the link, never
# what it names.
fresh s4b 1 2
ln -s "$canary/config" "$TMP/s4b/abur/config/g000001/outside"
echo "rev = s4b.3" >"$src/etc/vms/rev.ini"
ab s4b backup --root "$src" config >/dev/null 2>&1
state "$canary" >"$TMP/canary.after"
if cmp -s "$TMP/canary.before" "$TMP/canary.after" && ! [ -e "$TMP/s4b/abur/config/g000001" ]; then
	pass "sandbox: retention removes a generation holding a link without following it"
else
	fail "sandbox: link inside a removed generation: gens='$(gens s4b)'"
fi

# A store file (the agent's markers) written through store_put_file: abur/log
# -> outside is refused, not written through (agent code path via reimage
# report is covered elsewhere; here the restore report).
fresh s4c 1
rm -rf "${TMP:?}/s4c/abur/log"
ln -s "$canary/log" "$TMP/s4c/abur/log"
ab s4c restore config --to "$TMP/s4c.root" >/dev/null 2>&1
state "$canary" >"$TMP/canary.after"
cmp -s "$TMP/canary.before" "$TMP/canary.after" && pass "sandbox: abur/log -> outside is never written through" ||
	fail "sandbox: abur/log -> outside was written: $(diff "$TMP/canary.before" "$TMP/canary.after" | head -3)"

# The same links with the O_NOFOLLOW walk the Debian 12 kernel falls back to.
export ABUR_IO_NO_OPENAT2=1
link_case "walk: abur/config -> outside" "rm -rf config && ln -s '$canary/config' config"
link_case "walk: abur/.lock -> outside" "rm -f .lock && ln -s '$canary/etc/x' .lock"
link_case "walk: abur/config/g000002/data.tar.zst -> outside" \
	"rm config/g000002/data.tar.zst && ln -s '$canary/etc/x' config/g000002/data.tar.zst" ok
unset ABUR_IO_NO_OPENAT2

# ---- own hostile cases ----
# A 10 GB sparse manifest: refused by size, not read into memory.
fresh s5 100 2
truncate -s 10G "$TMP/s5/abur/config/g000002/manifest.ini"
out=$(ab s5 list 2>&1)
echo "$out" | grep -q "g000002.*larger than" && pass "sandbox: a 10 GB sparse manifest is refused by size" ||
	fail "sandbox: 10 GB manifest: $out"
# A payload that is a directory.
fresh s5b 100 2
rm "$TMP/s5b/abur/config/g000002/data.tar.zst"
mkdir "$TMP/s5b/abur/config/g000002/data.tar.zst"
out=$(ab s5b list 2>&1)
echo "$out" | grep -q "g000002.*data.tar.zst is a directory" && pass "sandbox: a payload that is a directory is reported" ||
	fail "sandbox: payload directory: $out"
# A generation name that is a regular file in place of the newest.
fresh s5c 100 1
echo junk >"$TMP/s5c/abur/config/g000002"
echo "rev = s5c.2" >"$src/etc/vms/rev.ini"
out=$(ab s5c backup --root "$src" config 2>&1)
rc=$?
[ $rc = 0 ] && [ "$(gens s5c)" = "g000001 g000002 g000003 " ] && [ "$(cat "$TMP/s5c/abur/config/g000002")" = junk ] &&
	pass "sandbox: a regular file named g000002 is passed over, kept, and numbering goes on" ||
	fail "sandbox: file named g000002: rc=$rc gens='$(gens s5c)': $out"
# A hard-linked payload shared with a file outside: retention unlinks the
# store's name only; the outside file keeps its content.
fresh s5d 1 1
ln "$TMP/s5d/abur/config/g000001/data.tar.zst" "$canary/hardlink"
sum=$(sha256sum <"$canary/hardlink")
echo "rev = s5d.2" >"$src/etc/vms/rev.ini"
ab s5d backup --root "$src" config >/dev/null 2>&1
if [ "$(sha256sum <"$canary/hardlink")" = "$sum" ] && ! [ -e "$TMP/s5d/abur/config/g000001" ]; then
	pass "sandbox: a payload hard-linked outside: retention drops the store's name, the outside file is unchanged"
else
	fail "sandbox: hard-linked payload: gens='$(gens s5d)'"
fi
rm -f "$canary/hardlink"

# ---- 11. readers beside retention ----
# A reader waits for a removal holding .readers, but not for ever: a lock
# kept past READERS_WAIT_S (60 s) makes it fail naming the lock.  Started
# here, checked at the end, so the minute overlaps the other cases.
fresh s11w 1 1
flock -o -x "$TMP/s11w/abur/.readers" sh -c "touch '$TMP/s11w.held'; exec sleep 600" &
lpid=$!
wait_for -t 30 test -e "$TMP/s11w.held"
(
	timeout 120 "$ABUR" -c "$TMP/s11w.ini" --store "$TMP/s11w" list >"$TMP/s11w.out" 2>&1
	echo $? >"$TMP/s11w.rc"
) &
wpid=$!
# Held briefly, then let go: the reader waits and succeeds.
fresh s11v 1 1
flock -x "$TMP/s11v/abur/.readers" -c "touch '$TMP/s11v.held'; sleep 2" &
vpid=$!
wait_for -t 30 test -e "$TMP/s11v.held"
out=$(ab s11v list 2>&1)
rc=$?
wait $vpid
[ $rc = 0 ] && echo "$out" | grep -q g000001 && pass "sandbox: a reader waits for a removal's lock and then reads" ||
	fail "sandbox: reader after a short removal lock: rc=$rc: $out"

# Deterministic: a reader holding the store (its shared lock) keeps
# retention from removing anything; once it is gone the next commit does.
fresh s11 1 1
echo "rev = s11.2" >"$src/etc/vms/rev.ini"
flock -s "$TMP/s11/abur/.readers" -c "timeout 30 '$ABUR' -c '$TMP/s11.ini' --store '$TMP/s11' backup --root '$src' config" >/dev/null 2>&1
held=$(gens s11)
echo "rev = s11.3" >"$src/etc/vms/rev.ini"
ab s11 backup --root "$src" config >/dev/null 2>&1
after=$(gens s11)
if [ "$held" = "g000001 g000002 " ] && [ "$after" = "g000003 " ]; then
	pass "sandbox: retention leaves generations alone while a reader holds the store, removes them after"
else
	fail "sandbox: readers lock: while held '$held', after '$after'"
fi

# And a real race: restores beside backups with keep = 1, none may fail.
fresh s11b 1 1
(
	for i in $(seq 40); do
		echo "rev = race.$i" >"$src/etc/vms/rev.ini"
		ab s11b backup --root "$src" config >/dev/null 2>>"$TMP/race.backup.err" || echo "backup $i failed" >>"$TMP/race.backup.err"
	done
) &
bpid=$!
bad=0
for i in $(seq 40); do
	rm -rf "${TMP:?}/race.root"
	ab s11b restore config --to "$TMP/race.root" >/dev/null 2>>"$TMP/race.restore.err" || bad=$((bad + 1))
done
wait $bpid
if [ $bad = 0 ] && ! grep -q failed "$TMP/race.backup.err" 2>/dev/null; then
	pass "sandbox: 40 restores beside 40 backups with keep = 1: no failure"
else
	fail "sandbox: restores beside backups: $bad restores failed: $(head -3 "$TMP/race.restore.err"); $(head -3 "$TMP/race.backup.err" 2>/dev/null)"
fi

# A read-only store where .readers cannot be created is still readable.
fresh s11c 1 1
rm -f "$TMP/s11c/abur/.readers"
mkdir -p "$TMP/s11c.ro"
mount --bind "$TMP/s11c" "$TMP/s11c.ro" && mount -o remount,bind,ro "$TMP/s11c.ro" && {
	out=$(timeout 30 "$ABUR" -c "$TMP/s11c.ini" --store "$TMP/s11c.ro" list 2>&1)
	rc=$?
	umount "$TMP/s11c.ro"
	[ $rc = 0 ] && echo "$out" | grep -q g000001 && pass "sandbox: a read-only store without .readers is still listed" ||
		fail "sandbox: read-only store: rc=$rc: $out"
}

wait $wpid
pkill -P $lpid sleep
wait $lpid 2>/dev/null
out=$(cat "$TMP/s11w.out")
[ "$(cat "$TMP/s11w.rc")" = 1 ] && echo "$out" | grep -q "being removed for over 60 s" &&
	pass "sandbox: a reader gives up after 60 s of a held removal lock, naming it" ||
	fail "sandbox: reader against a stuck removal lock: rc=$(cat "$TMP/s11w.rc"): $out"
