# House rules for shell (doc/design.md §13): `shellcheck -S warning` is
# clean over every shell file of the tree (.shellcheckrc names what it
# disables, and why), and no `rm -r` takes an unguarded "$var/..." (it
# must be "${var:?}/...").  The file list is computed: every tracked or
# new file named *.sh or with a sh/bash shebang.
. "$TOP/tests/lib/common.sh"
cd "$TOP" || exit

if ! command -v shellcheck >/dev/null; then
	skip "shell: shellcheck not installed (make deps installs it)"
	exit 0
fi

# shell_files: the tree's shell files, one per line.
shell_files() {
	local f
	{ git ls-files --cached --others --exclude-standard 2>/dev/null ||
		find . -path ./build -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||'; } |
		while IFS= read -r f; do
			[ -f "$f" ] || continue
			case "$f" in
			*.sh) echo "$f" ;;
			*) head -n 1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da|a)?sh( |$)' && echo "$f" ;;
			esac
		done
}

# house_lint FILE...: prints every finding, one per line; fails if any.
house_lint() {
	local sc rm
	sc=$(shellcheck -S warning -f gcc "$@" 2>&1)
	rm=$(grep -nHE '\brm +-[a-zA-Z]*r[a-zA-Z]* [^;&|]*"\$[A-Za-z_][A-Za-z0-9_]*/' "$@" |
		sed 's/$/ [rm] an unguarded "$var\/..." (use "${var:?}\/...")/')
	[ -z "$sc$rm" ] || { printf '%s\n' "$sc" "$rm" | grep .; return 1; }
}

mapfile -t files < <(shell_files)
missing=
for f in tests/run tests/lib/common.sh tests/integration/house_shell.sh initramfs/init qemu/lib.sh scripts/deps; do
	printf '%s\n' "${files[@]}" | grep -qxF "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
	fail "shell: the file list misses$missing"
elif printf '%s\n' "${files[@]}" | grep -q '\.py$'; then
	fail "shell: the file list holds python scripts: $(printf '%s\n' "${files[@]}" | grep '\.py$' | tr '\n' ' ')"
else
	pass "shell: the file list finds shell files by name and by shebang (${#files[@]} files)"
fi

if out=$(house_lint "${files[@]}"); then
	pass "shell: shellcheck -S warning and the rm -r guard are clean over ${#files[@]} files"
else
	fail "shell: $(echo "$out" | wc -l) findings: $(echo "$out" | head -n 8 | tr '\n' ' ')"
fi

# The lint can fail: a file breaking each rule, checked with the tree's
# .shellcheckrc (whose disabled checks must stay quiet).  The probe is
# written with @ for $, so this file does not break the rules itself.
mkdir -p "$TMP/probe"
cp .shellcheckrc "$TMP/probe/"
sed 's/@/$/g' >"$TMP/probe/bad.sh" <<'EOF'
tidy() {
	local dir= n=
	cd "@1"
	rm -rf "@dir/cache"
	n=@(ls | grep -c tmp)
	echo "@n"
}
EOF
out=$(house_lint "$TMP/probe/bad.sh")
rc=$?
want="SC2164 SC2010 rm"
got=$(echo "$out" | grep -oE '\[(SC[0-9]+|rm)\]' | tr -d '[]' | tr '\n' ' ')
if [ $rc = 0 ]; then
	fail "shell: the lint passes a file with an unchecked cd, ls | grep and an unguarded rm -rf"
elif [ "$got" != "$want " ]; then
	fail "shell: the lint reports '$got' instead of '$want' on the probe: $(echo "$out" | tr '\n' ' ')"
else
	pass "shell: the lint fails a file with an unchecked cd (SC2164), ls | grep (SC2010) and an unguarded rm -rf"
fi
