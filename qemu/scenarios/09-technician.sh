# 9. Technician full restore from the menu: a wrong serial does nothing, the right one restores.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "9 technician: restore with wrong and right serial"
	[ -f "$FLASH" ] || { t_fail "needs scenario 1"; return; }
	local other=$TMP/foreign9.img before
	img_blank "$other" $(($(stat -c %s "$RIG_DISK") / 1048576))
	mkfs.ext4 -q -F "$other"
	before=$(img_sum "$other")
	vm_start wrong --sys "$other" --flash "$FLASH" --boot flash,sys --menu restore --append abur.confirm=NOT-THE-SERIAL \
		--rtc 2026-11-28T10:00:00 --no-reboot || { t_fail "VM did not start"; return; }
	vm_wait wrong 'NOTHING DONE|RESTORED:' 600 >/dev/null
	vm_kill wrong
	[ "$(img_sum "$other")" = "$before" ] || { t_fail "a wrong serial changed the disk"; return; }
	vm_start right --sys "$other" --flash "$FLASH" --boot flash,sys --menu restore --append "abur.confirm=$GUEST_SERIAL" \
		--rtc 2026-11-28T10:10:00 --no-reboot || { t_fail "VM did not start"; return; }
	if ! vm_wait right 'RESTORED:|REIMAGE FAILED|NOTHING DONE' 1200 >/dev/null || ! vm_console right | grep -q 'RESTORED:'; then
		t_fail "the confirmed restore did not run: $(vm_console right | grep ABUR | tail -3 | tr '\n' ' ')"
		return
	fi
	vm_wait_exit right 120 || vm_kill right
	flash_menu "$FLASH" auto "" 30
	vm_start boot9 --sys "$other" --flash "$FLASH" --rtc 2026-11-28T10:20:00 || { t_fail "VM did not start"; return; }
	vm_wait boot9 'ABUR-SERVER: ready' 600 >/dev/null && t_pass || t_fail "the restored disk does not boot"
	vm_poweroff boot9
}
