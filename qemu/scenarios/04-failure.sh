# 4. Disk failure: the system disk is replaced by a blank one; the server reimages itself.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "4 failure: blank replacement disk, automatic reimage"
	[ -f "$SYS" ] || { t_fail "needs scenario 1"; return; }
	vm_running srv && vm_poweroff srv
	local want_cfg want_rec t0 secs
	want_cfg=$(img_cat "$SYS" 2 /etc/vms/cameras.ini) || { t_fail "cannot read the old config"; return; }
	want_rec=$(img_cat "$SYS" 2 /etc/vms/recorder.ini) || { t_fail "cannot read the old config"; return; }
	narrate "The system disk fails. A technician swaps in a blank disk of the same size and powers on."
	img_blank "$SYS" $(($(stat -c %s "$RIG_DISK") / 1048576))
	look "The blank disk does not boot, so the firmware falls through to the flash; its menu boots 'Automatic recovery'."
	t0=$(date +%s.%N)
	vm_start fail --sys "$SYS" --flash "$FLASH" --rtc 2026-11-25T09:00:00 || { t_fail "VM did not start"; return; }
	if ! vm_wait fail 'RESTORED:|REIMAGE FAILED|NOTHING DONE|STOPPED' 1200 >/dev/null ||
		! vm_console fail | grep -q 'RESTORED:'; then
		t_fail "no reimage: $(vm_console fail | grep ABUR | tail -3 | tr '\n' ' ')"
		return
	fi
	look "The agent reimaged the disk (OS image, software, license, newest config) and reboots:"
	vm_console fail | grep -aE 'ABUR: (decision|RESTORED)' | show
	if ! vm_wait fail 'ABUR-SERVER: ready' 600 >/dev/null; then
		t_fail "the restored disk did not boot: $(vm_console fail | tail -3 | tr '\n' ' ')"
		return
	fi
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
	narrate "Restored: power-on to login prompt took ${secs}s (QEMU TCG, no KVM)."
	local got rec lic daemon ver drv shells legacy
	ver=$(guest fail "cat /opt/vms/VERSION")
	drv=$(guest fail "md5sum /lib/modules/extra/acme-cam.ko")
	shells=$(guest fail "tail -1 /etc/shells")
	legacy=$(guest fail "test -e /usr/share/vms/legacy-driver.txt && echo present || echo absent")
	got=$(guest fail "cat /etc/vms/cameras.ini")
	rec=$(guest fail "cat /etc/vms/recorder.ini")
	lic=$(guest fail "cat /etc/vms/license.lic")
	daemon=$(guest fail "pidof abur || ps | grep '[a]bur daemon'")
	look "In the restored server, /etc/vms/recorder.ini is the newest backed-up one (fps = 30 since 22:30):"
	printf '%s\n' "$rec" | show
	look "and the server is as it was last night, not as delivered: VMS $ver, the camera driver, the changed"
	look "system file; the file the update removed stays removed ($legacy):"
	printf 'VERSION %s\ndriver %s\n/etc/shells ends with %s\n' "$ver" "$drv" "$shells" | show
	if [ "$got" != "$want_cfg" ] || [ "$rec" != "$want_rec" ]; then
		t_fail "config is not the newest backed-up one"
	elif [ -z "$lic" ]; then
		t_fail "license missing"
	elif [ -z "$daemon" ]; then
		t_fail "abur daemon is not running"
	elif [ -f "$TMP/driver.md5" ] && { [ "$ver" != 5.3.0-rig ] || [ "$drv" != "$(cat "$TMP/driver.md5")" ] ||
		[ "$shells" != /bin/rbash ] || [ "$legacy" != absent ]; }; then
		t_fail "the update made after delivery did not come back: VERSION '$ver', driver '$drv', shells '$shells', legacy $legacy"
	else
		t_pass "4 failure: restored and booted in ${secs}s, as last night: the update, newest config, license, daemon running"
	fi
	vm_poweroff fail
}
