# Command-line values that end up in a manifest (--trigger) or select a
# generation are checked at the command line: a bad one is a usage error
# (exit 2) naming it, escaped, and nothing is written.
. "$TOP/tests/lib/common.sh"

mkdir -p "$TMP/store" "$TMP/src"
echo "a = 1" >"$TMP/src/vms.conf"
cat >"$TMP/abur.ini" <<EOF
[flash]
store = $TMP/store
mount = $TMP/mnt
[daemon]
state_dir = $TMP/state
event_log = $TMP/events.jsonl
[component config]
paths = $TMP/src
EOF
A=("$ABUR" -c "$TMP/abur.ini")

# expect_usage NAME PATTERN CMD...: exit 2, the message matches PATTERN.
expect_usage() {
	local name=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1); rc=$?
	if [ $rc = 2 ] && printf '%s' "$out" | grep -qF -- "$pat"; then
		pass "$name"
	else
		fail "$name: rc=$rc $(printf '%s' "$out" | head -2 | tr '\n' ' ')"
	fi
}

expect_usage "--trigger with a newline: exit 2 naming it" "--trigger 'a\\x0ab'" "${A[@]}" backup --trigger "$(printf 'a\nb')"
expect_usage "--trigger with an escape character" "--trigger 'x\\x1b[2J'" "${A[@]}" backup --trigger "$(printf 'x\033[2J')"
expect_usage "--trigger with '['" "--trigger '[generation]'" "${A[@]}" backup --trigger "[generation]"
expect_usage "--trigger with '='" "--trigger 'seq = 9'" "${A[@]}" backup --trigger "seq = 9"
expect_usage "--trigger too long" "must be 1 to 64 characters" "${A[@]}" backup --trigger "$(printf '%065d' 0)"
expect_usage "--trigger empty" "--trigger ''" "${A[@]}" backup --trigger ""
expect_usage "--trigger with a space at the end" "no space at either end" "${A[@]}" backup --trigger "pre "
[ -z "$(find "$TMP/store" -name manifest.ini)" ] && pass "no bad --trigger wrote a generation" ||
	fail "a generation was written: $(find "$TMP/store" -name manifest.ini)"

out=$("${A[@]}" backup --trigger "pre-upgrade 2.1" 2>&1); rc=$?
if [ $rc = 0 ] && grep -q "^trigger = pre-upgrade 2.1\$" "$TMP"/store/abur/config/g*/manifest.ini; then
	pass "a good --trigger with a space inside is stored as given"
else
	fail "good --trigger: rc=$rc $out"
fi

expect_usage "component name with control characters is named escaped" "no component 'co\\x1b[2Jnf'" \
	"${A[@]}" backup "$(printf 'co\033[2Jnf')"
expect_usage "list NAME neither stored nor configured: exit 2 naming it" "no component 'nosuch'" "${A[@]}" list nosuch
expect_usage "verify NAME neither stored nor configured: exit 2 naming it" "no component 'nosuch'" "${A[@]}" verify nosuch
check "list of a configured component works" "${A[@]}" list config
for g in 5/x 0 .g 99999999999999999999999 9223372036854775808 -1 ""; do
	expect_usage "verify --generation '$g': exit 2 naming it" "--generation '$g'" "${A[@]}" verify --generation "$g"
done
expect_usage "restore --generation with trailing junk" "--generation '1 '" "${A[@]}" restore config --generation "1 " --to "$TMP/r"
check "verify --generation g000001 still works" "${A[@]}" verify --generation g000001
if "$ABUR" --version | grep -q "^features: .*agent"; then
	expect_usage "agent --timeout beyond a day (would wrap)" "--timeout '5000000000s'" "$ABUR" agent --timeout 5000000000s
fi
