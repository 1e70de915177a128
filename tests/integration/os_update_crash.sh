# Power cuts and damage around os updates, on loop devices:
# - a capture cut at every I/O call it makes: the store verifies, the
#   earlier update is intact, and the next capture writes exactly what an
#   uncut one writes;
# - a reimage cut at every I/O call of its update stage: the marker says
#   "update", and the next run restores the updated server in full.
. "$TOP/tests/lib/common.sh"
need_root "os update crash" || exit 0
. "$TOP/tests/lib/image.sh"
command -v setcap >/dev/null && command -v setfacl >/dev/null || { skip "os update crash: needs setcap and setfacl"; exit 0; }
. "$TOP/tests/lib/osupd.sh"

sealed_disk || { fail "os update crash: a sealed disk: $(tail -3 "$TMP/mk.log" "$TMP/seal.log")"; exit 0; }
dev=$DEV
mount "${dev}p2" "$MNT"
night_one
abur backup os software --root "$MNT" >/dev/null 2>&1 || { fail "os update crash: night 1 capture"; exit 0; }
n1=$(newest)
night_two
cp -a "$STORE/abur" "$TMP/prepared"
mkdir -p "$TMP/state" && cp -a "$TMP/state" "$TMP/prepared-state"
reset() {
	rm -rf "${STORE:?}/abur" "${TMP:?}/state"
	cp -a "$TMP/prepared" "$STORE/abur"
	cp -a "$TMP/prepared-state" "$TMP/state"
}
digest() { sed -n 's/^content_digest = //p' "$STORE/abur/os/$(newest)/manifest.ini"; }

# The uncut capture: its calls, and the digest every resumed one must reach.
rm -f "$TMP/trace"
ABUR_IO_TRACE=$TMP/trace abur backup os --root "$MNT" >/dev/null 2>&1
rc=$?
total=$(tail -n 1 "$TMP/trace" | cut -d' ' -f1)
want=$(digest)
if [ $rc = 0 ] && [ "$(newest)" != "$n1" ] && [ "${total:-0}" -gt 5 ]; then
	pass "capture: an uncut capture makes $total I/O calls"
else
	fail "capture: uncut rc=$rc calls=${total:-none}"
	exit 0
fi

bad=""
for n in $(seq 1 "$total"); do
	reset
	ABUR_IO_FAULT=crash:$n abur backup os --root "$MNT" >/dev/null 2>&1
	rc=$?
	if [ $rc != 99 ]; then bad="$bad $n:rc=$rc"; continue; fi
	abur verify >/dev/null 2>&1 || { bad="$bad $n:verify"; continue; }
	[ -d "$STORE/abur/os/$n1" ] || { bad="$bad $n:lost-$n1"; continue; }
	abur backup os --root "$MNT" >/dev/null 2>&1
	rc=$?
	{ [ $rc = 0 ] || [ $rc = 4 ]; } && [ "$(digest)" = "$want" ] || bad="$bad $n:next=$rc"
done
[ -z "$bad" ] && pass "capture cut at each of its $total I/O calls: store verifies, night 1 intact, the next capture completes" ||
	fail "capture cut at:$bad"

# ---- the update stage of a reimage ----
reset
abur backup os --root "$MNT" >/dev/null 2>&1
tree_list "$MNT" >"$TMP/updated.list"
umount "$MNT"
blank_disk "$TMP/new.img" 64
new=$DEV
rm -f "$TMP/trace"
ABUR_IO_TRACE=$TMP/trace abur reimage --disk "$new" >/dev/null 2>&1 || { fail "reimage: uncut run failed"; exit 0; }
# The stage starts with the marker saying "update" and ends where the one
# saying "settings" is written: the calls between are the stage's own.
stage_calls=$(python3 - "$TMP/trace" <<'PYEOF'
import sys
lines = [l.split(None, 2) for l in open(sys.argv[1])]
# each marker write ends with a rename onto state/reimage-incomplete
renames = [int(l[0]) for l in lines if l[1] == "rename" and l[2].rstrip().endswith("reimage-incomplete")]
# stages: verify, write, table, partitions, update, settings, boot
start, end = renames[4], renames[5]
print(" ".join(str(n) for n in range(start + 1, end - 3)))
PYEOF
)
[ -n "$stage_calls" ] && pass "reimage: the update stage makes $(echo "$stage_calls" | wc -w) I/O calls" ||
	{ fail "reimage: no update stage in the trace: $(grep -c reimage-incomplete "$TMP/trace") marker calls"; exit 0; }
bad=""
for n in $stage_calls; do
	dd if=/dev/zero of="$new" bs=1M 2>/dev/null
	ABUR_IO_FAULT=crash:$n abur reimage --disk "$new" >/dev/null 2>&1
	rc=$?
	# The power cut: what the cut process had mounted is gone, as at a reboot.
	findmnt -rn -o TARGET -S "${new}p2" | while read -r m; do umount "$m"; done
	grep -q '^stage = update' "$STORE/abur/state/reimage-incomplete" 2>/dev/null || { bad="$bad $n:marker(rc=$rc)"; continue; }
	# A half-restored disk is no longer blank: resuming names it (a loop
	# device's serial is its kernel name), as the agent's marker does.
	abur reimage --disk "$new" --yes="$(basename "$new")" >/dev/null 2>&1 || { bad="$bad $n:resume"; continue; }
	mount "${new}p2" "$MNT" || { bad="$bad $n:mount"; continue; }
	tree_list "$MNT" | diff "$TMP/updated.list" - >"$TMP/diff.$n" || bad="$bad $n:tree($(head -4 "$TMP/diff.$n" | tr "\n" " "))"
	umount "$MNT"
done
[ -z "$bad" ] && pass "reimage cut at each I/O call of its update stage: the marker says update, the next run restores the updated server" ||
	fail "reimage cut at:$bad"
