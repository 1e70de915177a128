# The flash initramfs carries what growing the last partition runs when the
# board grows it (grow_last_partition = yes): e2fsck, resize2fs and
# ntfsresize with their libraries, runnable in the initramfs's own root
# (chroot); a board that does not grow carries none of them.
. "$TOP/tests/lib/common.sh"
need_root "initramfs grow tools (build.sh makes device nodes)" || exit 0
for t in cpio zstd e2fsck resize2fs ntfsresize; do
	command -v "$t" >/dev/null || { skip "initramfs grow tools: $t missing (make deps)"; exit 0; }
done
if ! kdir=$("$TOP/scripts/kernel" --board "$TOP/board/qemu-x86_64" 2>"$TMP/kernel.log"); then
	skip "initramfs grow tools: no kernel package ($(tail -n 1 "$TMP/kernel.log"))"
	exit 0
fi

# build NAME GROW: an initramfs of the qemu board with grow_last_partition
# = GROW, unpacked into $TMP/NAME.
build() {
	local board=$TMP/board-$1
	mkdir -p "$board" "$TMP/$1"
	cp -a "$TOP/board/qemu-x86_64/." "$board"
	sed -i "s/^grow_last_partition = .*/grow_last_partition = $2/" "$board/abur.ini"
	ZSTD_LEVEL=1 "$TOP/initramfs/build.sh" --abur "$ABUR" --board "$board" --kernel "$kdir" \
		--out "$TMP/$1.img" >"$TMP/$1.log" 2>&1 || return 1
	(cd "$TMP/$1" && zstd -dc "$TMP/$1.img" | cpio -id --quiet)
}

if build grow yes; then
	missing=
	for t in e2fsck resize2fs ntfsresize; do
		[ -x "$TMP/grow/usr/sbin/$t" ] || missing="$missing $t"
	done
	[ -z "$missing" ] && pass "a growing board's initramfs holds e2fsck, resize2fs and ntfsresize" ||
		fail "initramfs grow tools missing:$missing"
	out=$(chroot "$TMP/grow" /usr/sbin/ntfsresize --version 2>&1)
	echo "$out" | grep -q "libntfs-3g" && pass "ntfsresize runs in the initramfs's root (its libraries are there)" ||
		fail "ntfsresize in the initramfs: $out"
	out=$(chroot "$TMP/grow" /usr/sbin/resize2fs 2>&1)
	echo "$out" | grep -q "^Usage: .*resize2fs" && pass "resize2fs runs in the initramfs's root" ||
		fail "resize2fs in the initramfs: $out"
else
	fail "initramfs build with grow: $(tail -n 3 "$TMP/grow.log")"
fi
if build keep no; then
	[ ! -e "$TMP/keep/usr/sbin/ntfsresize" ] && [ ! -e "$TMP/keep/usr/sbin/resize2fs" ] &&
		pass "a board that does not grow carries no grow tools" || fail "grow tools in a non-growing initramfs"
else
	fail "initramfs build without grow: $(tail -n 3 "$TMP/keep.log")"
fi
