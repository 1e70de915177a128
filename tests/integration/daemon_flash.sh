# abur daemon: the flash (a loop-backed ext4 found by LABEL=) disappears
# and comes back; the owed backup happens without a restart, and status
# says since when the flash is missing.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"

need_root "flash removed and back" || exit 0
label=ABURT$$
truncate -s 32M "$TMP/flash.img"
mkfs.ext4 -q -F -L "$label" "$TMP/flash.img"
dev=$(make_loop "$TMP/flash.img") || { skip "flash removed and back: losetup failed"; exit 0; }

daemon_config "LABEL=$label" "$TMP/mnt" <<EOF
[component live]
paths = $TMP/root/live
policy = change
quiet = 0
EOF
mkdir -p "$TMP/root/live"
echo "x" >"$TMP/root/live/cams.xml"
setclock "2026-11-22 10:00:00"
start_daemon || { fail "daemon starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
if wait_event '"event":"backup","component":"live"'; then
	pass "first backup onto the flash found by label"
else
	fail "first backup: $(tail -3 "$EVENTS"; tail -3 "$TMP/daemon.log")"
	exit 0
fi
# The state is saved after store_close(): wait for it before looking.
wait_for _comp_has live "last_seq 1" || fail "state after the first backup not saved"
if grep -q " $TMP/mnt" /proc/mounts; then
	fail "the flash stays mounted after the commit"
else
	pass "the flash is mounted only for the commit"
fi

losetup -d "$dev"
wait_for sh -c "! losetup '$dev' >/dev/null 2>&1"
setclock "2026-11-22 11:00:00"
echo "y" >"$TMP/root/live/cams.xml"
if wait_event '"event":"flash-missing"'; then
	pass "flash removed: the backup is owed and flash-missing recorded"
else
	fail "flash removed: $(tail -3 "$EVENTS")"
fi
wait_state "^flash_missing [1-9]" || fail "flash_missing not saved in the state"
out=$("$ABUR" -c "$CFG" status 2>&1)
if echo "$out" | grep -q "flash missing since 2026-11-22 11:00:00"; then
	pass "abur status says since when the flash is missing"
else
	fail "status with the flash missing: $out"
fi

n=$(count_event '"event":"backup","component":"live"')
dev2=$(make_loop "$TMP/flash.img") || { fail "re-attaching the flash failed"; exit 0; }
if wait_event '"event":"backup","component":"live"' $((n + 1)) && wait_event '"event":"flash-back"'; then
	pass "flash back ($dev2): the owed backup happens without a restart"
else
	fail "flash back: $(tail -3 "$EVENTS")"
fi
stop_daemon || fail "daemon did not stop"
sanitizer_verdict
