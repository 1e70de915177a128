# shellcheck shell=bash
# The error rule (doc/design.md §11): every failure return in src/ records
# its message, so abur_errmsg() never shows a stale one.
. "$TOP/tests/lib/common.sh"
cd "$TOP" || exit 1
check "every failure return records its message (scripts/check-errors)" scripts/check-errors

# The check itself must catch a bare return, and pass a recorded one.
mkdir -p "$TMP/src/core"
printf 'int f(int fd)\n{\n\tif (fd < 0)\n\t\treturn -errno;\n\treturn 0;\n}\n' >"$TMP/src/core/bare.c"
out=$(scripts/check-errors "$TMP/src" 2>&1) && fail "check-errors missed a bare return: $out" ||
	{ echo "$out" | grep -q "core/bare.c:4: f:" && pass "check-errors names a bare -errno return" ||
		fail "check-errors: $out"; }
printf 'int f(int fd)\n{\n\tif (fd < 0)\n\t\treturn abur_fail(-errno, "x: %%m");\n\treturn 0;\n}\n' >"$TMP/src/core/bare.c"
check "check-errors passes a recorded one" scripts/check-errors "$TMP/src"
