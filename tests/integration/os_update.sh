# Updates after delivery, on loop devices: seal a VMS system disk, update
# the running root (binaries, a kernel module and a driver, deletions,
# modes, owners, xattrs, capabilities, ACLs, hard links, symlinks, the MBR
# boot code and the BIOS boot partition), capture it on two nights, reimage
# onto a larger blank disk: the restored tree is the updated one, e2fsck is
# clean, the boot area matches; a night with no change writes nothing; a
# damaged newest update falls back to the one before; --no-update gives
# the server as sealed.
. "$TOP/tests/lib/common.sh"
need_root "os update" || exit 0
. "$TOP/tests/lib/image.sh"
command -v setcap >/dev/null && command -v setfacl >/dev/null || { skip "os update: needs setcap and setfacl"; exit 0; }

. "$TOP/tests/lib/osupd.sh"
sealed_disk && pass "seal" || { fail "os update: a sealed disk: $(tail -3 "$TMP/mk.log" "$TMP/seal.log")"; exit 0; }
dev=$DEV
seal=$SEAL
mount "${dev}p2" "$MNT"

out=$(abur backup os --root "$MNT" 2>&1)
rc=$?
[ $rc = 4 ] && [ "$(newest)" = "$seal" ] && pass "nothing changed since the seal: exit 4, nothing written" ||
	fail "nothing changed since the seal: rc $rc, $(gens): $out"

# ---- night 1: an update ----
night_one
check "night 1: capture os and software" abur backup os software --root "$MNT" --trigger nightly
n1=$(newest)
[ "$(extra "$n1" kind)" = update ] && [ "$(extra "$n1" base)" = "$((10#${seal#g}))" ] &&
	pass "night 1: an update generation that names its seal" || fail "night 1: $(cat "$STORE/abur/os/$n1/manifest.ini")"
[ -n "$(extra "$n1" rawsrc_bootcode)" ] && [ -n "$(extra "$n1" rawsrc_p1)" ] &&
	pass "night 1: new boot code and BIOS boot partition captured" || fail "night 1: raw areas: $(grep raw "$STORE/abur/os/$n1/manifest.ini")"
tar --zstd -tf "$STORE/abur/os/$n1/files.tar.zst" >"$TMP/n1.files" &&
	grep -qx 'p2/usr/bin/vmsctl' "$TMP/n1.files" && ! grep -q 'opt/vms\|var/log' "$TMP/n1.files" &&
	pass "night 1: GNU tar reads the files payload; software and excluded paths are not in it" ||
	fail "night 1: files payload: $(tr '\n' ' ' <"$TMP/n1.files")"
out=$(abur backup os --root "$MNT" 2>&1)
[ $? = 4 ] && pass "night 1 again: unchanged, exit 4" || fail "night 1 again: $out"
# An unchanged night reads no file content: with strictatime every read
# moves a file's atime.  Files changed within the racy window (2 s) of a
# capture are read once more by the next one; past it, none is.
mount -o remount,strictatime "$MNT"
sleep 3
abur backup os --root "$MNT" >/dev/null 2>&1
find "$MNT" -type f -printf '%A@ %p\n' | sort -k2 >"$TMP/atime.before"
out=$(abur backup os --root "$MNT" 2>&1)
rc=$?
find "$MNT" -type f -printf '%A@ %p\n' | sort -k2 >"$TMP/atime.after"
mount -o remount,relatime "$MNT"
if [ $rc = 4 ] && cmp -s "$TMP/atime.before" "$TMP/atime.after" && [ -s "$TMP/atime.after" ]; then
	pass "an unchanged night reads no file content ($(wc -l <"$TMP/atime.after") files, no atime moved)"
else
	fail "unchanged night read files (rc=$rc): $(diff "$TMP/atime.before" "$TMP/atime.after" | head -4 | tr '\n' ' ') $out"
fi

# ---- night 2: a smaller update ----
night_two
out=$(abur backup os --root "$MNT" --trigger nightly 2>"$TMP/cap.err")
[ $? = 0 ] && pass "night 2: capture" || fail "night 2: capture: $out $(cat "$TMP/cap.err")"
grep -Eq '^[0-9-]+ [0-9:]+ [^ ]+ scan os: ' "$TMP/cap.err" &&
	grep -Eq '^[0-9-]+ [0-9:]+ [^ ]+ backup os: [0-9.]+ [KMG]?i?B of [0-9.]+ [KMG]?i?B \(100%\)' "$TMP/cap.err" &&
	pass "night 2: the capture shows its progress (bytes hashed, then tonight's content archived)" ||
	fail "night 2: capture progress: $(cat "$TMP/cap.err")"
n2=$(newest)
n1_bytes=$(stat -c %s "$STORE/abur/os/$n1/files.tar.zst")
n2_bytes=$(stat -c %s "$STORE/abur/os/$n2/files.tar.zst")
tar --zstd -tf "$STORE/abur/os/$n2/files.tar.zst" | sort >"$TMP/n2.files"
[ "$(tr '\n' ' ' <"$TMP/n2.files")" = "p2/etc/motd p2/usr/bin/vmsctl-helper " ] && [ "$n2_bytes" -lt "$n1_bytes" ] &&
	pass "night 2 writes only that night's content ($n2_bytes bytes vs $n1_bytes)" ||
	fail "night 2: $(tr '\n' ' ' <"$TMP/n2.files") ($n2_bytes vs $n1_bytes bytes)"
extra "$n2" needs | grep -qw "$((10#${n1#g}))" && pass "night 2 needs night 1 for content it did not write again" ||
	fail "night 2 needs: $(extra "$n2" needs)"

out=$(abur list os)
echo "$out" | grep "^os *$n2 " | grep -q "update of $seal: +" && echo "$out" | grep "^os *$n1 " | grep -q "update of $seal" &&
	pass "list shows the updates under their seal" || fail "list: $out"
out=$(abur status)
echo "$out" | grep -q "seal: $seal" && echo "$out" | grep -q "newest update: $n2" &&
	pass "status names the seal and its newest update" || fail "status: $out"
# ---- any generation as a standard archive ----
check "export of night 2" abur export os --generation "$((10#${n2#g}))" -o "$TMP/n2.tar.zst"
out=$(abur export os --generation "$((10#${n2#g}))" -o "$TMP/n2j.tar.zst" 2>&1 >/dev/null)
if echo "$out" | grep -Eq '^[0-9-]+ [0-9:]+ [A-Za-z0-9+-]+ export os: [0-9.]+ [KMG]?i?B of [0-9.]+ [KMG]?i?B \(100%\)' &&
	! echo "$out" | grep -q 'of 0 B'; then
	pass "export of an update shows its progress: the bytes of the files its states add"
else
	fail "export os progress: $out"
fi
mkdir -p "$TMP/x"
if tar --zstd -xpf "$TMP/n2.tar.zst" --xattrs --xattrs-include='*' --acls -C "$TMP/x" 2>"$TMP/tar.err"; then
	pass "GNU tar extracts the export of an update"
else
	fail "GNU tar extracts the export: $(tail -3 "$TMP/tar.err")"
fi
x=$TMP/x/p2
cmp -s "$x/usr/bin/vmsctl" "$MNT/usr/bin/vmsctl" && cmp -s "$x/etc/motd" "$MNT/etc/motd" &&
	[ "$(stat -c %i "$x/usr/bin/vmsctl")" = "$(stat -c %i "$x/usr/bin/vmsctl.hard")" ] &&
	getfacl -p "$x/usr/lib/modules/6.1.0-18-amd64/extra/acme-cam.ko" 2>/dev/null | grep -q '^user:1234:rw-' &&
	[ "$(stat -c %U "$x/etc/motd")" = "$(stat -c %U "$MNT/etc/motd")" ] &&
	pass "the export holds night 1's and night 2's content, owners, ACLs and hard links" ||
	fail "the export: $(ls -lR "$x" 2>&1 | head -20 | tr '\n' ' ')"
# (cam7.bin came and went after the seal: not a deletion of the seal's)
grep -qx 'p2/usr/share/doc/legacy' "$TMP/x/.abur/deleted" && ! grep -q 'cam7.bin' "$TMP/x/.abur/deleted" &&
	cmp -s -n 440 "$TMP/x/.abur/raw/bootcode.bin" "$dev" &&
	pass "the export lists the deleted paths and holds the new boot code" || fail "export .abur: $(ls "$TMP/x/.abur" | tr '\n' ' ')"
check "export of the config component is its payload" sh -c \
	"'$ABUR' -c '$INI' --store '$STORE' export config -o '$TMP/config.tar.zst' && tar --zstd -tf '$TMP/config.tar.zst' | grep -q 'etc/vms/server.ini'"
out=$(abur export config -o "$TMP/config.tar.zst" 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "exists" && pass "export never overwrites a file" || fail "export over a file: $out"
tree_list "$MNT" >"$TMP/updated.list"
dd if="$dev" of="$TMP/updated.boot" bs=440 count=1 2>/dev/null
cp "${dev}p1" "$TMP/updated.p1"
umount "$MNT"

# ---- the disk fails: a larger blank one ----
blank_disk "$TMP/new.img" 64
new=$DEV
if abur reimage --disk "$new" >"$TMP/reimage.out" 2>&1; then pass "reimage onto a larger blank disk"; else fail "reimage: $(grep -v "\[#" "$TMP/reimage.out" | tail -3)"; fi
stamp='^[0-9-]+ [0-9:]+ [A-Za-z0-9+-]+'
if grep -Eq "$stamp update: [0-9.]+ [KMG]?i?B of [0-9.]+ [KMG]?i?B \(100%\)" "$TMP/reimage.out" &&
	grep -Eq "$stamp verify os: [0-9.]+ [KMG]?i?B of [0-9.]+ [KMG]?i?B \(100%\)" "$TMP/reimage.out"; then
	pass "reimage shows the update's verify and write progress (bytes of bytes)"
else
	fail "reimage update progress: $(head -c 1500 "$TMP/reimage.out")"
fi
check "the restored root is e2fsck clean" e2fsck -fn "${new}p2"
mount "${new}p2" "$MNT"
tree_list "$MNT" >"$TMP/restored.list"
check "the restored tree equals the updated one (content, types, modes, owners, mtimes, xattrs, caps, ACLs, links)" \
	diff "$TMP/updated.list" "$TMP/restored.list"
check "deleted files stay deleted" test ! -e "$MNT/usr/share/doc/legacy" -a ! -e "$MNT/usr/lib/firmware/acme/cam7.bin"
check "the software update came back too" grep -q v2 "$MNT/opt/vms/bin/vmsd"
out=$(abur backup os --root "$MNT" 2>&1)
[ $? = 4 ] && pass "a capture of the restored server finds nothing to write" || fail "capture after restore: $out"
umount "$MNT"
check "boot code is the updated one" cmp -n 440 "$TMP/updated.boot" "$new"
check "BIOS boot partition is the updated one" cmp "$TMP/updated.p1" "${new}p1"

# ---- a damaged newest update: the one before it ----
cp "$STORE/abur/os/$n2/files.tar.zst" "$TMP/n2.saved"
printf 'X' | dd of="$STORE/abur/os/$n2/files.tar.zst" bs=1 seek=100 conv=notrunc 2>/dev/null
dd if=/dev/zero of="$new" bs=1M 2>/dev/null
out=$(abur reimage --disk "$new" 2>&1)
echo "$out" | grep -q "passed over 1 damaged os update" && echo "$out" | grep -q "applied os update $n1" &&
	pass "a damaged newest update: the one before it is applied, saying so" || fail "fallback: $out"
mount "${new}p2" "$MNT"
check "fallback: the server as on night 1" sh -c "grep -q 'motd v1' '$MNT/etc/motd' && test -e '$MNT/usr/lib/firmware/acme/cam7.bin' && test ! -e '$MNT/usr/bin/vmsctl-helper'"
umount "$MNT"
cp "$TMP/n2.saved" "$STORE/abur/os/$n2/files.tar.zst"

# ---- as delivered ----
dd if=/dev/zero of="$new" bs=1M 2>/dev/null
out=$(abur reimage --disk "$new" --no-update 2>&1)
echo "$out" | grep -q "no os update applied" && pass "--no-update writes the bare seal" || fail "--no-update: $out"
mount "${new}p2" "$MNT"
check "--no-update: the server as sealed" sh -c "test -e '$MNT/usr/share/doc/legacy/1.txt' && test ! -e '$MNT/usr/bin/vms'"
umount "$MNT"

# ---- --generation names an update ----
dd if=/dev/zero of="$new" bs=1M 2>/dev/null
out=$(abur reimage --disk "$new" --generation "$((10#${n1#g}))" 2>&1)
echo "$out" | grep -q "applied os update $n1" && pass "--generation N of an update applies its seal, then it" ||
	fail "--generation $n1: $out"

# ---- ten nights, each adding a file: the chain stays bounded ----
mount "${dev}p2" "$MNT"
for i in $(seq 1 10); do
	rand 20000 >"$MNT/usr/bin/nightly-$i"
	abur backup os --root "$MNT" >/dev/null 2>&1 || fail "chain: night $i capture"
done
last=$(newest)
nneeds=$(extra "$last" needs | wc -w)
[ "$nneeds" -le 8 ] && pass "after ten nights the newest update needs $nneeds generations (at most the seal and 7)" ||
	fail "chain: needs $(extra "$last" needs)"
tree_list "$MNT" >"$TMP/ten.list"
umount "$MNT"
# keep = 2 (the board's): the seal, the two newest, and what they need
needed="$((10#${seal#g})) $(extra "$last" needs) $(extra "$(gens | awk '{print $(NF-1)}')" needs)"
extra_gens=""
for g in $(gens); do
	seq=$((10#${g#g}))
	[ "$g" = "$last" ] || [ "$g" = "$(gens | awk '{print $(NF-1)}')" ] || echo " $needed " | grep -q " $seq " ||
		extra_gens="$extra_gens $g"
done
[ -z "$extra_gens" ] && pass "retention keeps only the seal, the two newest updates and what they need ($(gens | wc -w) generations)" ||
	fail "chain: kept without a reason:$extra_gens (needs: $needed)"
check "every kept update verifies" abur verify os
dd if=/dev/zero of="$new" bs=1M 2>/dev/null
check "reimage after ten nights" abur reimage --disk "$new"
mount "${new}p2" "$MNT"
tree_list "$MNT" >"$TMP/ten.restored"
diff "$TMP/ten.list" "$TMP/ten.restored" >"$TMP/ten.diff" &&
	pass "after ten nights the restored tree is the live one" || fail "chain restore: $(head -5 "$TMP/ten.diff" | tr '\n' ' ')"
umount "$MNT"

# ---- consistency without a snapshot: busy files and the package manager ----
mount "${dev}p2" "$MNT"
mkdir -p "$MNT/srv" "$MNT/var/lib/dpkg"
# The capture reads a new file twice: when it scans, and when it archives
# it.  The writer appends each time a commit's temporary directory appears
# (after the scan), and an 8 MiB new file archived before srv/hot.log keeps
# that window open: every try finds the file changed.
head -c $((8 << 20)) /dev/urandom >"$MNT/etc/a-big.bin"
echo start >"$MNT/srv/hot.log"
python3 - "$MNT/srv/hot.log" "$STORE/abur/os" <<'PYEOF' &
import os, sys, time
path, comp = sys.argv[1], sys.argv[2]
seen = set()
with open(path, "a") as f:
    open(path + ".ready", "w").close()
    while not os.path.exists(path + ".stop"):
        tmp = {n for n in os.listdir(comp) if n.startswith(".tmp-g")}
        for n in tmp - seen:
            f.write("commit %s %f\n" % (n, time.time())); f.flush()
        seen = tmp
        time.sleep(0.0005)
PYEOF
wpid=$!
wait_for -t 10 test -e "$MNT/srv/hot.log.ready" || fail "busy file: the writer does not start"
out=$(abur backup os --root "$MNT" 2>&1)
rc=$?
touch "$MNT/srv/hot.log.stop"
wait "$wpid"
[ $rc = 3 ] && echo "$out" | grep -q "srv/hot.log" && pass "a file that keeps changing defers the capture (exit 3), naming it" ||
	fail "busy file: rc $rc: $out"
rm -f "$MNT/srv/hot.log.stop" "$MNT/srv/hot.log.ready" "$MNT/etc/a-big.bin"
hold_lock "$MNT/var/lib/dpkg/lock" || fail "dpkg lock: the holder does not start"
before=$(newest)
out=$(abur backup os --root "$MNT" 2>&1)
rc=$?
release_lock
[ $rc = 3 ] && echo "$out" | grep -q "package manager is at work" && [ "$(newest)" = "$before" ] &&
	pass "while the package manager holds its lock the capture waits (exit 3), nothing written" ||
	fail "dpkg lock: rc $rc: $out"
check "once it is done, the capture runs" abur backup os --root "$MNT"

# ---- a technician's re-seal starts a new base ----
umount "$MNT" || fail "umount $MNT before the re-seal"
old_updates=$(for g in $(gens); do [ "$(extra "$g" kind)" = update ] && echo "$g"; done | tr '\n' ' ')
check "re-seal" abur seal --disk "$dev"
reseal=$(newest)
mount "${dev}p2" "$MNT"
for i in 1 2 3; do
	echo "after the re-seal $i" >"$MNT/etc/motd"
	abur backup os --root "$MNT" >/dev/null 2>&1 || fail "after re-seal: capture $i"
done
[ "$(extra "$(newest)" base)" = "$((10#${reseal#g}))" ] && pass "updates after a re-seal name the new seal" ||
	fail "after re-seal: base $(extra "$(newest)" base), seal $reseal"
left=""
for g in $old_updates; do [ -d "$STORE/abur/os/$g" ] && left="$left $g"; done
[ -z "$left" ] && pass "the old seal's updates went by retention" || fail "old updates kept:$left ($(gens))"
umount "$MNT"

# ---- restore points of os, and what forget refuses ----
mount "${dev}p2" "$MNT"
before=$(newest)
out=$(abur backup os --root "$MNT" --tag os-point 2>&1)
rc=$?
tagged=$(newest)
[ $rc = 0 ] && [ "$tagged" != "$before" ] && echo "$out" | grep -q "^os: $tagged written: update of seal .*, tagged os-point$" &&
	pass "backup os --tag with nothing changed stores a tagged update" || fail "os --tag: rc $rc: $out"
umount "$MNT"
out=$(abur forget os --generation "$((10#${reseal#g}))" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "is needed by os/" && [ -d "$STORE/abur/os/$reseal" ] &&
	pass "forget refuses a seal its updates need, naming one" || fail "forget the seal: rc $rc: $out"
cseal=$(sed -n 's/^config = //p' "$STORE/abur/SEALED")
mount "${dev}p2" "$MNT"
mkdir -p "$MNT/etc/vms" && echo "after the seal" >"$MNT/etc/vms/forget.conf"
abur backup config --root "$MNT" >/dev/null || fail "a config backup after the seal"
umount "$MNT"
out=$(abur forget config --generation "$cseal" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "the seal's pinned generation: add --unpin" &&
	[ -d "$STORE/abur/config/g$(printf %06d "$cseal")" ] &&
	pass "forget refuses the seal's pinned config generation without --unpin" || fail "forget pin: rc $rc: $out"
out=$(abur forget config --generation "$cseal" --unpin 2>&1)
rc=$?
[ $rc = 0 ] && [ ! -e "$STORE/abur/config/g$(printf %06d "$cseal")" ] &&
	pass "forget --unpin removes the seal's config generation" || fail "forget --unpin: rc $rc: $out"
