#!/usr/bin/env bash
# abur --json: every command with a JSON form, run for real, its stdout
# checked by tests/lib/jsoncheck.py against abur(8) JSON OUTPUT (one
# document, schema 1, the command, its shape, every field in the manual's
# field table with its type, RFC 3339 times with their _epoch); failing
# invocations write the error object with code = the exit status and the
# message of stderr; seal, reimage and the agent write progress NDJSON
# ending with the document.  The checker itself is shown to fail.
. "$TOP/tests/lib/common.sh"
MAN=$TOP/doc/abur.8

src=$TMP/src
store=$TMP/store
cat >"$TMP/abur.ini" <<EOF
[flash]
store = $store
mount = $TMP/mnt
[component config]
paths = /etc/vms
keep = 100
EOF
mkdir -p "$store" "$src/etc/vms"
echo "a = 1" >"$src/etc/vms/vms.conf"
INI=$TMP/abur.ini STORE=$store

# jrun WANT_RC COMMAND [--ndjson] -- ARGS...: abur --json ARGS with INI and
# STORE; stdout in $TMP/out, stderr in $TMP/err; PASS when the exit status
# is WANT_RC and jsoncheck accepts stdout as COMMAND's.
jrun() {
	local want=$1 cmd=$2 nd= rc why
	shift 2
	[ "$1" = --ndjson ] && nd=--ndjson && shift
	shift # --
	"$ABUR" -c "$INI" --store "$STORE" --json "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	why=$(python3 "$TOP/tests/lib/jsoncheck.py" "$MAN" "$cmd" "$rc" $nd <"$TMP/out" 2>&1)
	if [ "$rc" = "$want" ] && [ -z "$why" ]; then
		pass "json: abur --json $* (exit $rc)"
	else
		fail "json: abur --json $*: exit $rc (want $want) ${why:-$(head -c 300 "$TMP/out")} $(head -c 200 "$TMP/err")"
	fi
}
# same_message NAME: the error object's message is abur's first line on
# stderr without its "abur: error: " or "abur NAME: " start.
same_message() {
	local first
	first=$(grep -m1 '^abur' "$TMP/err" | sed -E 's/^abur( [a-z]+)?: (error: )?//')
	jq_ok "$1: the message is stderr's ($first)" "assert d['message'].split('\n')[0] == sys.argv[2], d" "$first"
}
# jq_ok NAME PYTHON [ARGS...]: PASS when PYTHON holds, d the last document
# of $TMP/out and sys.argv[2:] the ARGS.
jq_ok() {
	local name=$1 code=$2 why
	shift 2
	why=$(python3 -c "import json, sys; d = json.loads(open(sys.argv[1]).read().splitlines()[-1]); $code" \
		"$TMP/out" "$@" 2>&1) && pass "json: $name" || fail "json: $name: $why $(head -c 300 "$TMP/out")"
}

# ---- the checker can fail ----
chk() { python3 "$TOP/tests/lib/jsoncheck.py" "$MAN" "$@" >/dev/null; }
echo '{"schema":1,"command":"list","generations":[]}' | chk list 0 && pass "jsoncheck: a good document passes" ||
	fail "jsoncheck rejects a good document"
for bad in '{"schema":2,"command":"list","generations":[]}' \
	'{"schema":1,"command":"ls","generations":[]}' \
	'{"schema":1,"command":"list"}' \
	'{"schema":1,"command":"list","generations":[{"component":"c","generation":1,"valid":true,"time":1796415116,"time_epoch":1796415116}]}' \
	'{"schema":1,"command":"list","generations":[{"component":"c","generation":1,"valid":true,"time":"2026-12-04T20:11:57Z","time_epoch":1796415116}]}' \
	'{"schema":1,"command":"list","generations":[{"component":"c","generation":1,"valid":true,"time":null,"time_epoch":1796415116}]}' \
	'{"schema":1,"command":"list","generations":[],"nosuchfield":1}' \
	'{"schema":1,"command":"list","generations":[],"valid":"yes"}' \
	'{"schema":1,"command":"list","error":"usage","code":1,"message":"x"}' \
	'{"schema":1,"command":"list","generations":[]}{"schema":1,"command":"list","generations":[]}'; do
	echo "$bad" | chk list 2 && fail "jsoncheck accepts $bad" || pass "jsoncheck rejects ${bad:0:70}..."
done
printf '{"schema":1,"command":"list","generations":[]}\n{"schema":1,"command":"list","generations":[]}\n' |
	chk list 0 && fail "jsoncheck accepts two documents" || pass "jsoncheck rejects two documents"

# ---- file commands ----
jrun 0 backup -- backup --root "$src"
jq_ok "backup: the component written" 'c = d["components"][0]; assert c["component"] == "config" and c["result"] == "written" and c["generation"] == 1, c'
echo "b = 2" >"$src/etc/vms/b.conf"
jrun 0 backup -- backup config --root "$src" --trigger json
jrun 4 backup -- backup --root "$src"
jq_ok "backup unchanged: exit 4 with its document" 'assert d["components"][0]["result"] == "unchanged", d'
echo "c = 3" >"$src/etc/vms/c.conf"
ABUR_IO_FAULT=eio:1 jrun 1 backup -- backup --root "$src"
jq_ok "a failed backup: its document says so, exit 1" 'c = d["components"][0]; assert c["result"] == "error" and "Input/output error" in c["problem"], c'
grep -q "^abur: error: config: backup failed: .*Input/output error" "$TMP/err" &&
	pass "json: the failed backup is also text on stderr" || fail "json: failed backup stderr: $(cat "$TMP/err")"
rm "$src/etc/vms/c.conf"
jrun 0 list -- list
jq_ok "list: time is RFC 3339, time_epoch the number" 'g = d["generations"][1]; assert g["generation"] == 2 and g["trigger"] == "json" and g["time"].endswith("Z") and isinstance(g["time_epoch"], int), g'
jrun 0 list -- list config
jrun 5 status -- status
jq_ok "status: the newest generation, the verdict's risks" 'c = d["components"][0]; assert c["newest"]["generation"] == 2 and d["verdict"]["state"] == "at_risk" and d["verdict"]["reasons"][0]["risk"], d'
jrun 0 verify -- verify
jrun 0 verify -- verify config --generation 1
jrun 0 ls -- ls config
jrun 0 ls -- ls config --generation g000001 etc/vms/vms.conf
jrun 0 diff -- diff config
jq_ok "diff: one path added" 'assert (d["added"], d["deleted"], d["changed"]) == (1, 0, 0) and d["from"]["generation"] == 1, d'
jrun 0 export -- export config -o "$TMP/config.tar.zst"
jrun 0 restore -- restore config --to "$TMP/r"
jq_ok "restore: root and counts" 'assert d["root"] == sys.argv[2] and d["written"] >= 2 and d["strays_removed"] is False, d' "$TMP/r"
jrun 0 restore -- restore config --to "$TMP/r" --exact --yes
jrun 0 backup -- backup --root "$src" --tag json-point
jq_ok "backup --tag: the tag" 'c = d["components"][0]; assert c["tag"] == "json-point" and c["result"] == "written", c'
jrun 0 list -- list config
jq_ok "list: the tag, null when none" 'assert [g["tag"] for g in d["generations"]][-2:] == [None, "json-point"], d'
jrun 0 ls -- ls config --generation json-point
jq_ok "ls --generation TAG: the generation's tag" 'assert d["tag"] == "json-point", d'
jrun 4 prune -- prune --dry-run
jq_ok "prune --dry-run: nothing to remove (keep 100)" 'c = d["components"][0]; assert d["dry_run"] and c["removed_generations"] == [] and c["problem"] is None, d'
jrun 0 forget -- forget config --generation json-point
jq_ok "forget: the generation and its tag" 'assert d["tag"] == "json-point" and d["generation"] == 3, d'
jrun 1 forget -- forget config --generation 2
jq_ok "forget of the newest: busy" 'assert d["error"] == "busy", d'
jrun 2 forget -- forget config
jrun 0 config -- config check
jrun 0 config -- config get flash.store
jq_ok "config get: key and value" 'assert d["key"] == "flash.store" and d["value"] == sys.argv[2], d' "$store"
jrun 0 config -- config resolve flash.store
jrun 0 version -- version
"$ABUR" --json help list >"$TMP/out" 2>&1 && grep -q '^usage: abur' "$TMP/out" &&
	pass "json: help stays text (documented)" || fail "json: help: $(head -3 "$TMP/out")"

# ---- failures: the error object, code = the exit status ----
jrun 2 backup -- backup --bogus
jq_ok "usage error: error usage, code 2" 'assert d["error"] == "usage" and d["code"] == 2, d'
same_message "usage error"
jrun 2 list -- list nosuch
jq_ok "unknown component: usage" 'assert d["error"] == "usage" and "nosuch" in d["message"], d'
jrun 2 - -- frobnicate
jq_ok "unknown command: command null" 'assert d["command"] is None and "frobnicate" in d["message"], d'
same_message "unknown command"
jrun 2 - -- list --store
jq_ok "a global option without its value: usage" 'assert d["error"] == "usage" and "--store" in d["message"], d'
jrun 2 diff -- diff
jrun 1 ls -- ls config --generation 9
jq_ok "no such generation: not-found" 'assert d["error"] == "not-found", d'
same_message "no such generation"
STORE=$TMP/nostore jrun 1 list -- list
jq_ok "missing store: an error, code 1" 'assert d["code"] == 1 and d["error"] and "store" in d["message"], d'
same_message "missing store"
STORE=$TMP/nostore jrun 5 status -- status
jq_ok "status without a store: its document (flash_missing), not an error" 'assert "flash_missing" in [r["risk"] for r in d["verdict"]["reasons"]], d'
printf '[schedule]\nnightly = 25:00\n' >"$TMP/bad.ini"
INI=$TMP/bad.ini jrun 2 config -- config check
jq_ok "bad configuration: error config, code 2" 'assert d["error"] == "config" and "bad.ini" in d["message"], d'
jrun 2 config -- config get nosuch.key
jrun 1 export -- export config -o "$TMP/no/such/dir/x.tar.zst"
jrun 2 daemon -- daemon extra

# A damaged generation: ls and export fail with corrupt; verify reports it
# in its document (exit 1); list says valid false with time null.
p=$(ls "$store"/abur/config/g000002/data.tar.zst)
printf '\377\377\377\377' | dd of="$p" bs=1 seek=60 conv=notrunc status=none
jrun 1 verify -- verify
jq_ok "damaged generation: verify's document says so (failed 1)" 'assert d["failed"] == 1 and [g["valid"] for g in d["generations"]] == [True, False], d'
jrun 1 restore -- restore config --generation 2 --to "$TMP/r2"
jq_ok "damaged generation: restore fails with corrupt" 'assert d["error"] == "corrupt", d'
same_message "damaged generation"
rm "$store"/abur/config/g000002/manifest.ini
jrun 0 list -- list
jq_ok "a generation that does not read: valid false, time and time_epoch null" 'g = d["generations"][1]; assert g["valid"] is False and g["time"] is None and g["time_epoch"] is None and g["problem"], g'
jrun 1 ls -- ls config --generation 2
jq_ok "ls of that generation: corrupt" 'assert d["error"] == "corrupt", d'

# ---- disks: probe, seal and reimage (NDJSON), the agent, flash ----
need_root "json of the disk commands" || exit 0
. "$TOP/tests/lib/disks.sh"
make_sys_disk "$TMP/src.img" 64 gpt
SRC=$(make_loop "$TMP/src.img")
truncate -s 80M "$TMP/target.img"
DST=$(make_loop "$TMP/target.img")
make_store "$TMP/dstore" 128
test_ini "$TMP/disk.ini" "$DST"
INI=$TMP/disk.ini STORE=$TMP/dstore

jrun 0 probe -- probe "$DST"
jq_ok "probe: the blank disk" 'assert d["disks"][0]["class"] == "blank" and d["sealed_disk_id"] is None, d'
: >"$TMP/notadisk"
jrun 1 probe -- probe "$DST" "$TMP/notadisk"
jq_ok "probe of an unreadable disk: its document, exit 1" 'assert [x["class"] for x in d["disks"]] == ["blank", "unreadable"], d'
jrun 0 seal --ndjson -- seal --disk "$SRC"
grep -q '"event":"progress"' "$TMP/out" && pass "json: seal writes progress lines" || fail "json: seal: no progress: $(head -c 300 "$TMP/out")"
jrun 1 seal --ndjson -- seal --disk "$TMP/nosuchdisk"
jrun 0 reimage -- reimage --disk "$DST" --dry-run
jq_ok "reimage --dry-run: the plan" 'assert d["dry_run"] and d["disk"]["device"] == sys.argv[2] and d["partitions"] and d["bytes"] > 0, d' "$DST"
jrun 0 reimage --ndjson -- reimage --disk "$DST"
jq_ok "reimage: the result last" 'assert d["device"] == sys.argv[2] and d["written_bytes"] > 0, d' "$DST"
grep -q '"event":"progress"' "$TMP/out" && pass "json: reimage writes progress lines" || fail "json: reimage: no progress"
jrun 0 reimage -- reimage --disk "$DST" --settings-only --yes="$(basename "$(readlink -f "$DST")")"
jrun 2 reimage -- reimage --dry-run
ABUR_MODE=auto ABUR_REBOOT_REQUEST=$TMP/reboot jrun 4 agent --ndjson -- agent --timeout 1
jq_ok "agent: an ours disk, nothing to do" 'assert d["result"] == "nothing" and d["mode"] == "auto", d'
grep -q "ABUR:" "$TMP/err" && pass "json: the agent's console lines go to stderr" || fail "json: agent stderr: $(head -3 "$TMP/err")"
jrun 2 agent -- agent --mode bogus
jrun 1 flash -- flash install --device "$TMP/notadisk" --image "$TMP/no-image"
