# shellcheck shell=bash
# A seal is one unit: a seal that fails after committing its os generation
# leaves the previous seal pinned (retention with keep = 1 keeps it, list
# shows it), and only a completed seal's record (abur/SEALED) moves the pin.
. "$TOP/tests/lib/common.sh"
need_root "seal atomicity" || exit 0
. "$TOP/tests/lib/image.sh"

STORE=$TMP/store
make_store "$STORE" 160
sed -i '/^\[component os\]/,/^\[/ s/^keep = .*/keep = 1/' "$INI"
vms_disk "$TMP/sys.img" gpt >/dev/null 2>&1 || fail "building the test disk"
sys=$DEV
os_gens() { (cd "$STORE/abur/os" && ls -d g* | tr '\n' ' '); }

abur seal --disk "$sys" >/dev/null 2>&1 || fail "first seal failed"
first=$(os_gens)
grep -q "^os = 1$" "$STORE/abur/SEALED" && [ "$first" = "g000001 " ] &&
	pass "seal: a completed seal writes its record (os = 1)" || fail "seal: record after the first seal: $(cat "$STORE/abur/SEALED" 2>&1)"

# A re-seal of the disk as it was sealed stores no second full copy: the
# seal in force is reused (its file components are sealed again, small).
out=$(abur seal --disk "$sys" 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$(os_gens)" = "g000001 " ] && grep -q "^os = 1$" "$STORE/abur/SEALED" &&
	echo "$out" | grep -q "sealed $sys as os g000001 (.*identical to the seal stored: not stored again)"; then
	pass "seal: a re-seal of an identical disk reuses the seal, no second copy"
else
	fail "seal: identical re-seal: rc=$rc os gens '$(os_gens)': $out"
fi
check "seal: the reused seal verifies" abur verify os
first_files=$(sed -n 's/^config = //p' "$STORE/abur/SEALED")

# The disk changes (a mount writes its superblock): the next seals store
# the os anew.
m=$TMP/root.mnt
mkdir -p "$m"
mount "${sys}p2" "$m" && echo changed >"$m/etc/changed" && umount "$m" || fail "seal: changing the disk"

# Where the second seal's first call after its os commit falls: a traced
# seal into a copy of the store.
mkdir -p "$TMP/copy"
cp -a "$STORE/." "$TMP/copy"
ABUR_IO_TRACE=$TMP/trace "$ABUR" -c "$INI" --store "$TMP/copy" seal --disk "$sys" >/dev/null 2>&1 ||
	fail "seal: traced seal into the copy failed"
n=$(awk '$2 == "rename" && $3 ~ /(^|\/)os\/g[0-9]+$/ {os = 1; next} os && $3 !~ /(^|\/)os(\/|$)/ {print $1; exit}' "$TMP/trace")
if [ -z "$n" ]; then
	fail "seal: no I/O call after the os commit in the trace"
	exit 0
fi

out=$(ABUR_IO_FAULT=eio:$n abur seal --disk "$sys" 2>&1)
rc=$?
half=$(os_gens)
if [ $rc = 1 ] && [ "$half" = "g000001 g$(printf %06d $((first_files + 1))) " ] && grep -q "^os = 1$" "$STORE/abur/SEALED"; then
	pass "seal: a seal failing after its os commit keeps the earlier seal (keep = 1) and its record"
else
	fail "seal: failed seal: rc=$rc os gens '$half', record: $(cat "$STORE/abur/SEALED" 2>&1): $out"
fi
list=$(abur list os 2>&1)
echo "$list" | grep -q "g000001.*pinned" && pass "seal: list shows the earlier seal pinned" ||
	fail "seal: list after a failed seal: $list"

# The next complete seal: the half seal's os generation is no pin and goes
# with keep = 1; the earlier seal stays until the record names the new one.
abur seal --disk "$sys" >/dev/null 2>&1 || fail "seal: third seal failed"
after=$(os_gens)
rec=$(sed -n 's/^os = //p' "$STORE/abur/SEALED")
if [ "${rec:-0}" -gt $((first_files + 1)) ] && [ "$after" = "g000001 g$(printf %06d "$rec") " ]; then
	pass "seal: the next complete seal drops the half seal and records itself"
else
	fail "seal: after the third seal: os gens '$after', record os = $rec"
fi

# A special file in a sealed component is left out and named, as a backup
# names it (a restore could not create it).
mount "${sys}p2" "$m" && mkfifo "$m/etc/vms/pipe" && umount "$m" || fail "seal: planting a FIFO in the root"
out=$(abur seal --disk "$sys" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q "warning: config: skipped .*etc/vms/pipe (a FIFO): a restore cannot create it"; then
	pass "seal: a FIFO in a sealed component is named in a warning"
else
	fail "seal: FIFO in the sealed root: rc=$rc: $out"
fi
