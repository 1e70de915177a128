# doc/abur.ini.5 keeps up with the configuration tables: every key of
# src/core/config.c's sections (flash_keys[] ... restore_keys[], comp_keys[])
# has its own entry (".TP" then ".B key") under its section's ".SH [name]"
# heading, the page renders without a warning, and its examples parse.
. "$TOP/tests/lib/common.sh"
cd "$TOP" || exit
PAGE=doc/abur.ini.5

# table_keys: "section.key" for every row of the tables, from the source.
table_keys() {
	awk '
		/^static const struct field [a-z_]+\[\] = \{/ { t = $5; sub(/\[\]/, "", t); next }
		t && /^\};/ { t = ""; next }
		t && match($0, /^ *(G|C|C_ENUM|C_LIST)\("[a-z_]+"/) {
			k = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", k); sub(/"$/, "", k); keys[t] = keys[t] " " k
		}
		{ while (match($0, /SECTION\("[a-z]+", [a-z_]+\)/)) {
			s = substr($0, RSTART + 9, RLENGTH - 10); $0 = substr($0, RSTART + RLENGTH)
			split(s, a, /", /); tab[a[1]] = a[2] } }
		END { for (s in tab) { n = split(keys[tab[s]], ks, " "); for (i = 1; i <= n; i++) print s "." ks[i] } }
	' src/core/config.c | sort
}

# page_keys FILE: "section.key" for every ".TP" / ".B key" entry of the page.
page_keys() {
	awk '
		/^\.SH \[/ { s = $2; sub(/^\[/, "", s); sub(/\]$/, "", s); next }
		/^\.SH / { s = ""; next }
		/^\.TP$/ { tp = 1; next }
		tp && s && /^\.B [a-z_]+$/ { print s "." $2 }
		{ tp = 0 }
	' "$1" | sort -u
}

# undocumented FILE: the table keys FILE has no entry for, one per line.
undocumented() {
	comm -23 <(table_keys) <(page_keys "$1")
}

keys=$(table_keys)
if [ "$(printf '%s\n' "$keys" | grep -c .)" -ge 20 ] && printf '%s\n' "$keys" | grep -qx 'component.quiet' &&
	printf '%s\n' "$keys" | grep -qx 'schedule.defer_if_changed_within'; then
	pass "inidoc: $(printf '%s\n' "$keys" | grep -c .) keys read from src/core/config.c"
else
	fail "inidoc: could not read the key tables of src/core/config.c: $(printf '%s' "$keys" | tr '\n' ' ')"
fi

missing=$(undocumented "$PAGE")
check "inidoc: every key has an entry in $PAGE${missing:+ (missing: $(printf '%s' "$missing" | tr '\n' ' '))}" \
	test -z "$missing"

# The check can fail: a copy of the page without the quiet entry names it.
sed '/^\.B quiet$/d' "$PAGE" >"$TMP/page.5"
check "inidoc: a page without 'quiet' is caught" grep -qx component.quiet <(undocumented "$TMP/page.5")

if command -v groff >/dev/null; then
	out=$(groff -man -Tutf8 -ww -z "$PAGE" 2>&1)
	check "inidoc: groff -man -ww renders $PAGE without a warning${out:+: $out}" test -z "$out"
else
	skip "inidoc: groff not installed, the page's rendering is not checked"
fi

# Every example block (.nf ... .fi) is accepted by abur config check.
awk -v dir="$TMP" '/^\.nf$/ { n++; f = dir "/example" n ".ini"; next } /^\.fi$/ { f = ""; next } f { print > f }' "$PAGE"
n=0
for f in "$TMP"/example*.ini; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	out=$("$ABUR" -c "$f" config check 2>&1 >/dev/null)
	check "inidoc: example $(basename "$f") parses${out:+: $out}" test -z "$out"
done
check "inidoc: the page has examples" test "$n" -ge 2
