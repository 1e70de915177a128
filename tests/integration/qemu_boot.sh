# QEMU boot tests (TCG, SeaBIOS, two NVMe disks): the flash boots its menu,
# kernel and initramfs and runs `abur agent`; the rig's system disk boots to
# "ABUR-SERVER: ready" with the fake VMS; a blank system disk falls through
# to the flash; a test can pick the menu entry by hotkey or by rewriting the
# menu.  Whatever the agent itself does is not judged here.
. "$TOP/tests/lib/common.sh"
. "$TOP/qemu/lib.sh"
VM_DIR=$TMP/vms
trap 'vm_stop_all; cleanup' EXIT

if ! why=$(qemu_available); then skip "qemu boot tests: $why"; exit 0; fi
need_root "qemu boot tests (the rig disk build loop-mounts ext4)" || exit 0
for t in mcopy syslinux extlinux cpio zstd; do
	command -v $t >/dev/null || { skip "qemu boot tests: $t missing (make deps)"; exit 0; }
done
if [ ! -x "$ABUR" ]; then skip "qemu boot tests: no $ABUR"; exit 0; fi

t0=$(date +%s)
if ! rig_images "$ABUR" 2>"$TMP/build.log"; then
	fail "qemu images build: $(tail -n 5 "$TMP/build.log" | tr '\n' ' ')"
	exit 0
fi
cat "$TMP/build.log"
pass "qemu images build ($(($(date +%s) - t0))s; initramfs $(du -k "$(dirname "$RIG_FLASH")/initramfs.img" | cut -f1) KiB)"

# 1. The flash alone: the menu's default entry boots the kernel; init runs
#    the agent with the board's config; the system-disk slot holds the
#    system disk (serial SYS0001 at 0000:00:04.0, as abur.ini says).
t_begin "qemu flash: default menu entry boots the initramfs and runs abur agent"
img_blank "$TMP/blank.img" 160
img_copy "$RIG_FLASH" "$TMP/flash.img"
vm_start flash1 --sys "$TMP/blank.img" --flash "$TMP/flash.img" --boot flash,sys
if ! vm_wait flash1 'Automatic recovery' 60 >/dev/null; then t_fail "no boot menu on the serial console"; vm_tail flash1
elif ! vm_wait flash1 'ABUR-INIT: mode=auto' 60 >/dev/null; then t_fail "the default entry did not reach the initramfs init"; vm_tail flash1
elif ! vm_wait flash1 'ABUR-INIT: flash store: /dev/[a-z0-9]+, system disk: /dev/nvme' 60 >/dev/null; then t_fail "init did not find the store and the system disk through abur config resolve"; vm_tail flash1
elif ! vm_wait flash1 'ABUR-INIT: running abur agent \(mode auto\)' 60 >/dev/null; then t_fail "init did not run abur agent"; vm_tail flash1
elif ! vm_wait flash1 'ABUR-INIT: agent (done|finished|changed nothing|failed)' 600 >/dev/null; then t_fail "the agent did not return"; vm_tail flash1
else
	echo "boot: flash to agent $(vm_elapsed flash1)s"
	t_pass
fi
vm_console flash1 | grep -E '^ABUR-INIT|^abur' | head -n 20 | sed 's/^/    /'

t_begin "qemu flash: initramfs has a working abur and the system disk sits in slot 0000:00:04.0"
out=$(vm_run -t 60 flash1 'abur --version && abur -c /etc/abur/abur.ini config check >/dev/null && echo config-ok;
	for b in /sys/block/nvme*; do echo "$(basename $b) $(cat $b/device/serial) $(readlink -f $b/device)"; done')
rc=$?
if [ $rc != 0 ]; then t_fail "exit $rc: $out"
elif ! echo "$out" | grep -q config-ok; then t_fail "abur config check failed: $out"
elif ! echo "$out" | grep -E 'SYS0001 .*/0000:00:04\.0/' >/dev/null; then t_fail "SYS0001 not at 0000:00:04.0: $out"
elif ! grep -q 'system = slot:0000:00:04.0' "$TOP/board/qemu-x86_64/abur.ini"; then t_fail "board abur.ini names another slot"
else t_pass; fi
echo "$out" | sed 's/^/    /'
vm_poweroff flash1 30 || fail "qemu flash: poweroff from the initramfs"

# 2. The rig's system disk on its own.
t_begin "qemu rig disk: boots to ABUR-SERVER: ready with the fake VMS"
img_copy "$RIG_DISK" "$TMP/sys.img"
vm_start srv --sys "$TMP/sys.img" --rtc 2026-11-22T22:25:00
# vm_start returns once QEMU has been exec'd: a check right after it sees
# the VM running (CI once saw "QEMU exited" 0.3 s in, before the exec).
if ! vm_running srv; then t_fail "vm_running is false right after vm_start"
elif ! vm_wait srv 'ABUR-SERVER: ready' 120 >/dev/null; then t_fail "no ready marker"; vm_tail srv
else
	echo "boot: rig disk to ready $(vm_elapsed srv)s"
	out=$(vm_run -t 30 srv 'cat /opt/vms/VERSION; /opt/vms/bin/vms-recorder status; ls /etc/vms; abur --version >/dev/null && echo abur-ok; date -u +%F')
	rc=$?
	if [ $rc != 0 ]; then t_fail "command over the serial channel exited $rc: $out"
	elif [ "$(echo "$out" | head -n 1)" != "$(cat "$TOP/qemu/rootfs/opt/vms/VERSION")" ]; then t_fail "VERSION read back as '$(echo "$out" | head -n 1)'"
	elif ! echo "$out" | grep -qx running; then t_fail "vms-recorder not running: $out"
	elif ! echo "$out" | grep -q license.lic; then t_fail "no /etc/vms/license.lic: $out"
	elif ! echo "$out" | grep -qx abur-ok; then t_fail "abur does not run on the rig disk: $out"
	elif ! echo "$out" | grep -qx 2026-11-22; then t_fail "-rtc base was not applied: $out"
	else t_pass; fi
fi
vm_console srv | grep '^ABUR-SERVER' | sed 's/^/    /'

t_begin "qemu rig disk: clean reboot; vm_run right after the ready marker"
vm_reboot srv
if ! vm_wait srv 'ABUR-SERVER: ready' 120 >/dev/null; then t_fail "no ready marker after the reboot"; vm_tail srv
elif ! out=$(vm_run -t 60 srv 'cat /opt/vms/VERSION'); then t_fail "vm_run after the reboot: $out"
elif [ "$out" != "$(cat "$TOP/qemu/rootfs/opt/vms/VERSION")" ]; then t_fail "read back '$out'"
else t_pass; fi

# The rig's answer to QEMU 7.2's NVMe stalls (qemu/lib.sh, _vm_power_cycle):
# the guest kernel's stall warning, injected through /dev/kmsg, makes vm_wait
# power-cycle the VM once and wait for the new boot.
t_begin "qemu rig: an NVMe stall warning power-cycles the VM; the wait goes on in the new boot"
# A real stall of this VM so far would count too: these tests count from 0.
echo 0 >"$VM_DIR/srv/stalls"
vm_mark srv
vm_run -t 30 srv 'echo "<4>nvme nvme0: I/O 160 (I/O Cmd) QID 1 timeout, aborting" >/dev/kmsg' >/dev/null
if ! vm_wait srv 'ABUR-SERVER: ready' 120 >/dev/null 2>"$TMP/stall.err"; then t_fail "no new boot: $(cat "$TMP/stall.err")"; vm_tail srv
elif ! grep -q '^RIG-EMULATOR: QEMU NVMe I/O queue stalled; VM power-cycled (1 of 2)' "$VM_DIR/srv/console.log"; then t_fail "no RIG-EMULATOR note"
elif ! grep -q 'power-cycling the VM (1 of 2)' "$TMP/stall.err"; then t_fail "vm_wait did not say why: $(cat "$TMP/stall.err")"
elif ! out=$(vm_run -t 60 srv 'cat /opt/vms/VERSION') || [ "$out" != "$(cat "$TOP/qemu/rootfs/opt/vms/VERSION")" ]; then t_fail "vm_run after the power cycle: $out"
else t_pass; fi
t_begin "qemu rig: a third stall fails the wait, naming QEMU"
# The wait that takes the count past VM_STALL_MAX (2) fails; a real stall
# on the way only makes that come one injection sooner.
for i in 2 3; do
	vm_mark srv
	vm_run -t 60 srv 'echo "<4>nvme nvme0: I/O 9 QID 1 timeout, reset controller" >/dev/kmsg' >/dev/null
	vm_wait srv 'ABUR-SERVER: ready' 120 >/dev/null 2>"$TMP/stall.err" || break
done
if [ "$(cat "$VM_DIR/srv/stalls")" -le 2 ]; then t_fail "the third stall did not fail the wait"
elif ! grep -q "QEMU's NVMe emulation stalled $(cat "$VM_DIR/srv/stalls") times; giving up" "$TMP/stall.err"; then t_fail "$(cat "$TMP/stall.err")"
else t_pass; fi
vm_kill srv
vm_start srv --sys "$TMP/sys.img" --rtc 2026-11-22T22:40:00
vm_wait srv 'ABUR-SERVER: ready' 120 >/dev/null || fail "the rig disk does not boot after the stall tests"

t_begin "qemu rig disk: vm_run returns the exit status; clean poweroff; files readable afterwards"
out=$(vm_run -t 30 srv 'echo changed >>/etc/vms/recorder.ini; sync; exit 7')
rc=$?
if [ $rc != 7 ]; then t_fail "exit status $rc instead of 7"
elif ! vm_poweroff srv 60; then t_fail "no clean poweroff"; vm_tail srv
elif ! img_cat "$TMP/sys.img" 2 /etc/vms/recorder.ini | grep -qx changed; then t_fail "change not found with debugfs"
elif ! img_cat "$TMP/sys.img" 2 /etc/vms/license.lic | grep -q '^customer'; then t_fail "license not readable with debugfs"
else t_pass; fi

# 3. A blank system disk: SeaBIOS fails it and the flash boots.
t_begin "qemu fall-through: a blank system disk boots the flash"
img_blank "$TMP/blank2.img" 160
img_copy "$RIG_FLASH" "$TMP/flash2.img"
vm_start ft --sys "$TMP/blank2.img" --flash "$TMP/flash2.img" --boot sys,flash
if ! vm_wait ft 'Boot failed: not a bootable disk' 60 >/dev/null; then t_fail "SeaBIOS did not try the system disk first"; vm_tail ft
elif ! vm_wait ft 'RIG-FIRMWARE: system disk not bootable' 30 >/dev/null; then t_fail "no fall-through"; vm_tail ft
elif ! vm_wait ft 'ABUR-INIT: running abur agent \(mode auto\)' 90 >/dev/null; then t_fail "the flash's agent did not run"; vm_tail ft
else
	echo "boot: blank system disk to agent $(vm_elapsed ft)s"
	t_pass
fi
# A power cycle (the rig's answer to an NVMe stall) of a VM that fell
# through: the new boot falls through again, once, with one watcher.
t_begin "qemu fall-through: after a stall's power cycle the blank disk falls through again, once"
vm_mark ft
vm_run -t 30 ft 'echo "<4>nvme nvme1: I/O 3 QID 1 timeout, aborting" >/dev/kmsg' >/dev/null
if ! vm_wait ft 'ABUR-INIT: running abur agent \(mode auto\)' 120 >/dev/null 2>"$TMP/ftstall.err"; then t_fail "no agent after the power cycle: $(cat "$TMP/ftstall.err")"; vm_tail ft
elif sleep 5 && [ "$(vm_console ft | grep -o 'RIG-FIRMWARE: system disk not bootable' | wc -l)" != 1 ]; then
	t_fail "fell through $(vm_console ft | grep -o 'RIG-FIRMWARE: system' | wc -l) times in the new boot"
elif [ "$(grep -c '^RIG-EMULATOR:' "$VM_DIR/ft/console.log")" != 1 ]; then t_fail "power-cycled $(grep -c '^RIG-EMULATOR:' "$VM_DIR/ft/console.log") times"
else t_pass; fi
vm_kill ft

# 4. Picking a boot-menu entry: by hotkey on the serial console, and by
#    rewriting the menu with extra kernel arguments.
t_begin "qemu flash menu: the shell entry by hotkey"
vm_start key --sys "$TMP/blank2.img" --flash "$TMP/flash2.img" --boot flash,sys
if ! vm_menu_pick key h 60; then t_fail "no menu"; vm_tail key
elif ! vm_wait key 'ABUR-INIT: mode=shell' 60 >/dev/null; then t_fail "hotkey h did not boot the shell entry"; vm_tail key
elif ! vm_wait key 'ABUR-INIT: rescue shell' 30 >/dev/null; then t_fail "no rescue shell"; vm_tail key
else t_pass; fi
vm_kill key

t_begin "qemu flash menu: vm_start --menu verify --append abur.confirm=SYS0001"
vm_start menu --sys "$TMP/blank2.img" --flash "$TMP/flash2.img" --boot flash,sys --menu verify --append abur.confirm=SYS0001
if ! vm_wait menu 'ABUR-INIT: mode=verify confirm=SYS0001' 60 >/dev/null; then t_fail "the rewritten menu did not boot verify"; vm_tail menu
elif ! vm_wait menu 'ABUR-INIT: running abur agent \(mode verify\)' 30 >/dev/null; then t_fail "agent not run in verify mode"; vm_tail menu
else t_pass; fi
vm_kill menu
echo "total: $(($(date +%s) - t0))s"
