# The boot agent on loop devices: auto reimage of a blank disk, a foreign
# disk left alone, technician restore with right and wrong serials, resume
# after a power cut mid-reimage, the attempt counter, settings-only restore.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/disks.sh"
need_root "agent" || exit 0

make_sys_disk "$TMP/src.img" 64 gpt
SRC=$(make_loop "$TMP/src.img")
truncate -s 80M "$TMP/target.img"
DST=$(make_loop "$TMP/target.img")
make_store "$TMP/store" 128
test_ini "$TMP/abur.ini" "$DST"
A() { "$ABUR" -c "$TMP/abur.ini" --store "$TMP/store" "$@"; }
agent() { # MODE [CONFIRM]: runs the agent as the initramfs would
	rm -f "$TMP/reboot"
	ABUR_MODE=$1 ABUR_CONFIRM=${2:-} ABUR_REBOOT_REQUEST=$TMP/reboot \
		"$ABUR" -c "$TMP/abur.ini" --store "$TMP/store" agent --timeout 1 </dev/null >"$TMP/agent.log" 2>&1
}
sum() { sha256sum "$1" | cut -c1-64; }
serial=$(basename "$(readlink -f "$DST")")

if ! A seal --disk "$SRC" >"$TMP/seal.log" 2>&1; then
	fail "seal the source disk: $(tail -3 "$TMP/seal.log")"
	exit 0
fi
disk_ids "$SRC" >"$TMP/ids.src"

# (a) blank disk, auto: reimaged, reboot requested, report written.
agent auto; rc=$?
disk_ids "$DST" >"$TMP/ids.dst"
if [ $rc = 0 ] && [ -f "$TMP/reboot" ] && diff -q "$TMP/ids.src" "$TMP/ids.dst" >/dev/null; then
	pass "auto: blank disk reimaged with the sealed identifiers, reboot requested"
else
	fail "auto on a blank disk: rc=$rc $(tail -5 "$TMP/agent.log" | tr '\n' ' ') $(diff "$TMP/ids.src" "$TMP/ids.dst" | head -5 | tr '\n' ' ')"
fi
ls "$TMP/store/abur/log/"restore-*.txt >/dev/null 2>&1 && pass "auto: report saved in the store's log" ||
	fail "auto: no report in the store's log"
mkdir -p "$TMP/m"
if mount -o ro "${DST}p2" "$TMP/m" 2>/dev/null; then
	ls "$TMP/m/var/log/abur/"restore-*.txt >/dev/null 2>&1 && pass "auto: report saved in the restored system" ||
		fail "auto: no report in the restored system's /var/log/abur"
	cmp -s "$TMP/m/etc/vms/recorder.ini" <(printf '[recorder]\nretention_days = 30\nfps = 25\n') &&
		pass "auto: config restored" || fail "auto: config differs"
	umount "$TMP/m"
fi

# (b) the disk now holds our system: auto changes nothing.
before=$(sum "$DST")
agent auto; rc=$?
[ $rc = 4 ] && [ "$(sum "$DST")" = "$before" ] && grep -q "NOTHING DONE" "$TMP/agent.log" &&
	pass "auto: a disk holding our system is not touched (exit 4, reason shown)" ||
	fail "auto on ours: rc=$rc $(tail -2 "$TMP/agent.log")"

# (c) foreign disk: nothing written.
dd if=/dev/zero of="$DST" bs=1M count=80 status=none
mkfs.ext4 -q -F "$DST"
before=$(sum "$DST")
agent auto; rc=$?
[ $rc = 4 ] && [ "$(sum "$DST")" = "$before" ] && grep -q "not ours" "$TMP/agent.log" &&
	pass "auto: a foreign disk is not touched and the console says why" ||
	fail "auto on foreign: rc=$rc $(tail -2 "$TMP/agent.log")"

# (d) technician restore: wrong serial does nothing, unanswered prompt does nothing, right serial restores.
agent restore WRONG-SERIAL; rc=$?
[ $rc = 4 ] && [ "$(sum "$DST")" = "$before" ] && pass "restore with a wrong serial does nothing" ||
	fail "restore wrong serial: rc=$rc $(tail -2 "$TMP/agent.log")"
agent restore; rc=$?
[ $rc = 4 ] && [ "$(sum "$DST")" = "$before" ] && grep -q "no answer" "$TMP/agent.log" &&
	pass "restore: an unanswered prompt times out to nothing" || fail "restore unanswered: rc=$rc"
grep -q "PLAN:" "$TMP/agent.log" && grep -q "serial $serial" "$TMP/agent.log" &&
	pass "restore: the plan names the disk and its serial" || fail "restore: no plan shown"
agent restore "$serial"; rc=$?
disk_ids "$DST" >"$TMP/ids.dst"
[ $rc = 0 ] && diff -q "$TMP/ids.src" "$TMP/ids.dst" >/dev/null && pass "restore with the right serial reimages" ||
	fail "restore right serial: rc=$rc $(tail -3 "$TMP/agent.log")"

# (e) restore-settings after the config was damaged.
mount "${DST}p2" "$TMP/m" && echo garbage >"$TMP/m/etc/vms/recorder.ini" && umount "$TMP/m"
agent restore-settings "$serial"; rc=$?
mount -o ro "${DST}p2" "$TMP/m" 2>/dev/null
grep -q retention_days "$TMP/m/etc/vms/recorder.ini" 2>/dev/null && [ $rc = 0 ] &&
	pass "restore-settings repairs the damaged config" || fail "restore-settings: rc=$rc $(tail -3 "$TMP/agent.log")"
umount "$TMP/m" 2>/dev/null

# A newer config generation that fails its check: restore-settings falls
# back past it and says so.
cdir=$TMP/store/abur/config
newest=$(cd "$cdir" && ls -d g* | tail -1)
cp -a "$cdir/$newest" "$cdir/g000099"
sed -i 's/^seq = .*/seq = 99/' "$cdir/g000099/manifest.ini"
printf 'X' | dd of="$cdir/g000099/data.tar.zst" bs=1 seek=20 conv=notrunc status=none
agent restore-settings "$serial"; rc=$?
[ $rc = 0 ] && grep -q "passed over 1 damaged generation: restored config $newest (1 newer fails its check)" "$TMP/agent.log" &&
	pass "restore-settings falls back past a damaged config generation and names it" ||
	fail "restore-settings past a damaged generation: rc=$rc $(tail -3 "$TMP/agent.log")"
rm -rf "${cdir:?}/g000099"

# (f) power cut mid-reimage: crash at the I/O call after the marker is written; the next boot resumes.
dd if=/dev/zero of="$DST" bs=1M count=80 status=none
rm -f "$TMP/trace"
ABUR_IO_TRACE=$TMP/trace agent auto
n=$(grep -n 'reimage-incomplete' "$TMP/trace" | grep ' rename ' | head -1 | cut -d: -f1)
if [ -z "$n" ]; then
	fail "power cut: the marker write was not found in the I/O trace"
else
	dd if=/dev/zero of="$DST" bs=1M count=80 status=none
	ABUR_IO_FAULT=crash:$((n + 1)) agent auto; rc=$?
	if [ $rc = 99 ] && [ -f "$TMP/store/abur/state/reimage-incomplete" ]; then
		pass "power cut: the agent died mid-reimage with the marker in the store"
		agent auto; rc=$?
		disk_ids "$DST" >"$TMP/ids.dst"
		[ $rc = 0 ] && diff -q "$TMP/ids.src" "$TMP/ids.dst" >/dev/null && grep -q "resumed" "$TMP/agent.log" &&
			[ ! -f "$TMP/store/abur/state/reimage-incomplete" ] &&
			pass "power cut: the next boot resumes and finishes the reimage" ||
			fail "resume: rc=$rc $(tail -3 "$TMP/agent.log")"
	else
		fail "power cut: rc=$rc, marker $(ls "$TMP/store/abur/state" 2>&1)"
	fi
fi

# (f2) a stale marker does not let auto overwrite a serial-less disk that now holds data.
if [ -n "$n" ]; then
	dd if=/dev/zero of="$DST" bs=1M count=80 status=none
	ABUR_IO_FAULT=crash:$((n + 1)) agent auto
	mkfs.ext4 -q -F -L otherdata "$DST"
	before=$(sum "$DST")
	agent auto; rc=$?
	[ $rc = 4 ] && [ "$(sum "$DST")" = "$before" ] &&
		pass "a stale marker does not make auto overwrite a serial-less disk holding data" ||
		fail "stale marker on a foreign serial-less disk: rc=$rc $(tail -2 "$TMP/agent.log")"
fi

# (g) three failed attempts: the agent stops and asks for a technician.
dd if=/dev/zero of="$DST" bs=1M count=80 status=none
for i in 1 2 3; do ABUR_IO_FAULT=eio:$((n + 1)) agent auto; done
agent auto; rc=$?
[ $rc = 1 ] && grep -q "call a technician" "$TMP/agent.log" && pass "after 3 failed attempts the agent stops" ||
	fail "attempt counter: rc=$rc $(tail -2 "$TMP/agent.log")"

# (h) the flash itself in the system-disk slot is never written.
fdev=$(findmnt -n -o SOURCE "$TMP/store")
test_ini "$TMP/abur-flash.ini" "$fdev"
ABUR_MODE=restore ABUR_CONFIRM=$(basename "$(readlink -f "$fdev")") "$ABUR" -c "$TMP/abur-flash.ini" --store "$TMP/store" agent --timeout 1 \
	</dev/null >"$TMP/agent.log" 2>&1; rc=$?
[ $rc = 4 ] && grep -q "flash device: never written" "$TMP/agent.log" &&
	pass "the flash in the system-disk slot is never written, even confirmed" ||
	fail "flash in the slot: rc=$rc $(tail -2 "$TMP/agent.log")"

# (i) sealing a filesystem that needs journal recovery is refused (blocks only
# the journal knows about would be lost).
make_sys_disk "$TMP/dirty.img" 48 gpt
DIRTY=$(make_loop "$TMP/dirty.img")
debugfs -w -R "feature needs_recovery" "${DIRTY}p2" >/dev/null 2>&1
out=$(A seal --disk "$DIRTY" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "needs journal recovery" &&
	pass "seal refuses an ext4 that needs journal recovery, naming it" || fail "dirty journal: rc=$rc $out"

# (j) verify mode: every generation re-read; a corrupted one fails the run and
# is named; nothing else is written.
agent verify; rc=$?
[ $rc = 0 ] && grep -q "VERIFY OK: 0 generations failed" "$TMP/agent.log" && grep -q "verify os g0" "$TMP/agent.log" &&
	pass "verify mode: every generation verifies (exit 0, each one listed)" ||
	fail "verify mode on a good store: rc=$rc $(tail -2 "$TMP/agent.log")"
cfg=$(ls -d "$TMP"/store/abur/config/g* | tail -n 1)
printf '\377' | dd of="$cfg/data.tar.zst" bs=1 seek=200 conv=notrunc status=none
agent verify; rc=$?
[ $rc = 1 ] && grep -q "VERIFY FAILED: 1 generation failed" "$TMP/agent.log" &&
	grep -q "verify config $(basename "$cfg"): " "$TMP/agent.log" && ! grep -q "verify config $(basename "$cfg"): ok" "$TMP/agent.log" &&
	pass "verify mode: a flipped byte fails the run, naming the generation" ||
	fail "verify mode on a corrupted store: rc=$rc $(grep -i verify "$TMP/agent.log" | tail -3)"
