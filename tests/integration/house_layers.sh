# Layers only point down: scripts/check-layers applies doc/design.md §2's
# table to every #include of src/, and reports an edge the table refuses.
. "$TOP/tests/lib/common.sh"
cd "$TOP" || exit 1
check "every src/ include is allowed by the layer table" scripts/check-layers

# The check can fail: a copy of the tree with a private header included
# across modules, an upward edge and an unlisted header.
cp -r src "$TMP/src"
printf '#include "image/imgint.h"\n' >>"$TMP/src/agent/report.c"
line=$(wc -l <"$TMP/src/agent/report.c")
printf '#include "agent/agent.h"\n' >>"$TMP/src/store/store.c"
touch "$TMP/src/watch/new.h"
out=$(scripts/check-layers --src "$TMP/src" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -qx "$TMP/src/agent/report.c:$line: agent may not include image/imgint.h" &&
	echo "$out" | grep -q "src/store/store.c:[0-9]*: store may not include agent/agent.h" &&
	echo "$out" | grep -q "src/watch/new.h: not in the layer table" && [ "$(echo "$out" | wc -l)" = 3 ]; then
	pass "check-layers reports a private header, an upward edge and an unlisted header"
else
	fail "check-layers on a bad tree: exit $rc: $out"
fi
