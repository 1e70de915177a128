#!/usr/bin/env bash
# The fuzzers (tests/fuzz/): build them with clang, run each one's
# regression inputs once, then fuzz each for FUZZ_TEST_TIME seconds (30)
# with a fixed seed over a scratch copy of its seed corpus.  Any crash,
# leak or timeout fails.  SKIP when clang or its libFuzzer runtime is
# missing (scripts/deps installs both).
# shellcheck source=../lib/common.sh
. "$TOP/tests/lib/common.sh"

cc=${FUZZ_CC:-clang}
build=${ABUR%/abur}
build=${build#"$TOP"/}
names="config manifest osidx layout state restore walk"

if ! command -v "$cc" >/dev/null; then
	for n in $names; do skip "fuzz $n: no $cc (Debian package clang)"; done
	exit 0
fi
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }\n' >"$TMP/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$TMP/probe" "$TMP/probe.c" >"$TMP/probe.log" 2>&1; then
	for n in $names; do skip "fuzz $n: $cc has no libFuzzer runtime (Debian package libclang-rt-dev)"; done
	exit 0
fi
if ! make -C "$TOP" --no-print-directory BUILD="$build" FUZZ_CC="$cc" fuzz-build >"$TMP/build.log" 2>&1; then
	fail "fuzz: make fuzz-build: $(tail -n 3 "$TMP/build.log" | tr '\n' ' ')"
	exit 0
fi
# The store is a sandbox now: the walk fuzzer makes FIFOs and symlinks too.
export ABUR_FUZZ_WALK_SPECIAL=1
# shellcheck disable=SC2086
"$TOP/tests/fuzz/run" --time "${FUZZ_TEST_TIME:-30}" --seed 1 "$TOP/$build/fuzz" $names
exit 0
