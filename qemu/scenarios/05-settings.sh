# 5. A technician restores settings only, after the config was damaged.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "5 settings: restore settings only from the boot menu"
	[ -f "$SYS" ] || { t_fail "needs scenario 1"; return; }
	local want
	want=$(img_cat "$SYS" 2 /etc/vms/recorder.ini) || { t_fail "cannot read the config"; return; }
	narrate "Someone damages /etc/vms/recorder.ini. The technician boots the flash menu: 'Restore settings only'."
	server_boot srv5 2026-11-25T10:00:00 || { t_fail "server did not boot: $(vm_why srv5)"; return; }
	guest srv5 "echo 'garbage' > /etc/vms/recorder.ini; sync" >/dev/null
	vm_poweroff srv5
	vm_start tech --sys "$SYS" --flash "$FLASH" --boot flash,sys --menu restore-settings \
		--append "abur.confirm=$GUEST_SERIAL" --rtc 2026-11-25T10:05:00 --no-reboot || { t_fail "VM did not start"; return; }
	if ! vm_wait tech 'RESTORED:|RESTORE FAILED|NOTHING DONE' 600 >/dev/null || ! vm_console tech | grep -q 'RESTORED:'; then
		t_fail "no settings restore: $(vm_console tech | grep ABUR | tail -3 | tr '\n' ' ')"
		return
	fi
	vm_wait_exit tech 120 || vm_kill tech
	flash_menu "$FLASH" auto "" 30
	[ "$(img_cat "$SYS" 2 /etc/vms/recorder.ini)" = "$want" ] && t_pass ||
		t_fail "recorder.ini is not the backed-up one"
	look "The license and configuration are back; the OS and recordings were not touched."
}
