# The abur CLI: help, version, config check, exit statuses.
. "$TOP/tests/lib/common.sh"
ini=$TOP/board/qemu-x86_64/abur.ini

check "--help lists every command" sh -c "'$ABUR' --help | grep -q '^  reimage '"
check "--version shows features" sh -c "'$ABUR' --version | grep -q '^features: .*image'"
check "help CMD shows its usage" sh -c "'$ABUR' help restore | grep -q 'usage: abur .*restore COMPONENT'"
"$ABUR" help nosuch >/dev/null 2>&1; [ $? = 2 ] && pass "help of an unknown command exits 2" || fail "help nosuch did not exit 2"
"$ABUR" frobnicate >/dev/null 2>&1; [ $? = 2 ] && pass "unknown command exits 2" || fail "unknown command did not exit 2"

for b in "$TOP"/board/*/; do
	check "board $(basename "$b") abur.ini is valid" "$ABUR" config check -c "$b/abur.ini"
done
check "config check --json is JSON" sh -c "'$ABUR' -c '$ini' config check --json | python3 -m json.tool >/dev/null"
check "-c after the command works" sh -c "'$ABUR' config check -c '$ini' | grep -q '^\[component config\]'"

printf '[schedule]\nnightly = 00:00\ndefer_if_changed_within = 60x\n' >"$TMP/bad.ini"
out=$("$ABUR" config check -c "$TMP/bad.ini" 2>&1); rc=$?
if [ $rc = 2 ] && echo "$out" | grep -q "bad.ini:3: defer_if_changed_within = 60x: bad duration"; then
	pass "bad config exits 2 naming file and line"
else
	fail "bad config: rc=$rc out=$out"
fi
out=$("$ABUR" -c /nonexistent.ini config check 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q /nonexistent.ini && pass "missing config file exits 2 naming it" ||
	fail "missing config: rc=$rc out=$out"
out=$(ABUR_IO_FAULT=bogus "$ABUR" --version 2>&1); rc=$?
[ $rc = 2 ] && pass "bad ABUR_IO_FAULT is a usage error" || fail "ABUR_IO_FAULT=bogus: rc=$rc"

# make install into a DESTDIR
if make -C "$TOP" --no-print-directory -s install DESTDIR="$TMP/dest" >"$TMP/install.log" 2>&1 &&
	[ -x "$TMP/dest/usr/sbin/abur" ] && [ -f "$TMP/dest/etc/abur/abur.ini" ] &&
	[ -f "$TMP/dest/usr/share/man/man8/abur.8" ]; then
	pass "make install DESTDIR installs binary, abur.ini and abur(8)"
else
	fail "make install: $(tail -3 "$TMP/install.log")"
fi
if command -v man >/dev/null && [ -f "$TOP/doc/abur.8" ]; then
	check "abur(8) renders without warnings" sh -c "MANWIDTH=80 man --warnings -l '$TOP/doc/abur.8' 2>&1 >/dev/null | (! grep .)"
fi
