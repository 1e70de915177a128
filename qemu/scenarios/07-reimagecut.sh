# 7. Power cut during the reimage: the next boot finishes it.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "7 reimagecut: power cut during the reimage"
	[ -f "$FLASH" ] || { t_fail "needs scenario 1"; return; }
	narrate "A blank disk again, and this time the power fails in the middle of the reimage."
	img_blank "$SYS" $(($(stat -c %s "$RIG_DISK") / 1048576))
	vm_start rc1 --sys "$SYS" --flash "$FLASH" --rtc 2026-11-27T09:00:00 || { t_fail "VM did not start"; return; }
	# Cut once the write bar is past 40% (ten of 24 marks) and writeback of a
	# few 16 MiB windows has had a moment to start: the disk is half-written.
	if ! vm_wait rc1 'write +\[#{10}' 900 >/dev/null; then
		t_fail "the reimage did not start writing: $(vm_console rc1 | grep ABUR | tail -2 | tr '\n' ' ')"
		return
	fi
	sleep 0.3
	vm_kill rc1
	if cmp -s -n "$(stat -c %s "$SYS")" "$SYS" /dev/zero; then
		t_fail "the power cut came before anything was written: nothing to resume"
		return
	fi
	look "The half-written disk is no longer blank; the marker on the flash lets the agent resume."
	vm_start rc2 --sys "$SYS" --flash "$FLASH" --rtc 2026-11-27T09:05:00 || { t_fail "VM did not start"; return; }
	if ! vm_wait rc2 'RESTORED:|REIMAGE FAILED|NOTHING DONE|STOPPED' 1200 >/dev/null || ! vm_console rc2 | grep -q 'RESTORED:'; then
		t_fail "the reimage was not finished: $(vm_console rc2 | grep -aE 'ABUR: (system disk|decision|NOTHING|REIMAGE)|ABUR-INIT: agent' | tail -4 | tr '\n' ' ')"
		return
	fi
	vm_wait rc2 'ABUR-SERVER: ready' 600 >/dev/null && t_pass || t_fail "the disk does not boot after the resumed reimage"
	vm_poweroff rc2
}
