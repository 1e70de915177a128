# abur config get / resolve: what initramfs/init asks abur instead of
# parsing abur.ini itself.
. "$TOP/tests/lib/common.sh"
ini=$TOP/board/qemu-x86_64/abur.ini

# expect NAME RC REGEX CMD...: CMD exits RC and its output (stdout and
# stderr) matches the extended regex REGEX.
expect() {
	local name=$1 want=$2 re=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && echo "$out" | grep -Eq -e "$re"; then pass "$name"; else fail "$name: exit $rc: $out"; fi
}

expect "config get flash.store" 0 '^LABEL=ABUR-STORE$' "$ABUR" -c "$ini" config get flash.store
expect "config get disk.system" 0 '^slot:0000:00:04\.0$' "$ABUR" -c "$ini" config get disk.system
expect "config get prints a duration as check does" 0 '^1h$' \
	"$ABUR" -c "$ini" config get schedule.defer_if_changed_within
expect "config get of an unset key prints an empty line" 0 '^$' "$ABUR" -c "$ini" config get daemon.metrics
expect "config get of an unknown key exits 2 naming it" 2 "no key 'disk\.nosuch'" \
	"$ABUR" -c "$ini" config get disk.nosuch
expect "config get without a section exits 2" 2 "no key 'store'" "$ABUR" -c "$ini" config get store
expect "config get without a key is a usage error" 2 "usage: abur config" "$ABUR" -c "$ini" config get

printf '[flash]\nstore = LABEL=ABUR-STORE\n[disk]\nsystem =\n' >"$TMP/empty.ini"
expect "config get on a broken abur.ini names file, line and problem" 2 \
	"empty\.ini:4: system is empty: expected a value" "$ABUR" -c "$TMP/empty.ini" config get flash.store
printf '[flash]\nstore = LABEL=ABUR-STORE\nstore\n' >"$TMP/syntax.ini"
expect "config resolve on a broken abur.ini names file and line" 2 "syntax\.ini:3: " \
	"$ABUR" -c "$TMP/syntax.ini" config resolve flash.store
expect "config resolve with a missing abur.ini names it" 2 "/nonexistent\.ini" \
	"$ABUR" -c /nonexistent.ini config resolve flash.store

mkdir -p "$TMP/store"
printf '[flash]\nstore = %s\n[disk]\nsystem = serial:NO-SUCH-DISK\n' "$TMP/store" >"$TMP/dir.ini"
expect "config resolve of a directory store prints it" 0 "^$TMP/store\$" \
	"$ABUR" -c "$TMP/dir.ini" config resolve flash.store
expect "config resolve of an absent system disk exits 1 naming the spec" 1 \
	"no system disk found for \[disk\] system = serial:NO-SUCH-DISK" \
	"$ABUR" -c "$TMP/dir.ini" config resolve disk.system
printf '[flash]\nstore = LABEL=NO-SUCH-LABEL-%s\n' $$ >"$TMP/nolabel.ini"
expect "config resolve of an absent label exits 1 naming it" 1 "no device with LABEL=NO-SUCH-LABEL-" \
	"$ABUR" -c "$TMP/nolabel.ini" config resolve flash.store
expect "config resolve of a key that names no device is a usage error" 2 "cannot resolve 'schedule\.nightly'" \
	"$ABUR" -c "$ini" config resolve schedule.nightly

if need_root "config resolve of a LABEL= store"; then
	label=ABUR-T$$
	truncate -s 8M "$TMP/fs.img"
	mkfs.ext4 -q -F -L "$label" "$TMP/fs.img"
	dev=$(make_loop "$TMP/fs.img")
	printf '[flash]\nstore = LABEL=%s\n[disk]\nsystem = %s\n' "$label" "$dev" >"$TMP/label.ini"
	expect "config resolve of a LABEL= store prints its device" 0 "^$dev\$" \
		"$ABUR" -c "$TMP/label.ini" config resolve flash.store
	expect "config resolve of a device path system disk prints it" 0 "^$dev\$" \
		"$ABUR" -c "$TMP/label.ini" config resolve disk.system
fi
