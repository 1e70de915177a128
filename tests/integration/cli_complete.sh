# The bash completion (completion/abur): sourced in a plain bash (no
# bash-completion package), it offers the commands, a command's options,
# the components of the -c abur.ini and the generations of a real store
# made with abur backup; it is quiet without a store; make install puts it
# where bash-completion looks.
. "$TOP/tests/lib/common.sh"

store=$TMP/store
mkdir -p "$store" "$TMP/src/etc/vms" "$TMP/src/opt/vms"
cat >"$TMP/abur.ini" <<EOF2
[flash]
store = $store
mount = $TMP/mnt
[component config]
paths = /etc/vms
[component software]
paths = /opt/vms
EOF2
echo 1 >"$TMP/src/etc/vms/a.conf"
echo 1 >"$TMP/src/opt/vms/bin"

# complete WORD...: what the completion offers for the command line
# "abur WORD..." with the cursor on its last word, sorted, on one line.
complete_words() {
	ABUR=$ABUR bash -c '
		. "$1/completion/abur" || exit 1
		shift
		COMP_WORDS=("$ABUR" "$@")
		COMP_CWORD=$#
		_abur
		[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' - "$TOP" "$@" 2>&1
}
# expect NAME REGEX WORD...: the offered words match the extended regex.
expect() {
	local name=$1 re=$2 out
	shift 2
	out=$(complete_words "$@")
	if echo "$out" | grep -Eq -e "$re"; then pass "$name"; else fail "$name: offered '$out'"; fi
}

expect "abur <TAB> offers the commands" '^(\S+ )*backup (\S+ )*ls (\S+ )*restore ' ''
expect "abur re<TAB> offers reimage and restore only" '^reimage restore $' re
expect "abur restore --<TAB> offers its options" '--exact (\S+ )*--generation (\S+ )*--to ' restore --
expect "abur backup --<TAB> offers its options" '--root (\S+ )*--trigger ' backup --
case $(complete_words restore --) in
*--root* | *--disk*) fail "abur restore --<TAB> offers other commands' options: $(complete_words restore --)" ;;
*) pass "abur restore --<TAB> leaves out other commands' options" ;;
esac
expect "abur backup <TAB> offers the configured components" '^config software $' -c "$TMP/abur.ini" backup ''
expect "abur restore --generation N <TAB> still offers the components" '^config software $' \
	-c "$TMP/abur.ini" restore --generation 1 ''
expect "abur --config=FILE list s<TAB> offers software" '^software $' --config="$TMP/abur.ini" list s
expect "abur help <TAB> offers the commands" '(^| )verify ' help ''
expect "abur restore config --generation <TAB> without a store is quiet" '^$' \
	-c "$TMP/abur.ini" --store "$TMP/nostore" restore config --generation ''

BIN=$ABUR
check "backup 1" "$BIN" -c "$TMP/abur.ini" --store "$store" backup config --root "$TMP/src"
echo 2 >"$TMP/src/etc/vms/a.conf"
check "backup 2" "$BIN" -c "$TMP/abur.ini" --store "$store" backup config --root "$TMP/src"
expect "abur restore config --generation <TAB> offers the stored generations" '^g000001 g000002 $' \
	-c "$TMP/abur.ini" --store "$store" restore config --generation ''
expect "abur restore config --generation g<TAB> after other options" '^g000001 g000002 $' \
	-c "$TMP/abur.ini" --store "$store" restore config --to /x --generation g
expect "abur diff config <TAB> offers the generations (A)" '^g000001 g000002 $' \
	-c "$TMP/abur.ini" --store "$store" diff config ''
expect "abur diff config g000001 <TAB> offers the generations (B)" '^g000001 g000002 $' \
	-c "$TMP/abur.ini" --store "$store" diff config g000001 ''
expect "abur diff config 1 2 <TAB> offers nothing more" '^$' \
	-c "$TMP/abur.ini" --store "$store" diff config 1 2 ''
check "backup --tag before-9.2" "$BIN" -c "$TMP/abur.ini" --store "$store" backup config --root "$TMP/src" \
	--tag before-9.2
expect "abur restore config --generation <TAB> offers the tags too" '^before-9.2 g000001 g000002 g000003 $' \
	-c "$TMP/abur.ini" --store "$store" restore config --generation ''
expect "abur diff config before-9.2 <TAB> offers the generations (B)" '^before-9.2 g000001 ' \
	-c "$TMP/abur.ini" --store "$store" diff config before-9.2 ''
expect "abur forget <TAB> offers the configured components" '^config software $' -c "$TMP/abur.ini" forget ''
expect "abur prune --<TAB> offers --dry-run" '--dry-run' prune --

if make -C "$TOP" --no-print-directory -s install DESTDIR="$TMP/d" >"$TMP/install.log" 2>&1 &&
	cmp -s "$TOP/completion/abur" "$TMP/d/usr/share/bash-completion/completions/abur"; then
	pass "make install DESTDIR puts the completion where bash-completion looks"
else
	fail "make install: $(tail -3 "$TMP/install.log")"
fi
