# abur probe classes (blank, ours, foreign, flash) and the reimage
# refusals that follow from them.
. "$TOP/tests/lib/common.sh"
need_root "image probe" || exit 0
. "$TOP/tests/lib/image.sh"

STORE=$TMP/store
make_store "$STORE" 96

class_is() { # NAME DEV CLASS [REASON-REGEX]
	local out
	out=$(abur probe "$2" 2>&1)
	if echo "$out" | head -1 | grep -q ": $3 (" && { [ -z "${4:-}" ] || echo "$out" | head -1 | grep -qE "$4"; }; then
		pass "$1"
	else
		fail "$1: $(echo "$out" | head -1)"
	fi
}

blank_disk "$TMP/blank.img" 16
blank=$DEV
class_is "probe: zeroed disk is blank" "$blank" blank
check "probe works without a config or store" sh -c "'$ABUR' -c /nonexistent.ini probe $blank | grep -q ': blank'"
check "probe --json is JSON with class and reason" sh -c \
	"'$ABUR' -c '$INI' --store '$STORE' --json probe $blank | python3 -c 'import json,sys; d=json.load(sys.stdin)[\"disks\"][0]; assert d[\"class\"]==\"blank\" and d[\"reason\"]'"

vms_disk "$TMP/sys.img" gpt >/dev/null 2>&1 || fail "building the test disk"
sys=$DEV
class_is "probe: unsealed system disk is foreign" "$sys" foreign "gpt partition table"
check "seal" abur seal --disk "$sys"
class_is "probe: the sealed disk is ours" "$sys" ours "matches the sealed os image"
out=$(abur probe "$sys" 2>&1)
echo "$out" | grep -q "^  p1 .* type BIOS boot (21686148-6449-6e6f-744e-656564454649) " &&
	echo "$out" | grep -q "^  p3 .* type EFI System (c12a7328-f81f-11d2-ba4b-00a0c93ec93b) " &&
	pass "probe: partition types by name, with the code" || fail "probe type names: $out"

# A disk that cannot be read (a loop node with nothing attached: ENXIO) is
# listed as unreadable between the others, which are still probed: exit 1.
free=$(losetup -f)
mknod "$TMP/dead" b "$(stat -c '%t' "$free" | xargs -I{} printf '%d' 0x{})" "$(stat -c '%T' "$free" | xargs -I{} printf '%d' 0x{})"
out=$(abur probe "$blank" "$TMP/dead" "$sys" 2>"$TMP/probe.err")
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "^$blank: blank (" && echo "$out" | grep -q "^$TMP/dead: unreadable (" &&
	echo "$out" | grep -q "^$sys: ours (" && grep -q "abur: error: probe $TMP/dead: " "$TMP/probe.err"; then
	pass "probe: an unreadable disk is listed as unreadable, the others still probed, exit 1"
else
	fail "probe with an unreadable disk: rc=$rc $out $(cat "$TMP/probe.err")"
fi
out=$(abur --json probe "$blank" "$TMP/dead" "$sys" 2>/dev/null)
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)["disks"]
assert [x["class"] for x in d] == ["blank", "unreadable", "ours"] and d[1]["reason"], d
assert any(p["type_name"] == "EFI System" for p in d[2]["partitions"]), d[2]' &&
	pass "probe --json: the unreadable disk with its reason; type_name" || fail "probe --json unreadable: $out"

blank_disk "$TMP/ext4.img" 48
mkfs.ext4 -q -F "$DEV"
class_is "probe: ext4 without a partition table is foreign" "$DEV" foreign "ext4 signature"
ext4=$DEV

blank_disk "$TMP/stale.img" 16
sfdisk -q "$DEV" <<<'label: gpt' >/dev/null 2>&1
dd if=/dev/zero of="$DEV" bs=1M count=1 conv=notrunc 2>/dev/null
class_is "probe: a stale backup GPT header only is foreign" "$DEV" foreign "stale backup GPT"

# An md 0.90 superblock (at the end of the disk), written by hand: the
# host has no md driver for mdadm --create.
blank_disk "$TMP/md.img" 16
python3 - "$TMP/md.img" <<'EOF'
import struct, sys
size = 16 * 1024 * 1024
with open(sys.argv[1], "r+b") as f:
    f.seek((size & ~0xffff) - 0x10000)
    f.write(struct.pack("<4I7I", 0xA92B4EFC, 0, 90, 0, 0, 0x1234ABCD, 0, 1, 8192, 2, 2))
EOF
class_is "probe: md RAID superblock is foreign" "$DEV" foreign "linux_raid_member"

blank_disk "$TMP/flash.img" 48
sfdisk -q "$DEV" <<'EOF' >/dev/null 2>&1
label: gpt
size=16M, name="ABUR-BOOT"
name="ABUR-STORE"
EOF
partprobe "$DEV" 2>/dev/null
udev_settle_parts "$DEV"
mkfs.vfat -n ABUR-BOOT "${DEV}p1" >/dev/null 2>&1
mkfs.ext4 -q -L ABUR-STORE "${DEV}p2"
flash=$DEV
class_is "probe: the flash is flash" "$flash" flash "ABUR-BOOT"

sum_before=$(head -c 1048576 "$ext4" | md5sum)
out=$(abur reimage --disk "$ext4" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q -- "--yes=" && [ "$(head -c 1048576 "$ext4" | md5sum)" = "$sum_before" ]; then
	pass "reimage onto foreign without --yes is refused, disk untouched"
else
	fail "reimage onto foreign without --yes: rc=$rc $out"
fi
serial=$(abur --json probe "$flash" | python3 -c 'import json,sys; print(json.load(sys.stdin)["disks"][0]["confirm"])')
out=$(abur reimage --disk "$flash" --yes="$serial" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "ABUR flash" && pass "reimage onto flash with --yes is refused" ||
	fail "reimage onto flash: rc=$rc $out"
out=$(abur reimage --disk "$ext4" --yes=not-the-serial 2>&1)
[ $? = 1 ] && pass "reimage with the wrong serial is refused" || fail "wrong serial accepted: $out"
serial=$(abur --json probe "$ext4" | python3 -c 'import json,sys; print(json.load(sys.stdin)["disks"][0]["confirm"])')
check "reimage onto foreign with --yes=SERIAL works" abur reimage --disk "$ext4" --yes="$serial"
check "the overwritten disk now probes ours" sh -c "'$ABUR' -c '$INI' --store '$STORE' probe $ext4 | grep -q ': ours'"
check "reimage onto ours needs --yes too" sh -c "! '$ABUR' -c '$INI' --store '$STORE' reimage --disk $ext4 2>/dev/null"

# [disk] system resolution, as the boot agent does it.
sys_ini() { sed -e "s|^system = .*|system = $1|" "$INI" >"$TMP/sys.ini"; }
sys_ini "$blank"
check "probe --system resolves a device path" sh -c \
	"'$ABUR' -c '$TMP/sys.ini' --store '$STORE' probe --system | grep -q '): $blank\$'"
sys_ini serial:no-such-serial
out=$("$ABUR" -c "$TMP/sys.ini" probe --system 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "no system disk found for .*serial:no-such-serial" &&
	pass "probe --system names what it looked for when nothing matches" || fail "serial:no-such-serial: $out"
pci_disk=
for b in /sys/block/*; do
	[ -e "$b/device" ] || continue
	addr=$(readlink -f "$b" | grep -oE '[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]' | tail -1)
	[ -n "$addr" ] && pci_disk=$(basename "$b") && break
done
shared=$(for b in /sys/block/*; do [ -e "$b/device" ] && readlink -f "$b"; done | grep -c "/${addr:-none}/")
if [ -z "$pci_disk" ]; then
	skip "probe --system slot:PCI: no PCI-attached disk on this machine"
elif [ "$shared" -gt 1 ]; then
	skip "probe --system slot:PCI: every PCI disk controller here holds several disks"
else
	sys_ini "slot:$addr"
	check "probe --system resolves slot:$addr to /dev/$pci_disk" sh -c \
		"'$ABUR' -c '$TMP/sys.ini' probe --system 2>/dev/null | grep -q '): /dev/$pci_disk\$'"
fi
