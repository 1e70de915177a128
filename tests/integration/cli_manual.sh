# abur(8) is the one text of every command: `abur help COMMAND` prints the
# command's sections of it (scripts/man2help).  Every command has a section
# with its options and examples, every option a command parses is in its
# section, the page renders without a warning and has the disaster-recovery
# walkthrough, and make install puts both pages and the completion where
# man and bash-completion look.
. "$TOP/tests/lib/common.sh"
cd "$TOP" || exit
PAGE=doc/abur.8

# src_options CMD: the long options src/cmd/cmd_CMD.c parses (its struct
# option table), "--name" one a line.
src_options() {
	[ -f "src/cmd/cmd_$1.c" ] || return 0
	awk '/struct option opts\[\] = \{/ { t = 1 } t { print } t && /\};/ { t = 0 }' "src/cmd/cmd_$1.c" |
		grep -oE '\{"[a-z][a-z-]*", (no|required|optional)_argument' | sed -E 's/^\{"([^"]*)".*/--\1/'
}

# undocumented CMD HELP: the options of CMD that have no entry of their
# own in HELP (a line "  --name ..." or "  -x, --name ...", as .TP renders).
undocumented() {
	local o
	for o in $(src_options "$1"); do
		grep -qE -- "^  (-[a-z], )?$o([= ]|$)" <<<"$2" || printf '%s ' "$o"
	done
}

cmds=$("$ABUR" help --commands)
check "manual: abur help --commands lists the commands" grep -qx reimage <<<"$cmds"
for c in $cmds; do
	help=$("$ABUR" help "$c")
	check "manual: abur help $c prints its section of $PAGE" grep -q "^abur $c" <<<"$help"
	missing=$(undocumented "$c" "$help")
	check "manual: every option of $c has an entry in its section${missing:+ (missing: $missing)}" test -z "$missing"
	case $c in help | version) ;; *)
		check "manual: the section of $c has examples" grep -q '^  Example' <<<"$help"
		;;
	esac
done

# The check can fail: a page without reimage's --dry-run entry names it.
sed '/^\.B \\-\\-dry\\-run$/,+3d' "$PAGE" >"$TMP/abur.8"
sect=$(awk -v only=reimage -f scripts/man2help "$TMP/abur.8")
check "manual: a section without --dry-run is caught" test "$(undocumented reimage "$sect")" = "--dry-run "

# The generated table is what this page says (the build regenerates it).
check "manual: build/gen/manhelp.h is doc/abur.8 rendered" \
	cmp -s <(awk -f scripts/man2help "$PAGE") "$(dirname "$ABUR")/gen/manhelp.h"

for s in COMMANDS 'DISASTER RECOVERY' 'EXIT STATUS' 'SEE ALSO'; do
	check "manual: $PAGE has the section $s" grep -qE "^\.SH \"?$s\"?$" "$PAGE"
done
if command -v groff >/dev/null; then
	out=$(groff -man -Tutf8 -ww -z "$PAGE" 2>&1)
	check "manual: groff -man -ww renders $PAGE without a warning${out:+: $out}" test -z "$out"
else
	skip "manual: groff not installed, the page's rendering is not checked"
fi

# Every example command line of the page names a command abur has.
bad=$(awk '/^\.nf$/ { t = 1; next } /^\.fi$/ { t = 0 } t && $1 == "abur" { print }' "$PAGE" |
	sed -E 's/^abur( (-c|--store) [^ ]+| -q| --json)*//' | awk '{ print $1 }' | sort -u |
	while read -r w; do grep -qx "$w" <<<"$cmds" || printf '%s ' "$w"; done)
check "manual: every example runs a command abur has${bad:+ (not: $bad)}" test -z "$bad"

# make install puts the pages and the completion where man and bash look.
make -s install DESTDIR="$TMP/root" BUILD="$(dirname "$ABUR")" >"$TMP/install.log" 2>&1
for f in usr/share/man/man8/abur.8 usr/share/man/man5/abur.ini.5 usr/share/bash-completion/completions/abur; do
	check "manual: make install puts /$f" test -s "$TMP/root/$f"
done
