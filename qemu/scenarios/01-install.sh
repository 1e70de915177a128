# 1. Installation: the installer seals the server from the flash menu.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "1 install: seal from the flash menu"
	img_copy "$RIG_DISK" "$SYS" && img_copy "$RIG_FLASH" "$FLASH" || { t_fail "cannot copy the rig images"; return; }
	narrate "Installation: the installer boots the flash's menu entry 'Seal factory image'."
	look "The agent shows the plan (disk model, serial, size) and needs the disk serial: the test passes abur.confirm=$GUEST_SERIAL."
	vm_start inst --sys "$SYS" --flash "$FLASH" --boot flash,sys --menu seal --append "abur.confirm=$GUEST_SERIAL" \
		--rtc 2026-11-22T10:00:00 --no-reboot || { t_fail "VM did not start"; return; }
	if ! vm_wait inst 'SEALED:|SEAL FAILED|NOTHING DONE' 900 >/dev/null || ! vm_console inst | grep -q 'SEALED:'; then
		t_fail "no SEALED on the console: $(vm_console inst | grep -E 'ABUR' | tail -3 | tr '\n' ' ')"
		return
	fi
	vm_console inst | grep -aE 'ABUR: SEALED:' | tee /dev/stderr | show
	vm_wait_exit inst 120 || vm_kill inst
	flash_menu "$FLASH" auto "" 30
	local missing=
	flash_store_do host_abur list --json >"$TMP/list.json" || { t_fail "cannot read the flash store"; return; }
	for c in os software license config; do
		python3 - "$TMP/list.json" "$c" <<'PY' || missing="$missing $c"
import json, sys
gens = [g for g in json.load(open(sys.argv[1]))["generations"] if g["component"] == sys.argv[2] and g["valid"] and g["pinned"]]
sys.exit(0 if gens else 1)
PY
	done
	[ -z "$missing" ] && t_pass || t_fail "no pinned generation for:$missing"
	look "The flash now holds pinned os, software, license and config generations (abur list on the flash):"
	flash_store_do host_abur list 2>/dev/null | show
}
