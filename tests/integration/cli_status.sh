# shellcheck shell=bash
# abur status ends with one verdict: protected (exit 0) with what a reimage
# would write now, or at risk (exit 5) with every reason, each produced
# here for real: no os seal, a damaged newest generation, the daemon not
# running, the flash missing, a failed nightly run, a deferral, a store
# nearly full.  --json carries the same verdict.
. "$TOP/tests/lib/common.sh"
need_root "status verdict" || exit 0
. "$TOP/tests/lib/image.sh"
. "$TOP/tests/lib/daemon.sh"

STORE=$TMP/store
make_store "$STORE" 160
daemon_config "$STORE" <<EOF
[disk]
system = auto
[component os]
type = disk
policy = manual
keep = 2
[component license]
paths = $TMP/root/etc/vms/license.lic
policy = nightly
[component config]
paths = $TMP/root/etc/vms
exclude = $TMP/root/etc/vms/license.lic
policy = nightly
EOF
mkdir -p "$TMP/root/etc/vms"
echo "key" >"$TMP/root/etc/vms/license.lic"
echo "a = 1" >"$TMP/root/etc/vms/vms.conf"
st() { "$ABUR" -c "$CFG" "$@"; }

# codes [ARGS...]: "RC code code ..." of status --json (the reasons' codes, sorted).
codes() {
	local out rc
	out=$(st "$@" --json status 2>/dev/null)
	rc=$?
	printf '%s ' "$rc"
	printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = d["verdict"]
assert d["schema"] == 1 and d["command"] == "status" and v["protected"] == (not v["reasons"]) and v["state"] in ("protected", "at_risk"), v
for r in v["reasons"]:
    assert r["risk"] and r["message"], r
print(" ".join(sorted(r["risk"] for r in v["reasons"])))' 2>&1
}
expect_codes() { # NAME WANT [ARGS...]: the status --json rc and codes are WANT
	local name=$1 want=$2 got
	shift 2
	got=$(codes "$@")
	[ "$got" = "$want" ] && pass "$name" || fail "$name: got '$got', want '$want'"
}

expect_codes "status on a filesystem with no store yet: at risk (5): flash_missing, no daemon" \
	"5 daemon_not_running flash_missing"
st backup license >/dev/null 2>&1
expect_codes "status of a new store: at risk (5): no seal, a component not backed up, no daemon" \
	"5 daemon_not_running no_backup no_seal"
out=$(st status 2>&1)
rc=$?
[ $rc = 5 ] && echo "$out" | grep -q "^verdict: at risk (3 reasons)" &&
	echo "$out" | grep -q "^  no_seal: os: no seal" && echo "$out" | grep -q "^  daemon_not_running: the daemon is not running" &&
	pass "status text: 'verdict: at risk (N reasons)' and one line per reason" || fail "status text: rc=$rc $out"

# ---- protected: sealed, every component backed up, the daemon running ----
vms_disk "$TMP/sys.img" gpt >/dev/null 2>&1 || fail "building the test disk"
# The seal takes the settings from the disk's tree (the rig's paths).
sed -e 's/^system = .*/system = auto/' "$TOP/board/qemu-x86_64/abur.ini" >"$TMP/seal.ini"
check "seal" "$ABUR" -c "$TMP/seal.ini" --store "$STORE" seal --disk "$DEV"
check "backup config license" st backup config license
seal=$(sed -n 's/^os = //p' "$STORE/abur/SEALED")
sealg=$(printf 'g%06d' "$seal")
expect_codes "sealed and backed up, daemon stopped: only daemon_not_running" "5 daemon_not_running"
setclock "2026-11-23 22:00:00"
start_daemon || { fail "daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
out=$(st status 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "^verdict: protected" && echo "$out" | grep -q "^  os: seal $sealg of " &&
	echo "$out" | grep -qE "^  a reimage writes now: seal $sealg, then license g[0-9]{6} config g[0-9]{6}\$"; then
	pass "protected (exit 0): the seal, the newest of each component, what a reimage writes now"
else
	fail "protected: rc=$rc $out"
fi
out=$(st --json status)
echo "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)["verdict"]
assert v["protected"] and v["state"] == "protected" and v["reasons"] == [], v
assert sorted(r["component"] for r in v["reimage"]) == ["config", "license", "os"], v
assert [r["generation"] for r in v["reimage"] if r["component"] == "os"] == [int(sys.argv[1])], v' "$seal" &&
	pass "status --json: verdict protected, no reasons, the reimage list" || fail "status --json protected: $out"

# ---- deferred: a change within the hour before midnight ----
setclock "2026-11-23 23:10:00"
echo "a = 2" >"$TMP/root/etc/vms/vms.conf"
wait_change config "2026-11-23 23:10:00" || fail "change at 23:10 not seen"
setclock "2026-11-24 00:00:00"
wait_event '"event":"deferred"' || fail "the midnight run was not deferred: $(tail -3 "$EVENTS")"
wait_state "^deferred_until " || fail "deferral not saved in the state"
expect_codes "a deferred night is a reason (deferred)" "5 deferred"
st status | grep -q "^  deferred: the nightly run was deferred 1 time in a row: " &&
	pass "status text names the deferral count" || fail "deferral text: $(st status 2>&1 | tail -3)"

# ---- last nightly run failed: the store read-only at midnight ----
mount -o remount,ro "$STORE" || fail "remount ro"
setclock "2026-11-25 00:00:00"
wait_for _comp_has config "retry 1" || fail "the failed run is not in the state: $(cat "$STATE")"
mount -o remount,rw "$STORE" || fail "remount rw"
got=$(codes)
case "$got" in
"5 last_run_failed"*) pass "a failed nightly run is a reason (last_run_failed), the deferral gone" ;;
*) fail "failed night: $got" ;;
esac
st status | grep -q "^  last_run_failed: config: the daemon's last run failed: " &&
	pass "status text names the component whose run failed" || fail "failed run text: $(st status 2>&1 | tail -3)"

# ---- the daemon not running, though its state names a live pid ----
stop_daemon
sed -i "s/^pid .*/pid $$/" "$STATE"
out=$(st status 2>&1)
echo "$out" | grep -q "^daemon: not running" && echo "$out" | grep -q "^  daemon_not_running: " &&
	pass "no lock on daemon.pid is not running, whatever pid the state names" || fail "stale pid: $out"
st backup config license >/dev/null 2>&1
rm -rf "${TMP:?}/state"
expect_codes "daemon stopped (no state): daemon_not_running only" "5 daemon_not_running"

# ---- the newest generation damaged: the older one is newest, and a reason ----
echo "a = 3" >"$TMP/root/etc/vms/vms.conf"
st backup config >/dev/null 2>&1
g=$(cd "$STORE/abur/config" && ls -d g* | tail -1)
p=$STORE/abur/config/$g/data.tar.zst
cp "$p" "$TMP/good.zst"
printf '\377\377\377\377' | dd of="$p" bs=1 seek=60 conv=notrunc status=none
expect_codes "a damaged newest generation is a reason (newest_fails_check)" "5 daemon_not_running newest_fails_check"
out=$(st --json status)
echo "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
c = [x for x in v["components"] if x["component"] == "config"][0]
assert c["newest"]["generation"] < int(sys.argv[1][1:]), c
m = [r["message"] for r in v["verdict"]["reasons"] if r["risk"] == "newest_fails_check"][0]
assert sys.argv[1] in m and "config" in m, m' "$g" &&
	pass "status: newest is the older generation that reads back; the reason names $g" || fail "damaged newest: $out"
cp "$TMP/good.zst" "$p"

# ---- store nearly full ----
avail=$(df --output=avail -B1 "$STORE" | tail -1)
size=$(df --output=size -B1 "$STORE" | tail -1)
fallocate -l $((avail - size / 20)) "$STORE/filler" || fail "fallocate"
expect_codes "under 10% free is a reason (store_nearly_full)" "5 daemon_not_running store_nearly_full"
rm -f "$STORE/filler"

# ---- the flash missing; no os seal ----
expect_codes "a missing store is a reason (flash_missing), exit 5" "5 daemon_not_running flash_missing" \
	--store "$TMP/nosuch"
st --store "$TMP/nosuch" status >"$TMP/out" 2>&1
grep -q "^  flash_missing: the flash store is missing: store directory $TMP/nosuch does not exist" "$TMP/out" &&
	pass "flash_missing names the store" || fail "flash missing text: $(cat "$TMP/out")"
mkdir -p "$TMP/store2"
st --store "$TMP/store2" backup config license >/dev/null 2>&1
expect_codes "a store without an os seal is a reason (no_seal)" "5 daemon_not_running no_seal" --store "$TMP/store2"

# ---- a store that is there but cannot be read: exit 1, not 5 ----
mkdir -p "$TMP/store3"
echo notadir >"$TMP/store3/abur"
got=$(codes --store "$TMP/store3")
case "$got" in
"1 "*store_unreadable*) pass "a store that cannot be read: exit 1 (store_unreadable), not at risk 5" ;;
*) fail "unreadable store: $got" ;;
esac
sanitizer_verdict
