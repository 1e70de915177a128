# Kconfig: defconfigs per board, olddefconfig, the generated header, and a
# build with a feature switched off (in a copy of the tree).
. "$TOP/tests/lib/common.sh"
src=$TMP/src
mkdir -p "$src"
(cd "$TOP" && tar --exclude=./build --exclude=./.config --exclude=./include/config \
	--exclude=./include/generated --exclude=./qemu/cache --exclude=./.git -cf - .) | tar -xf - -C "$src"
cd "$src" || exit

make -s qemu-x86_64_defconfig >/dev/null 2>&1 && grep -q '^CONFIG_BOARD="qemu-x86_64"' .config &&
	pass "make qemu-x86_64_defconfig" || fail "qemu-x86_64_defconfig"
make -s generic-x86_64_defconfig >/dev/null 2>&1 && grep -q '^CONFIG_BOARD="generic-x86_64"' .config &&
	pass "make generic-x86_64_defconfig" || fail "generic-x86_64_defconfig"
make -s olddefconfig >/dev/null 2>&1 && grep -q '^CONFIG_ZSTD_LEVEL=3' .config &&
	pass "make olddefconfig keeps defaults" || fail "olddefconfig"

# A build with the image feature off: seal/reimage/probe say they are missing.
sed -i 's/^CONFIG_IMAGE=y/# CONFIG_IMAGE is not set/' .config
make -s olddefconfig >/dev/null 2>&1
if make -s BUILD="$TMP/b" all >"$TMP/build.log" 2>&1; then
	grep -q '^#define CONFIG_IMAGE' include/generated/autoconf.h && fail "CONFIG_IMAGE still in autoconf.h" ||
		pass "generated header follows .config"
	out=$("$TMP/b/abur" seal --disk /dev/null 2>&1); rc=$?
	[ $rc = 1 ] && echo "$out" | grep -q "not available in this build" &&
		pass "a command not built exits 1 saying so" || fail "seal without CONFIG_IMAGE: rc=$rc $out"
	"$TMP/b/abur" help seal | grep -q "Not available in this build" &&
		pass "its help says so too" || fail "help seal does not say it is missing"
	"$TMP/b/abur" --version | grep -q -- '-image' && pass "--version lists -image" || fail "--version features"
	# The unit tests of what is built link and pass; test_image is left out.
	if make -s BUILD="$TMP/b" unit >"$TMP/unit.log" 2>&1; then
		bad=
		for t in "$TMP"/b/tests/test_*; do "$t" >>"$TMP/unit.log" 2>&1 || bad="$bad $(basename "$t")"; done
		if [ -e "$TMP/b/tests/test_image" ]; then fail "test_image built without CONFIG_IMAGE"
		elif [ -n "$bad" ]; then fail "unit tests without CONFIG_IMAGE failed:$bad"
		else pass "unit tests without CONFIG_IMAGE link and pass ($(ls "$TMP"/b/tests | wc -l) suites)"; fi
	else
		fail "unit tests without CONFIG_IMAGE: $(grep -m 3 -E 'error|undefined' "$TMP/unit.log")"
	fi
else
	fail "build without CONFIG_IMAGE: $(tail -5 "$TMP/build.log")"
fi

# No .config at all: the default board is used.
rm -f .config
make -s BUILD="$TMP/c" all >"$TMP/build2.log" 2>&1 && grep -q 'CONFIG_BOARD="qemu-x86_64"' .config &&
	pass "no .config builds the default board" || fail "default board build: $(tail -3 "$TMP/build2.log")"

# The default link: libarchive, zstd and inih static, and with them none of
# what Debian's libarchive.so drags in (libxml2, ICU, libstdc++).
if [ -x "$TMP/c/abur" ]; then
	deps=$(ldd "$TMP/c/abur" | awk '{print $1}' | tr '\n' ' ')
	case "$deps" in
	*libarchive* | *libxml2* | *libicu* | *libstdc++* | *libzstd* | *libinih*)
		fail "CONFIG_LINK_STATIC_ARCHIVE: still loads: $deps" ;;
	*) pass "static libarchive: the binary loads no libxml2/ICU/libstdc++" ;;
	esac
	"$TMP/c/abur" --version | grep -q libarchive && pass "--version names the libarchive linked in" ||
		fail "--version: $("$TMP/c/abur" --version | head -3)"
fi

# Kconfig newer than .config: make takes the new options' defaults (olddefconfig).
sed -i '/CONFIG_LINK_STATIC_ARCHIVE/d' .config && touch Kconfig
make -s BUILD="$TMP/c" all >"$TMP/build3.log" 2>&1 && grep -q '^CONFIG_LINK_STATIC_ARCHIVE=y' .config &&
	pass "a newer Kconfig updates .config with its defaults" || fail "olddefconfig on Kconfig change: $(tail -3 "$TMP/build3.log")"

# The NTFS method follows its library: on by default (libntfs-3g linked,
# --version says +ntfs); off, the image feature still builds and its unit
# test passes with the ntfs row gone (an NTFS partition is then raw).
if [ -x "$TMP/c/abur" ]; then
	ldd "$TMP/c/abur" | grep -q libntfs-3g && "$TMP/c/abur" --version | grep -q -- '+ntfs' &&
		pass "CONFIG_IMAGE_NTFS (default): libntfs-3g linked, --version says +ntfs" ||
		fail "CONFIG_IMAGE_NTFS default: $(ldd "$TMP/c/abur" | grep -c ntfs) ntfs libs; $("$TMP/c/abur" --version | head -2)"
fi
sed -i 's/^CONFIG_IMAGE_NTFS=y/# CONFIG_IMAGE_NTFS is not set/' .config
if make -s BUILD="$TMP/d" all "$TMP/d/tests/test_image" >"$TMP/build4.log" 2>&1; then
	! ldd "$TMP/d/abur" | grep -q libntfs-3g && "$TMP/d/abur" --version | grep -q -- '-ntfs' &&
		pass "without CONFIG_IMAGE_NTFS: no libntfs-3g, --version says -ntfs" ||
		fail "without CONFIG_IMAGE_NTFS: $(ldd "$TMP/d/abur" | grep ntfs) $("$TMP/d/abur" --version | head -2)"
	"$TMP/d/tests/test_image" >"$TMP/unit4.log" 2>&1 && pass "without CONFIG_IMAGE_NTFS: test_image passes" ||
		fail "without CONFIG_IMAGE_NTFS: test_image: $(grep -m 3 -iE 'fail|error' "$TMP/unit4.log")"
else
	fail "build without CONFIG_IMAGE_NTFS: $(tail -5 "$TMP/build4.log")"
fi
