# Windows system disks (issue 15): NTFS volumes sealed as their used
# clusters, on the GPT layout (ESP, MSR, C:, recovery) and the DOS one
# (System Reserved, C:); wiped and reimaged: ids, volume serials, every
# file, ntfsfix clean, deleted clusters not carried.  Volumes Windows left
# hibernated or dirty, and BitLocker ones, are refused with nothing stored.
. "$TOP/tests/lib/common.sh"
need_root "image ntfs" || exit 0
. "$TOP/tests/lib/image.sh"
. "$TOP/tests/lib/ntfs.sh"
if ! "$ABUR" --version | grep -q -- '+ntfs'; then
	skip "image ntfs: this build has no NTFS method (CONFIG_IMAGE_NTFS)"
	exit 0
fi

os_gens() { ls -d "$STORE"/abur/os/g* 2>/dev/null | wc -l; }

# layout_method LABEL PART METHOD: layout.ini stores PART with METHOD.
layout_method() {
	layout_of "$STORE" | awk -v p="[partition $2]" -v m="method = $3" \
		'$0 == p {sec = 1; next} /^\[/ {sec = 0} sec && $0 == m {found = 1} END {exit !found}'
}

# The export is a plain tar: GNU tar extracts C: as a sparse file that the
# ntfs-3g tools read as the volume it was.
export_readable() { # LABEL CNUM
	local g
	g=$(ls -d "$STORE"/abur/os/g* | tail -1)
	mkdir -p "$TMP/export-$1"
	tar --zstd -xf "$g/disk.tar.zst" -C "$TMP/export-$1" "p$2.img" &&
		ntfscat "$TMP/export-$1/p$2.img" /ProgramData/VMS/server.ini | grep -q '^\[server\]' &&
		ntfsfix -n "$TMP/export-$1/p$2.img" >/dev/null 2>&1
}

roundtrip() { # LABEL STORE_MIB (make_store names its image by size)
	local label=$1 dev c p n
	STORE=$TMP/store-$label
	make_store "$STORE" "$2" || { fail "$label: store"; return; }
	win_disk "$TMP/win-$label.img" "$label" 2>"$TMP/mk.log" ||
		{ fail "$label: building the Windows disk: $(tail -3 "$TMP/mk.log")"; return; }
	dev=$DEV
	c=$(win_c "$dev" "$label")
	ids "$dev" >"$TMP/$label.ids"
	for p in $(win_ntfs_parts "$dev" "$label"); do ntfs_tree "$p" >"$TMP/$label.${p##*p}.tree"; done
	[ "$label" = gpt ] && dd if="${dev}p1" of="$TMP/$label.esp" bs=1M 2>/dev/null
	dd if="$dev" of="$TMP/$label.boot" bs=440 count=1 2>/dev/null
	check "$label: C: holds the deleted files' clusters before sealing" grep -q "$DELETED_MARK" "$c"
	n=$(grep -c '^\./ProgramData/VMS/f[0-9]*\.dat f ' "$TMP/$label.${c##*p}.tree")
	[ "$n" -ge $((WIN_FILES * 9 / 10)) ] && pass "$label: C: holds $n files" || fail "$label: C: holds $n files"

	check "$label: seal" abur_win seal --disk "$dev"
	for p in $(win_ntfs_parts "$dev" "$label"); do
		check "$label: partition ${p##*p} stored by its cluster bitmap (method ntfs)" \
			layout_method "$label" "${p##*p}" ntfs
	done
	[ "$label" = gpt ] && check "gpt: the MSR (no filesystem) is raw" layout_method gpt 2 raw
	check "$label: GNU tar exports C: as a volume ntfscat and ntfsfix read" export_readable "$label" "${c##*p}"

	dd if=/dev/zero of="$dev" bs=1M 2>/dev/null
	check "$label: reimage onto the wiped disk" abur_win reimage --disk "$dev"
	ids "$dev" >"$TMP/$label.ids2"
	check "$label: disk id, partition GUIDs, offsets, NTFS serials and labels identical" \
		diff "$TMP/$label.ids" "$TMP/$label.ids2"
	for p in $(win_ntfs_parts "$dev" "$label"); do
		check "$label: partition ${p##*p}: ntfsfix -n finds nothing to fix" ntfsfix -n "$p"
		ntfs_tree "$p" >"$TMP/$label.${p##*p}.tree2"
		check "$label: partition ${p##*p}: every file identical (ntfs-3g)" \
			diff "$TMP/$label.${p##*p}.tree" "$TMP/$label.${p##*p}.tree2"
	done
	! grep -q "$DELETED_MARK" "$c" && pass "$label: the deleted files' free clusters were not stored" ||
		fail "$label: free clusters of deleted files came back"
	[ "$label" = gpt ] && check "gpt: ESP (vfat) identical" cmp "$TMP/$label.esp" "${dev}p1"
	check "$label: boot code identical" cmp -n 440 "$TMP/$label.boot" "$dev"
}

# refused WHAT PART PATTERN: seal fails naming PATTERN and what to do, and
# stores nothing; then PART gets its clean copy back (unless KEEP=1).
refused() {
	local what=$1 part=$2 pattern=$3 before out rc
	before=$(os_gens)
	out=$(abur_win seal --disk "$DEV" 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q "partition ${part##*p}: .*$pattern" && [ "$(os_gens)" = "$before" ]; then
		pass "seal refuses a $what volume, says what to do, stores nothing"
	else
		fail "seal of a $what volume: rc=$rc gens $before -> $(os_gens): $out"
	fi
	[ "${KEEP:-0}" = 1 ] || dd if="$TMP/clean.${part##*p}" of="$part" bs=1M 2>/dev/null
}

# With [disk] raw_encrypted = yes the BitLocker volume is sealed as a raw
# copy, abur list says so, and reimage brings back every byte of it.
bitlocker_raw() { # PART
	local part=$1 raw_ini=$TMP/abur-raw.ini out
	sed 's/^grow_last_partition = .*/&\nraw_encrypted = yes/' "$WIN_INI" >"$raw_ini"
	dd if="$part" of="$TMP/bitlocker.img" bs=1M 2>/dev/null
	check "raw_encrypted = yes: seal stores the BitLocker volume" "$ABUR" -c "$raw_ini" --store "$STORE" seal --disk "$DEV"
	check "raw_encrypted = yes: layout.ini stores it raw" layout_method gpt "${part##*p}" raw
	out=$(abur_win list os)
	echo "$out" | grep -q "raw copy of encrypted partition ${part##*p} " &&
		pass "abur list says the seal holds a raw copy of the encrypted partition" || fail "abur list: $out"
	abur_win --json list os | grep -q "\"raw_encrypted\": *\"${part##*p}\"" &&
		pass "abur --json list: raw_encrypted" || fail "abur --json list: $(abur_win --json list os)"
	dd if=/dev/zero of="$DEV" bs=1M 2>/dev/null
	check "raw_encrypted: reimage" abur_win reimage --disk "$DEV"
	check "raw_encrypted: the BitLocker volume comes back byte for byte" cmp "$TMP/bitlocker.img" "$part"
}

refusals() {
	local c r
	STORE=$TMP/store-refuse
	make_store "$STORE" 96 || { fail "refusals: store"; return; }
	WIN_FILES=50 win_disk "$TMP/win-refuse.img" gpt 2>"$TMP/mk.log" ||
		{ fail "refusals: building the disk: $(tail -3 "$TMP/mk.log")"; return; }
	c=${DEV}p3 r=${DEV}p4
	dd if="$c" of="$TMP/clean.3" bs=1M 2>/dev/null
	dd if="$r" of="$TMP/clean.4" bs=1M 2>/dev/null
	local advice='turn off Fast Startup, shut down fully, seal again'

	ntfs_set_dirty "$c" && refused dirty "$c" "marked dirty.*$advice"
	ntfs_set_hibernated "$c" hibr && refused "hibernated (hibr)" "$c" "hibernated.*$advice"
	ntfs_set_hibernated "$r" HIBR && refused "hibernated (HIBR)" "$r" "hibernated.*$advice"
	ntfs_damage_mirror "$c" && [ "$(blkid -p -o value -s TYPE "$c")" = ntfs ] &&
		refused "damaged (\$MFTMirr)" "$c" "cannot open the NTFS volume.*chkdsk"
	ntfs_set_bitlocker "$r" && KEEP=1 refused BitLocker "$r" "BitLocker.*turn BitLocker off.*raw_encrypted = yes"
	bitlocker_raw "$r"
	dd if="$TMP/clean.3" of="$c" bs=1M 2>/dev/null
	dd if="$TMP/clean.4" of="$r" bs=1M 2>/dev/null
	check "the same disk, clean again, seals" abur_win seal --disk "$DEV"
}

# A larger disk with grow_last_partition: the last partition (C: on DOS)
# grows to the end of the disk and its NTFS volume with it (ntfsresize,
# which writes the backup boot sector at the new end); the dry run says
# so; it is clean and whole.  Without ntfsresize the reimage is refused
# before anything is written.
grown() {
	local grow_ini=$TMP/abur-win-grow.ini old new out rc
	sed 's/^grow_last_partition = .*/grow_last_partition = yes/' "$WIN_INI" >"$grow_ini"
	old=$(blkid -p -o value -s PART_ENTRY_SIZE "${DEV}p2")
	blank_disk "$TMP/win-grown.img" 160
	mkdir -p "$TMP/nobin"
	out=$(PATH=$TMP/nobin "$ABUR" -c "$grow_ini" --store "$STORE" reimage --disk "$DEV" 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q "growing partition 2 (ntfs) needs ntfsresize" &&
		[ "$(head -c 1048576 "$DEV" | tr -d '\0' | wc -c)" = 0 ]; then
		pass "dos: without ntfsresize a growing reimage is refused before anything is written"
	else
		fail "dos: grow without ntfsresize: rc=$rc: $out"
	fi
	out=$("$ABUR" -c "$grow_ini" --store "$STORE" reimage --disk "$DEV" --dry-run 2>&1)
	echo "$out" | grep -q "^    p2 .* ntfs " && echo "$out" | grep -q "grown to the end" &&
		pass "dos: the dry run grows NTFS C:" || fail "dos: dry run with grow: $out"
	check "dos: reimage onto a larger disk with grow_last_partition" \
		"$ABUR" -c "$grow_ini" --store "$STORE" reimage --disk "$DEV"
	new=$(blkid -p -o value -s PART_ENTRY_SIZE "${DEV}p2")
	[ "$new" -gt "$old" ] && pass "dos: C: grew from $old to $new sectors" || fail "dos: C: $old -> $new sectors"
	# ntfsresize schedules Windows' check (the dirty flag): -f reads it anyway.
	vol=$(ntfsinfo -f -m "${DEV}p2" 2>/dev/null | awk '/Volume Size in Clusters/ { print $NF }')
	csz=$(ntfsinfo -f -m "${DEV}p2" 2>/dev/null | awk '/Cluster Size/ { print $NF; exit }')
	[ -n "$vol" ] && [ -n "$csz" ] && [ $((vol * csz)) -gt $(((new - 8) * 512 - csz)) ] &&
		pass "dos: the NTFS volume fills the grown C: ($vol clusters of $csz)" ||
		fail "dos: volume $vol clusters of $csz on $new sectors"
	check "dos: the grown C: passes ntfsfix -n" ntfsfix -n "${DEV}p2"
	ntfs_tree "${DEV}p2" >"$TMP/dos.grown.tree"
	check "dos: the grown C: holds every file" diff "$TMP/dos.2.tree" "$TMP/dos.grown.tree"
}

roundtrip gpt 160
roundtrip dos 144
grown
refusals
