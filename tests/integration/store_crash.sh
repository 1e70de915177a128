# A backup that replaces an existing generation, interrupted at every I/O
# call it makes: a crash (power cut), an fsync error, ENOSPC.  After each,
# a fresh verify and restore find the previous generation intact, and the
# next backup succeeds.
. "$TOP/tests/lib/common.sh"

src=$TMP/src
ini=$TMP/abur.ini
cat >"$ini" <<EOF
[flash]
store = $TMP/store
mount = $TMP/mnt
[restore]
max_total_size = 1G
max_entries = 10000
[component config]
paths = /etc/vms
keep = 2
EOF

abur() { "$BIN" -c "$ini" --store "$TMP/store" "$@"; }
BIN=$ABUR

# tree_state DIR: what a restore must reproduce (names, types, modes,
# link counts, symlink targets, contents).
tree_state() {
	(cd "$1" && find . -printf '%P %y %m %n %l\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

write_tree() { # VERSION
	rm -rf "$src"
	mkdir -p "$src/etc/vms/cameras" "$src/etc/vms/empty"
	printf '[recorder]\nversion = %s\nfps = 25\n' "$1" >"$src/etc/vms/recorder.ini"
	for i in 1 2 3; do
		printf '<camera id="%s" rev="%s"><url>rtsp://10.0.0.%s/</url></camera>\n' "$i" "$1" "$i" \
			>"$src/etc/vms/cameras/cam$i.xml"
	done
	head -c 300000 /dev/urandom >"$src/etc/vms/keys.bin"
	chmod 0600 "$src/etc/vms/keys.bin"
	ln -s recorder.ini "$src/etc/vms/current.ini"
	ln "$src/etc/vms/cameras/cam1.xml" "$src/etc/vms/cameras/default.xml"
}

# Store with g1 (v1) and g2 (v2); the test backs up v3 over it.
mkdir -p "$TMP/store"
write_tree v1
abur backup --root "$src" >/dev/null || { fail "crash: first backup failed"; exit 0; }
write_tree v2
abur backup --root "$src" >/dev/null || { fail "crash: second backup failed"; exit 0; }
tree_state "$src/etc/vms" >"$TMP/v2.state"
cp -a "$TMP/store" "$TMP/prepared"
write_tree v3
tree_state "$src/etc/vms" >"$TMP/v3.state"

reset_store() {
	rm -rf "${TMP:?}/store"
	cp -a "$TMP/prepared" "$TMP/store"
}

gens() { # the config generations, "g1 g2 "
	local g
	for g in "$TMP/store/abur/config"/g*; do [ -e "$g" ] && printf '%s ' "${g##*/}"; done
}

ABUR_IO_TRACE=$TMP/trace abur backup --root "$src" >/dev/null
rc=$?
total=$(tail -n 1 "$TMP/trace" | cut -d' ' -f1)
fsyncs=$(grep -c ' fsync ' "$TMP/trace")
if [ $rc = 0 ] && [ "$(gens)" = "g000002 g000003 " ] && [ "${total:-0}" -gt 5 ]; then
	pass "crash: traced backup makes $total I/O calls ($fsyncs fsyncs), commits g3, retention drops g1"
else
	fail "crash: traced backup rc=$rc gens='$(gens)' calls=${total:-none}"
	exit 0
fi

# after_fault LABEL: the checks every interrupted backup must pass.  Prints
# nothing when all hold, else one line saying what broke.
after_fault() {
	local label=$1 committed=0 out rc
	[ -d "$TMP/store/abur/config/g000003" ] && committed=1
	if ! [ -d "$TMP/store/abur/config/g000002" ]; then
		echo "$label: g2 is gone (gens: $(gens))"; return
	fi
	out=$(abur verify 2>&1) || { echo "$label: verify failed: $(echo "$out" | grep -v ' ok$' | head -n 2)"; return; }
	rm -rf "${TMP:?}/r2" "${TMP:?}/rn"
	out=$(abur restore config --generation 2 --to "$TMP/r2" 2>&1) ||
		{ echo "$label: restore of g2 failed: $out"; return; }
	tree_state "$TMP/r2/etc/vms" | cmp -s - "$TMP/v2.state" || { echo "$label: g2 restores different files"; return; }
	out=$(abur restore config --to "$TMP/rn" 2>&1) || { echo "$label: restore of newest failed: $out"; return; }
	want=$TMP/v2.state
	[ $committed = 1 ] && want=$TMP/v3.state
	tree_state "$TMP/rn/etc/vms" | cmp -s - "$want" ||
		{ echo "$label: newest restores the wrong files (g3 present: $committed)"; return; }
	out=$(abur backup --root "$src" 2>&1)
	rc=$?
	if [ $committed = 1 ] && [ $rc != 4 ]; then
		echo "$label: next backup after a committed g3 exited $rc (wanted 4, unchanged): $out"; return
	elif [ $committed = 0 ] && [ $rc != 0 ]; then
		echo "$label: next backup exited $rc: $out"; return
	fi
	rm -rf "${TMP:?}/rn"
	abur restore config --to "$TMP/rn" >/dev/null 2>&1 && tree_state "$TMP/rn/etc/vms" | cmp -s - "$TMP/v3.state" ||
		{ echo "$label: after the next backup the newest does not restore v3"; return; }
	abur verify >/dev/null 2>&1 || echo "$label: verify fails after the next backup"
}

# run_faults KIND COUNT EXPECT_RCS: one interrupted backup per point.
run_faults() {
	local kind=$1 count=$2 rcs=$3 n rc problems="" nprob=0 committed=0 out
	for n in $(seq 1 "$count"); do
		reset_store
		out=$(ABUR_IO_FAULT=$kind:$n abur backup --root "$src" 2>&1)
		rc=$?
		case " $rcs " in
		*" $rc "*) ;;
		*) problems="$problems; $kind:$n exited $rc ($(echo "$out" | tail -n 1))"; nprob=$((nprob + 1)); continue ;;
		esac
		if [ $rc = 1 ] && [ "$(gens)" != "g000001 g000002 " ]; then
			problems="$problems; $kind:$n failed but changed the store (gens: $(gens))"
			nprob=$((nprob + 1))
			continue
		fi
		if [ $rc = 1 ] && ! echo "$out" | grep -q "config: backup failed: "; then
			problems="$problems; $kind:$n failed without saying why: $out"
			nprob=$((nprob + 1))
		fi
		[ -d "$TMP/store/abur/config/g000003" ] && committed=$((committed + 1))
		out=$(after_fault "$kind:$n")
		if [ -n "$out" ]; then
			problems="$problems; $out"
			nprob=$((nprob + 1))
		fi
	done
	echo "$kind: $count points tried, $committed left g3 committed, $nprob problems"
	if [ $nprob = 0 ]; then
		pass "crash${tag:-}: $kind at each of $count points: previous generation intact and restorable, next backup succeeds"
	else
		fail "crash${tag:-}: $kind: $nprob of $count points broke:$(echo "$problems" | cut -c 1-1500)"
	fi
}

echo "crash points tried: $total (crash), $fsyncs (fsync), $total (enospc)"
run_faults crash "$total" 99
# An fsync error aborts the commit (1) or, during retention after the
# commit, leaves the commit standing (0); never anything else.
run_faults fsync "$fsyncs" "0 1"
# ENOSPC: the store makes room or fails cleanly.
run_faults enospc "$total" "0 1"
# The error paths again under AddressSanitizer (leaks, bad frees).
if [ -n "${ABUR_ASAN:-}" ] && [ -x "$ABUR_ASAN" ]; then
	BIN=$ABUR_ASAN tag=" (ASan)"
	run_faults fsync "$fsyncs" "0 1"
	run_faults enospc "$total" "0 1"
	BIN=$ABUR
else
	skip "crash: fsync/enospc under ASan: no ASan build given (tests/run BUILD ASAN_BUILD)"
fi

# A crash while a backup makes room on a full flash (it removes old
# generations, then commits): the newest previous generation survives
# every crash point, and the next backup succeeds.
if need_root "crash: while making room on a full flash"; then
	make_store "$TMP/tiny" 16
	cat >"$TMP/tiny.ini" <<EOF2
[flash]
store = $TMP/tiny
mount = $TMP/mnt
[component config]
paths = /etc/vms
keep = 10
EOF2
	tiny() { "$ABUR" -c "$TMP/tiny.ini" "$@"; }
	fill_tree() { # VERSION: a 3.2 MB incompressible tree
		write_tree "$1"
		head -c 3200000 /dev/urandom >"$src/etc/vms/keys.bin"
	}
	ok=1
	for i in 1 2 3 4; do
		fill_tree t$i
		tiny backup --root "$src" >/dev/null 2>&1 || ok=0
	done
	tree_state "$src/etc/vms" >"$TMP/t4.state"
	rm -rf "${TMP:?}/tiny-prepared"
	cp -a "$TMP/tiny/abur" "$TMP/tiny-prepared"
	fill_tree t5
	tree_state "$src/etc/vms" >"$TMP/t5.state"
	rm -f "$TMP/trace"
	ABUR_IO_TRACE=$TMP/trace tiny backup --root "$src" >/dev/null 2>&1
	rc=$?
	n=$(tail -n 1 "$TMP/trace" | cut -d' ' -f1)
	if [ $ok = 0 ] || [ $rc != 0 ] || ! grep -q 'rename .*\.tmp-del-g000001' "$TMP/trace"; then
		fail "crash: full flash: setup did not need room (rc=$rc, removed g1: $(grep -c tmp-del "$TMP/trace"))"
	else
		bad=""
		for k in $(seq 1 "$n"); do
			rm -rf "${TMP:?}/tiny/abur"
			cp -a "$TMP/tiny-prepared" "$TMP/tiny/abur"
			ABUR_IO_FAULT=crash:$k tiny backup --root "$src" >/dev/null 2>&1
			rc=$?
			[ $rc = 99 ] || { bad="$bad crash:$k exited $rc;"; continue; }
			want=$TMP/t4.state
			[ -d "$TMP/tiny/abur/config/g000005" ] && want=$TMP/t5.state
			rm -rf "${TMP:?}/rt"
			if ! tiny verify >/dev/null 2>&1; then
				bad="$bad crash:$k verify fails;"
			elif ! tiny restore config --to "$TMP/rt" >/dev/null 2>&1 || ! tree_state "$TMP/rt/etc/vms" | cmp -s - "$want"; then
				bad="$bad crash:$k newest does not restore;"
			elif ! tiny restore config --generation 4 --to "$TMP/rt4" >/dev/null 2>&1; then
				bad="$bad crash:$k g4 lost;"
			else
				rm -rf "${TMP:?}/rt4"
				tiny backup --root "$src" >/dev/null 2>&1
				rc=$?
				[ $rc = 0 ] || [ $rc = 4 ] || bad="$bad crash:$k next backup exited $rc;"
			fi
			rm -rf "${TMP:?}/rt4"
		done
		[ -z "$bad" ] && pass "crash: full flash: crash at each of $n points while making room: g4 intact, next backup succeeds" ||
			fail "crash: full flash:$bad"
		echo "crash points tried while making room: $n"
	fi
fi
