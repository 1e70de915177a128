# Seal a VMS disk (GPT and DOS), wipe it, reimage it: identifiers, e2fsck,
# files, boot area all as before.  Larger disk with and without growing;
# a smaller disk is refused with nothing written.
. "$TOP/tests/lib/common.sh"
need_root "image reimage" || exit 0
. "$TOP/tests/lib/image.sh"

dry_run() { # LABEL DEV: the whole plan, and the disk and the store unchanged
	local label=$1 dev=$2 sum out rc
	sum=$(sha256sum <"$dev")
	out=$(abur reimage --disk "$dev" --dry-run 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ "$(sha256sum <"$dev")" = "$sum" ] && [ ! -e "$STORE/abur/state/reimage-incomplete" ] &&
		echo "$out" | grep -q "^  disk:   $dev  model .*, serial .*, .* MiB ([0-9]* bytes)  blank (" &&
		echo "$out" | grep -q "^  layout: $label, 512-byte sectors, [0-9]* partitions$" &&
		echo "$out" | grep -q "^    p1  *at .*type .*stored$" && echo "$out" | grep -q "^  os:     g00000[0-9]$" &&
		echo "$out" | grep -q "^  files:  config g00000[0-9]$" && echo "$out" | grep -q "^  files:  license g00000[0-9]$" &&
		echo "$out" | grep -q "^  bytes:  .* of disk image to write$"; then
		pass "$label: reimage --dry-run shows disk, layout, images, files and bytes and writes nothing"
	else
		fail "$label: reimage --dry-run: rc=$rc $out"
	fi
}

roundtrip() { # LABEL STORE_MIB (make_store names its image by size)
	local label=$1 dev root out sum
	STORE=$TMP/store-$label
	make_store "$STORE" "$2" || { fail "$label: store"; return; }
	vms_disk "$TMP/$label.img" "$label" 2>"$TMP/mk.log" || { fail "$label: building the test disk: $(tail -3 "$TMP/mk.log")"; return; }
	dev=$DEV
	root=$(root_of "$dev" "$label")
	ids "$dev" >"$TMP/$label.ids"
	tree "$root" >"$TMP/$label.tree"
	dd if="$(esp_of "$dev" "$label")" of="$TMP/$label.esp" bs=1M 2>/dev/null
	dd if="$dev" of="$TMP/$label.boot" bs=1M count=1 2>/dev/null
	dd if="${dev}p1" of="$TMP/$label.p1" bs=1M 2>/dev/null

	mkdir -p "$TMP/busy"
	mount -o ro "$root" "$TMP/busy"
	out=$(abur seal --disk "$dev" 2>&1) && fail "$label: seal of a mounted disk succeeded" ||
		{ echo "$out" | grep -q "mounted.*$TMP/busy" && pass "$label: seal refuses a mounted disk naming the mount" ||
			fail "$label: seal of a mounted disk: $out"; }
	umount "$TMP/busy"

	check "$label: seal" abur seal --disk "$dev"
	check "$label: seal pinned os, software, license, config" sh -c \
		"grep -q '^pinned = yes' $STORE/abur/os/g*/manifest.ini && ls $STORE/abur/software/g* $STORE/abur/license/g* $STORE/abur/config/g* >/dev/null"
	check "$label: probe says ours" sh -c "'$ABUR' -c '$INI' --store '$STORE' probe $dev | grep -q ': ours'"
	sum=$(sha256sum <"$dev")
	out=$(abur reimage --disk "$dev" --dry-run 2>&1)
	[ $? = 0 ] && [ "$(sha256sum <"$dev")" = "$sum" ] && echo "$out" | grep -q "^  disk:   $dev  .*  ours (" &&
		echo "$out" | grep -q "^  confirm: the disk is ours: writing it needs its serial, " &&
		pass "$label: reimage --dry-run of a disk that is ours says it needs the serial, writes nothing" ||
		fail "$label: reimage --dry-run of ours: $out"

	dd if=/dev/zero of="$dev" bs=1M 2>/dev/null
	check "$label: wiped disk probes blank" sh -c "'$ABUR' -c '$INI' --store '$STORE' probe $dev | grep -q ': blank'"
	dry_run "$label" "$dev"
	check "$label: reimage" abur reimage --disk "$dev"
	ids "$dev" >"$TMP/$label.ids2"
	check "$label: PTUUID, PARTUUIDs, offsets, fs UUIDs and labels identical" diff "$TMP/$label.ids" "$TMP/$label.ids2"
	check "$label: e2fsck -fn clean" e2fsck -fn "$root"
	tree "$root" >"$TMP/$label.tree2"
	check "$label: every file identical" diff "$TMP/$label.tree" "$TMP/$label.tree2"
	check "$label: ESP (vfat) identical" cmp "$TMP/$label.esp" "$(esp_of "$dev" "$label")"
	check "$label: boot code identical" cmp -n 440 "$TMP/$label.boot" "$dev"
	if [ "$label" = dos ]; then
		check "dos: gap before p1 identical" cmp -i 512 -n $((1048576 - 512)) "$TMP/$label.boot" "$dev"
	else
		check "gpt: BIOS boot partition identical" cmp "$TMP/$label.p1" "${dev}p1"
	fi
	check "$label: no incomplete marker after success" test ! -e "$STORE/abur/state/reimage-incomplete"
	DEV_OF[$label]=$dev

	# Settings only: license and config back into the existing root.
	mount "$root" "$TMP/busy"
	echo changed >"$TMP/busy/etc/vms/license.lic"
	rm "$TMP/busy/etc/vms/server.ini"
	umount "$TMP/busy"
	check "$label: reimage --settings-only" abur reimage --disk "$dev" --settings-only
	check "$label: settings restored, every file identical again" diff "$TMP/$label.tree" <(tree "$root")
}

declare -A DEV_OF
roundtrip gpt 96
roundtrip dos 97

# GPT onto a larger disk, not grown: same partitions, backup header at its own end.
STORE=$TMP/store-gpt
blank_disk "$TMP/big.img" 56
big=$DEV
check "larger disk: reimage" abur reimage --disk "$big"
check "larger disk: identifiers identical" diff "$TMP/gpt.ids" <(ids "$big" | sed "s#$big#${DEV_OF[gpt]}#g")
check "larger disk: backup GPT header in its last sector" sh -c \
	"dd if=$big bs=512 skip=$((56 * 2048 - 1)) count=1 2>/dev/null | head -c 8 | grep -q 'EFI PART'"
check "larger disk: sfdisk --verify" sfdisk --verify "$big"
check "larger disk: files identical" diff "$TMP/gpt.tree" <(tree "${big}p2")

# DOS onto a larger disk, grown: last partition and its ext4 fill the disk.
STORE=$TMP/store-dos
blank_disk "$TMP/grown.img" 72
grown=$DEV
check "grow: reimage with grow_last_partition = yes" abur_grow reimage --disk "$grown"
old_blocks=$(dumpe2fs -h "${DEV_OF[dos]}p3" 2>/dev/null | awk -F: '/^Block count/{print $2+0}')
new_blocks=$(dumpe2fs -h "${grown}p3" 2>/dev/null | awk -F: '/^Block count/{print $2+0}')
psize=$(blockdev --getsize64 "${grown}p3")
if [ -n "$new_blocks" ] && [ "$new_blocks" -gt "$old_blocks" ] && [ "$psize" -gt $((50 * 1048576)) ]; then
	pass "grow: partition ($psize bytes) and ext4 ($old_blocks -> $new_blocks blocks) grew"
else
	fail "grow: partition $psize bytes, ext4 $old_blocks -> $new_blocks blocks: $(sfdisk -d "$grown" | tail -1)"
fi
check "grow: e2fsck -fn clean" e2fsck -fn "${grown}p3"
check "grow: files identical" diff "$TMP/dos.tree" <(tree "${grown}p3")
check "grow: fs UUID kept" test "$(blkid -p -o value -s UUID "${grown}p3")" = "$(blkid -p -o value -s UUID "${DEV_OF[dos]}p3")"

# Too small: refused before anything is written, naming the size needed.
blank_disk "$TMP/small.img" 32
small=$DEV
out=$(abur reimage --disk "$small" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q "needs at least"; then
	pass "smaller disk refused naming the size needed"
else
	fail "smaller disk: rc=$rc $out"
fi
check "smaller disk: first MiB still zero" first_mib_zero "$small"
check "smaller disk: no incomplete marker" test ! -e "$STORE/abur/state/reimage-incomplete"
