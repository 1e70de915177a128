#!/usr/bin/env bash
# Progress of backup, restore, verify and export (issue 13): through a pipe
# timestamped lines with bytes, rate and ETA, never "0 B/s" or "ETA -",
# no \r; under a pseudo-terminal (script) a bar redrawn in place, ended by
# a newline; -q: nothing on stderr; -v: more than without.  Time does not
# depend on the machine: ABUR_TEST_PROGRESS_TICK makes every reading of
# progress's clock one second later.
. "$TOP/tests/lib/common.sh"

src=$TMP/src
store=$TMP/store
mkdir -p "$store" "$src/opt/vms"
head -c $((4 * 1048576)) /dev/urandom >"$src/opt/vms/a.bin"
head -c $((2 * 1048576)) /dev/urandom >"$src/opt/vms/b.bin"
cat >"$TMP/abur.ini" <<EOF
[flash]
store = $store
mount = $TMP/mnt
[component software]
paths = /opt/vms
EOF
export ABUR_TEST_PROGRESS_TICK=1000
abur() { "$ABUR" -c "$TMP/abur.ini" --store "$store" "$@"; }
echo 0 >"$TMP/runs"
# args CMD: the arguments of one successful run of CMD, new each time (it
# runs in a subshell: the count is kept in a file)
args() {
	local n=$(($(cat "$TMP/runs") + 1))
	echo $n >"$TMP/runs"
	case $1 in
	backup) echo "$n" >>"$src/opt/vms/counter"; echo "backup --root $src" ;;
	restore) echo "restore software --to $TMP/r$n" ;;
	verify) echo "verify software" ;;
	export) echo "export software -o $TMP/x$n.tar.zst" ;;
	esac
}
# The stage a command's bytes are counted under.
stage_of() {
	case $1 in
	backup) echo "backup software" ;;
	restore) echo "restore software" ;;
	verify) echo "verify" ;;
	export) echo "export software" ;;
	esac
}
when='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [A-Za-z0-9+-]+'
size='[0-9.]+ (B|KiB|MiB|GiB)'

for cmd in backup restore verify export; do
	stage=$(stage_of $cmd)
	# ---- (a) through a pipe ----
	# shellcheck disable=SC2046 # args are words
	abur $(args $cmd) 2>"$TMP/err" | cat >"$TMP/out"
	bad=$(grep -Ev "^$when [a-z]+( [a-z]+)?: " "$TMP/err")
	lines=$(grep -Ec "^$when $stage: " "$TMP/err")
	if [ -z "$bad" ] && [ "$lines" -ge 3 ] &&
		grep -Eq "^$when $stage: $size of $size \([0-9]+%\), $size/s, ETA [0-9]+:[0-9]{2}$" "$TMP/err" &&
		grep -Eq "^$when $stage: $size of $size \(100%\)" "$TMP/err" &&
		! grep -q ' 0 B/s' "$TMP/err" && ! grep -q 'ETA -' "$TMP/err" && ! grep -q $'\r' "$TMP/err" &&
		[ "$(wc -l <"$TMP/out")" -ge 1 ] && ! grep -q ' ETA ' "$TMP/out"; then
		pass "$cmd through a pipe: $lines timestamped lines with bytes, rate, ETA; none 0 B/s or ETA -; result alone on stdout"
	else
		fail "$cmd through a pipe ($lines lines): bad: $bad; $(head -n 3 "$TMP/err" | tr '\n' '|')"
	fi
	# ---- (b) under a pseudo-terminal ----
	# shellcheck disable=SC2046
	script -qfec "$ABUR -c $TMP/abur.ini --store $store $(args $cmd)" /dev/null >"$TMP/tty"
	if python3 - "$TMP/tty" "$stage" <<'EOF'; then
import re, sys
data = open(sys.argv[1], "rb").read()
stage = sys.argv[2].encode()
redraws = re.findall(rb"\r" + re.escape(stage) + rb" +\[[#.]{24}\] [^\r\n]*\x1b\[K", data)
assert len(redraws) >= 3, data[-400:]
assert re.search(rb"\[#{24}\] [^\r\n]*\(100%\)[^\r\n]*\x1b\[K\r?\n", data), data[-400:]
assert data.endswith(b"\n"), data[-200:]
EOF
		pass "$cmd under a pseudo-terminal: the bar is redrawn in place and ends with a newline"
	else
		fail "$cmd under a pseudo-terminal: $(tail -c 300 "$TMP/tty" | od -c | tail -n 5 | tr '\n' ' ')"
	fi
	# ---- (c) -q: errors only ----
	# shellcheck disable=SC2046
	abur -q $(args $cmd) 2>"$TMP/err" >/dev/null
	rc=$?
	[ $rc = 0 ] && [ ! -s "$TMP/err" ] && pass "$cmd -q: nothing on stderr" ||
		fail "$cmd -q: rc=$rc, stderr: $(head -n 3 "$TMP/err")"
	# ---- (d) -v: says more ----
	# shellcheck disable=SC2046
	abur $(args $cmd) 2>"$TMP/err.plain" >/dev/null
	# shellcheck disable=SC2046
	abur -v $(args $cmd) 2>"$TMP/err.v" >/dev/null
	if [ "$(wc -l <"$TMP/err.v")" -gt "$(wc -l <"$TMP/err.plain")" ] &&
		grep -Eq "^$when $stage: started, $size$" "$TMP/err.v" &&
		grep -Eq "^$when $stage: ended: $size in [0-9]+:[0-9]{2}, $size/s$" "$TMP/err.v"; then
		pass "$cmd -v: a line as each stage starts and ends, more than without -v"
	else
		fail "$cmd -v: $(wc -l <"$TMP/err.v") lines vs $(wc -l <"$TMP/err.plain"): $(grep -E 'started|ended' "$TMP/err.v" | head -n 2)"
	fi
done

# A restore reads the generation three times: each pass shows its progress.
abur restore software --to "$TMP/passes" 2>"$TMP/err" >/dev/null
passes=$(grep -Eo "^$when [a-z]+ software: " "$TMP/err" | awk '{print $4}' | uniq | tr '\n' ' ')
[ "$passes" = "verify check restore " ] && pass "restore: the verify, check and write passes each show progress" ||
	fail "restore passes: $passes"
abur restore software --generation 1 --to "$TMP/passes1" 2>"$TMP/err" >/dev/null
passes=$(grep -Eo "^$when [a-z]+ software: " "$TMP/err" | awk '{print $4}' | uniq | tr '\n' ' ')
[ "$passes" = "verify check restore " ] && pass "restore --generation 1: the same three passes show progress" ||
	fail "restore --generation passes: $passes"

# On the real clock too: no 0 B/s, no ETA -, and the final line (100%).
unset ABUR_TEST_PROGRESS_TICK
abur export software -o "$TMP/real.tar.zst" 2>"$TMP/err" >/dev/null
if grep -Eq "^$when export software: $size of $size \(100%\)" "$TMP/err" && ! grep -q ' 0 B/s' "$TMP/err" &&
	! grep -q 'ETA -' "$TMP/err"; then
	pass "export on the real clock: the final line, no 0 B/s, no ETA -"
else
	fail "export on the real clock: $(cat "$TMP/err")"
fi

# --json: backup's and export's output stays one JSON document, even with
# stderr joined: no progress events in it (only seal, reimage and the
# agent write NDJSON, abur(8) JSON OUTPUT).
echo more >>"$src/opt/vms/counter"
abur --json backup --root "$src" >"$TMP/out" 2>&1
if python3 -c 'import json,sys; a = json.load(open(sys.argv[1])); assert a["components"][0]["result"] == "written"' "$TMP/out"; then
	pass "backup --json: the output is one JSON document, no progress events in it"
else
	fail "backup --json: $(head -c 300 "$TMP/out")"
fi
abur --json export software -o "$TMP/j.tar.zst" >"$TMP/out" 2>&1
if python3 -c 'import json,sys; a = json.load(open(sys.argv[1])); assert a["file"].endswith("j.tar.zst"), a' "$TMP/out"; then
	pass "export --json: the output is one JSON document, no progress events in it"
else
	fail "export --json: $(head -c 300 "$TMP/out")"
fi
