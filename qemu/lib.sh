# qemu/lib.sh: the QEMU scenario library (bash; source it).
#
# Boots the rig's virtual server (SeaBIOS, TCG, two NVMe disks: the system
# disk in slot 0000:00:04.0, the flash in 0000:00:05.0, boot order system
# disk then flash), captures its serial console and talks to it.  See
# qemu/README.md for a walk-through; the short version:
#
#   . "$TOP/qemu/lib.sh"
#   rig_images || exit                  # builds/reuses RIG_DISK, RIG_FLASH
#   img_copy "$RIG_DISK" "$T/sys.img"; img_copy "$RIG_FLASH" "$T/flash.img"
#   vm_start srv --sys "$T/sys.img" --flash "$T/flash.img" --rtc 2026-11-22T23:58:00
#   vm_wait srv 'ABUR-SERVER: ready' 120 || ...
#   out=$(vm_run srv 'cat /opt/vms/VERSION')
#   vm_poweroff srv          # clean ACPI shutdown;  vm_kill srv: power cut
#
# Files of VM NAME live in $VM_DIR/NAME/: console.log (serial console,
# ttyS0), channel.log (command channel, ttyS1), qemu.log, cmdline.
# Every function returns 0 on success; failures print "NAME: why" on stderr.

QEMU_TOP=${QEMU_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Verdicts (t_begin, t_pass, t_fail, pass, fail, skip) and wait_for.
. "$QEMU_TOP/tests/lib/verdict.sh"
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
VM_DIR=${VM_DIR:-${TMP:-/tmp}/vms}
RIG_BOARD=${RIG_BOARD:-$QEMU_TOP/board/qemu-x86_64}
SYS_SERIAL=${SYS_SERIAL:-SYS0001}
FLASH_SERIAL=${FLASH_SERIAL:-FLASH001}
# A VM's state lives in files under $VM_DIR/NAME (pid, t0, mark), so the
# functions also work from subshells, e.g. a scenario run as
# `tally < <(scenario)` and vm_stop_all in the parent.

_vm_err() { echo "$*" >&2; }

# qemu_available: true when QEMU can run here; otherwise prints why.
qemu_available() {
	command -v "$QEMU_BIN" >/dev/null 2>&1 || { echo "$QEMU_BIN not installed (apt-get install qemu-system-x86)"; return 1; }
	return 0
}

# ---- starting and stopping ---------------------------------------------

# vm_start NAME [options]: boots a VM in the background.
#   --sys IMG|none     system disk (slot 0000:00:04.0, serial $SYS_SERIAL)
#   --flash IMG|none   flash (slot 0000:00:05.0, serial $FLASH_SERIAL)
#   --sys-serial S, --flash-serial S
#   --boot ORDER       sys,flash (default), flash,sys, sys, flash
#   --rtc WHEN         guest clock at power-on: 2026-11-22T23:58:00 (UTC), or now
#   --menu MODE        rewrite the flash boot menu's default entry first
#                      (auto, restore, restore-settings, seal, verify, shell)
#   --append ARGS      with --menu: extra kernel arguments (e.g. abur.confirm=SYS0001)
#   --timeout TENTHS   with --menu: menu timeout (default 1 with --menu)
#   --no-fallthrough   do not emulate the firmware fall-through (see below)
#   --mem MB (512), --no-reboot (QEMU exits instead of rebooting), --qemu ARG (repeatable)
# The flash image is modified in place by --menu: pass a copy.
vm_start() {
	local name=$1 sys=none flash=none boot=sys,flash rtc= mem=512 menu= append= mtimeout=1
	local sys_serial=$SYS_SERIAL flash_serial=$FLASH_SERIAL noreboot= extra=() d args i fallthrough=1
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--sys) sys=$2; shift ;;
		--flash) flash=$2; shift ;;
		--sys-serial) sys_serial=$2; shift ;;
		--flash-serial) flash_serial=$2; shift ;;
		--boot) boot=$2; shift ;;
		--rtc) rtc=$2; shift ;;
		--menu) menu=$2; shift ;;
		--append) append=$2; shift ;;
		--timeout) mtimeout=$2; shift ;;
		--mem) mem=$2; shift ;;
		--no-reboot) noreboot=1 ;;
		--no-fallthrough) fallthrough= ;;
		--qemu) extra+=("$2"); shift ;;
		*) _vm_err "vm_start: unknown option $1"; return 2 ;;
		esac
		shift
	done
	vm_running "$name" && { _vm_err "vm_start: $name is already running"; return 1; }
	if [ -n "$menu" ]; then
		[ "$flash" != none ] || { _vm_err "vm_start: --menu needs --flash"; return 2; }
		flash_menu "$flash" "$menu" "$append" "$mtimeout" || return 1
	fi
	d=$VM_DIR/$name
	mkdir -p "$d"
	rm -f "$d/stalls"
	: >>"$d/console.log"
	: >>"$d/channel.log"
	args=(-accel tcg -machine pc -m "$mem" -smp 1 -nographic -nic none -no-user-config
		-chardev "pipe,id=con,path=$d/con" -serial chardev:con
		-chardev "pipe,id=chan,path=$d/chan" -serial chardev:chan
		-chardev "pipe,id=mon,path=$d/mon" -mon "chardev=mon,mode=readline"
		-boot strict=off)
	[ -n "$rtc" ] && { [ "$rtc" = now ] && args+=(-rtc base=utc) || args+=(-rtc "base=$rtc"); }
	[ -n "$noreboot" ] && args+=(-no-reboot)
	local si=0 fi=0 n=1 o
	for o in ${boot//,/ }; do
		case "$o" in sys) si=$n ;; flash) fi=$n ;; *) _vm_err "vm_start: bad --boot $boot"; return 2 ;; esac
		n=$((n + 1))
	done
	if [ "$sys" != none ]; then
		[ -f "$sys" ] || { _vm_err "vm_start: $sys: no such image"; return 1; }
		args+=(-drive "if=none,id=sys,file=$sys,format=raw,cache=writeback"
			-device "nvme,id=sysdisk,drive=sys,serial=$sys_serial,addr=04.0$([ "$si" -gt 0 ] && echo ",bootindex=$si")")
	fi
	if [ "$flash" != none ]; then
		[ -f "$flash" ] || { _vm_err "vm_start: $flash: no such image"; return 1; }
		args+=(-drive "if=none,id=flash,file=$flash,format=raw,cache=writeback"
			-device "nvme,id=flashdisk,drive=flash,serial=$flash_serial,addr=05.0$([ "$fi" -gt 0 ] && echo ",bootindex=$fi")")
	fi
	args+=("${extra[@]}")
	echo "$QEMU_BIN ${args[*]}" >"$d/cmdline"
	printf '%s\0' "${args[@]}" >"$d/args"
	rm -f "$d/fallthrough"
	if [ -n "$fallthrough" ] && [ "$sys" != none ] && [ "$flash" != none ] && [ "$boot" = sys,flash ]; then
		: >"$d/fallthrough"
	fi
	t_now >"$d/t0"
	_vm_launch "$name"
	echo "== $name: booting (sys=$(basename "$sys"), flash=$(basename "$flash"), boot=$boot${rtc:+, rtc=$rtc}${menu:+, menu=$menu}${append:+ $append})" >&2
}

# _vm_launch NAME: starts QEMU with the arguments vm_start saved in
# $VM_DIR/NAME/args, the console readers and the fall-through watcher, and
# marks the console (vm_wait looks at this boot only).
_vm_launch() {
	local name=$1 d=$VM_DIR/$1 args=() i
	mapfile -d '' args <"$d/args"
	rm -f "$d"/con.in "$d"/con.out "$d"/chan.in "$d"/chan.out "$d"/mon.in "$d"/mon.out
	for i in con chan mon; do mkfifo "$d/$i.in" "$d/$i.out"; done
	"$QEMU_BIN" "${args[@]}" </dev/null >"$d/qemu.log" 2>&1 &
	echo "$!" >"$d/pid"
	disown $! 2>/dev/null # no "Killed" job notices after a power cut
	_vm_exec_wait "$name"
	stat -c %s "$d/console.log" >"$d/mark"
	# Readers: QEMU holds both FIFO ends, so these end when it exits.  No
	# helper keeps the caller's stdout open: `x=$(vm_start ...)` or
	# `tally < <(scenario)` must not wait for the VM to end.
	cat "$d/con.out" >>"$d/console.log" 2>/dev/null </dev/null &
	echo "$!" >"$d/con.reader"
	cat "$d/chan.out" >>"$d/channel.log" 2>/dev/null </dev/null &
	cat "$d/mon.out" >>"$d/monitor.log" 2>/dev/null </dev/null &
	if [ -f "$d/fallthrough" ]; then
		_vm_fallthrough "$name" "$(cat "$d/pid")" </dev/null >/dev/null 2>&1 &
	fi
	return 0
}

# QEMU 7.2's emulated NVMe controller (Debian 12) now and then stops taking
# commands from an I/O queue: the guest kernel's shadow-doorbell writes go
# unseen, it reports "nvme nvme0: I/O 160 (I/O Cmd) QID 1 timeout,
# aborting" after 30 s, resets the controller, and the queue stalls again.
# Nothing inside the guest causes or cures it.  When vm_wait sees that
# signature, it power-cycles the VM, as a technician would a hung server:
# the console notes "RIG-EMULATOR: ...", the boot starts over on the same
# disks, and the scenario's own checks decide the rest.  Twice per
# vm_start at most; a third stall fails the wait.
VM_STALL_RE='nvme nvme[0-9]+: I/O [0-9]+ (\([^)]*\) )?QID [1-9][0-9]* timeout'
VM_STALL_MAX=${VM_STALL_MAX:-2}
_vm_power_cycle() { # NAME
	local name=$1 d=$VM_DIR/$1 n
	n=$(($(cat "$d/stalls" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$d/stalls"
	if [ "$n" -gt "$VM_STALL_MAX" ]; then
		_vm_err "vm_wait: $name: QEMU's NVMe emulation stalled $n times; giving up"
		return 1
	fi
	_vm_err "$name: QEMU's emulated NVMe stopped completing I/O ($(vm_console "$name" | grep -E -m 1 -o "$VM_STALL_RE")); power-cycling the VM ($n of $VM_STALL_MAX)"
	vm_kill "$name"
	# The console reader may still be copying what the old QEMU wrote (the
	# stall warning among it): the new boot's mark must come after all that.
	wait_for -t 5 _vm_gone "$(cat "$d/con.reader")"
	printf '\nRIG-EMULATOR: QEMU NVMe I/O queue stalled; VM power-cycled (%s of %s)\n' "$n" "$VM_STALL_MAX" >>"$d/console.log"
	_vm_launch "$name"
}

# SeaBIOS boots only the first hard disk in the boot order (it maps one
# disk to 0x80 and has a single "Hard Disk" boot entry): when the system
# disk is not bootable it tries floppy and CD and stops, where a server's
# firmware would try the next disk.  This watcher stands in for that: when
# SeaBIOS reports "Boot failed: not a bootable disk", it notes
# "RIG-FIRMWARE: ..." in console.log, puts the flash first, resets the VM,
# and restores system-disk-first as soon as SeaBIOS has picked the flash,
# so a later reboot tries the system disk again.
_vm_fallthrough() { # NAME PID: watches that QEMU (not a later one after a power cycle)
	local name=$1 pid=$2 log=$VM_DIR/$1/console.log pos
	pos=$(stat -c %s "$log")
	while [ "$(cat "$VM_DIR/$name/pid" 2>/dev/null)" = "$pid" ] && vm_running "$name"; do
		if tail -c +$((pos + 1)) "$log" | grep -q 'Boot failed: not a bootable disk'; then
			pos=$(stat -c %s "$log")
			printf '\nRIG-FIRMWARE: system disk not bootable: falling through to the flash\n' >>"$log"
			_vm_bootorder "$name" flashdisk sysdisk
			vm_reset "$name"
			# SeaBIOS goes on to floppy and CD before the reset lands: their
			# "Booting from" lines are the old boot's.  The new boot starts
			# at its banner; what it boots from comes after that.
			pos=$(_vm_log_after "$name" "$pos" 'SeaBIOS \(version')
			while vm_running "$name" && ! tail -c +$((pos + 1)) "$log" | grep -q 'Booting from'; do sleep 0.1; done
			pos=$(stat -c %s "$log")
			_vm_bootorder "$name" sysdisk flashdisk
		fi
		sleep 0.2
	done
}

# _vm_log_after NAME POS RE: waits (while the VM runs) for RE in the console
# after byte POS and prints the byte offset where it starts.
_vm_log_after() {
	local log=$VM_DIR/$1/console.log at
	while vm_running "$1"; do
		at=$(tail -c +$(($2 + 1)) "$log" | grep -a -b -m 1 -o -E "$3" | cut -d: -f1)
		[ -n "$at" ] && { echo $(($2 + at)); return 0; }
		sleep 0.1
	done
	echo "$2"
}

_vm_bootorder() { # NAME FIRST SECOND (device ids); bootindex values must stay unique
	_vm_monitor "$1" "qom-set /machine/peripheral/$2 bootindex 11"
	_vm_monitor "$1" "qom-set /machine/peripheral/$3 bootindex 12"
	_vm_monitor "$1" "qom-set /machine/peripheral/$2 bootindex 1"
	_vm_monitor "$1" "qom-set /machine/peripheral/$3 bootindex 2"
}

_vm_pidof() { # NAME: the QEMU pid while it runs (checked against its command line)
	local p
	p=$(cat "$VM_DIR/$1/pid" 2>/dev/null) || return 1
	[ -n "$p" ] && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$VM_DIR/$1/con" &&
		[ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && echo "$p"
}

vm_running() { _vm_pidof "$1" >/dev/null; } # NAME
_vm_stopped() { ! vm_running "$1"; }
_vm_gone() { ! kill -0 "$1" 2>/dev/null; } # PID

# _vm_exec_wait NAME: returns once the launched child is QEMU (or gone).
# Until the forked shell has exec'd QEMU, /proc/PID/cmdline is the shell's
# and vm_running says no: a vm_wait right after vm_start on a loaded host
# took that for "QEMU exited" (CI, 0.3 s after the start).
_vm_exec_wait() {
	wait_for -t 20 -i 0.05 _vm_launched "$1" "$(cat "$VM_DIR/$1/pid")" || true
}
_vm_launched() { # NAME PID: QEMU runs, or PID has exited
	vm_running "$1" || ! kill -0 "$2" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$2/stat" 2>/dev/null)" = Z ]
}

# vm_elapsed NAME: seconds since vm_start, one decimal.
vm_elapsed() {
	t_since "$(cat "$VM_DIR/$1/t0" 2>/dev/null || echo 0)"
}

# vm_wait_exit NAME [TIMEOUT]: waits for QEMU to exit (poweroff, -no-reboot).
vm_wait_exit() {
	local name=$1 t=${2:-60}
	wait_for -t "$t" -i 0.2 _vm_stopped "$name" || { _vm_err "vm_wait_exit: $name still running after ${t}s"; return 1; }
	wait "$(cat "$VM_DIR/$name/pid")" 2>/dev/null
	sleep 0.2 # let the console readers drain
	return 0
}

# _vm_fifo_put FIFO TEXT: writes TEXT to one of QEMU's input FIFOs; gives up
# after 5 s, since opening a FIFO whose QEMU has exited blocks for ever.
_vm_fifo_put() { timeout 5 sh -c 'printf "%s" "$1" >"$2"' _ "$2" "$1"; }

_vm_monitor() { _vm_fifo_put "$VM_DIR/$1/mon.in" "$2
"; } # NAME COMMAND

# vm_poweroff NAME [TIMEOUT]: clean shutdown.  Runs `poweroff` in the guest
# when its command channel answers, else presses the ACPI power button;
# kills QEMU if it is still up after TIMEOUT (default 60) and fails.
vm_poweroff() {
	local name=$1 t=${2:-60}
	vm_running "$name" || return 0
	if grep -q 'ABUR-RUN-READY' "$VM_DIR/$name/channel.log" 2>/dev/null; then
		# busybox init handles poweroff; the flash initramfs's shell init does not.
		_vm_chan_send "$name" poweroff-$$ \
			'sync; if tr "\0" "\n" </proc/1/cmdline | grep -qx /init; then poweroff -f; else poweroff; fi' || true
	else
		_vm_monitor "$name" system_powerdown
	fi
	if vm_wait_exit "$name" "$t"; then
		echo "== $name: powered off after $(vm_elapsed "$name")s" >&2
		return 0
	fi
	vm_kill "$name"
	return 1
}

# vm_kill NAME: power cut (QEMU killed; what the guest had not written is lost).
vm_kill() {
	local name=$1
	local p
	p=$(_vm_pidof "$name") || return 0
	kill -KILL "$p" 2>/dev/null
	while kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; do sleep 0.05; done
	wait "$p" 2>/dev/null
	sleep 0.2
	echo "== $name: power cut after $(vm_elapsed "$name")s" >&2
}

# vm_reboot NAME: clean reboot from inside the guest (over the channel);
# moves the mark first, so vm_wait then looks at the new boot only.
vm_reboot() {
	vm_mark "$1"
	_vm_chan_send "$1" "reboot-$RANDOM" \
		'sync; if tr "\0" "\n" </proc/1/cmdline | grep -qx /init; then reboot -f; else reboot; fi'
}

# vm_reset NAME: hardware reset (reboot without a clean shutdown).
vm_reset() { _vm_monitor "$1" system_reset; }

# vm_stop_all [KEEP...]: kills every VM still running under $VM_DIR but the
# ones named (use in an EXIT trap).
vm_stop_all() {
	local f vm k
	for f in "$VM_DIR"/*/pid; do
		[ -f "$f" ] || continue
		vm=$(basename "$(dirname "$f")")
		for k in "$@"; do [ "$vm" = "$k" ] && continue 2; done
		vm_kill "$vm" 2>/dev/null
	done
	return 0
}

# ---- the serial console ------------------------------------------------

# vm_mark NAME: later vm_wait calls look only at console output after now.
vm_mark() { stat -c %s "$VM_DIR/$1/console.log" >"$VM_DIR/$1/mark"; }

# vm_console NAME: the console output since the last vm_mark (or vm_start).
vm_console() {
	tail -c +$(($(cat "$VM_DIR/$1/mark" 2>/dev/null || echo 0) + 1)) "$VM_DIR/$1/console.log" | tr -d '\r\0'
}

# vm_console_plain NAME: vm_console without terminal escape sequences.
vm_console_plain() { vm_console "$1" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g'; }

# vm_wait NAME REGEX [TIMEOUT]: waits until the console output since the
# last mark matches the extended REGEX; prints the matching line.  Fails
# (status 1) on timeout or when QEMU exits first.  Does not move the mark.
vm_wait() {
	local name=$1 re=$2 t=${3:-60} end line
	end=$(($(date +%s) + t))
	local con
	while :; do
		con=$(vm_console "$name")
		line=$(grep -E -m 1 -e "$re" <<<"$con") && { echo "$line"; return 0; }
		if grep -q -E -e "$VM_STALL_RE" <<<"$con"; then
			_vm_power_cycle "$name" || return 1
			end=$(($(date +%s) + t)) # the boot starts over
			continue
		fi
		if ! vm_running "$name"; then
			sleep 0.3
			line=$(vm_console "$name" | grep -E -m 1 -e "$re") && { echo "$line"; return 0; }
			_vm_err "vm_wait: $name: QEMU exited before /$re/ appeared (after $(vm_elapsed "$name")s)"
			return 1
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			_vm_err "vm_wait: $name: no /$re/ within ${t}s; its kernel's blocked tasks and registers:"
			vm_dump "$name"
			return 1
		fi
		sleep 0.2
	done
}

# vm_dump NAME: when a guest seems stuck, asks its kernel (magic SysRq from
# the keyboard; the rig disk boots with sysrq_always_enabled) for its
# blocked tasks and the CPU's registers, and copies the console output
# since the mark to stderr, so a failed run's log shows where it hung.
vm_dump() {
	local name=$1 k
	vm_running "$name" || return 0
	for k in 8 w l; do
		_vm_monitor "$name" "sendkey alt-sysrq-$k"
		sleep 1
	done
	_vm_monitor "$name" "info registers"
	sleep 1
	tr -d '\r' <"$VM_DIR/$name/monitor.log" | grep -a -o 'RIP=[0-9a-f]* .*HLT=[01]' | tail -n 1 | sed "s/^/    $name| /" >&2
	vm_console_plain "$name" | tail -n 60 | sed "s/^/    $name| /" >&2
}

# vm_why NAME: the last two non-blank console lines since the mark, on one line.
vm_why() {
	vm_console_plain "$1" | grep -v '^[[:space:]]*$' | tail -n 2 | tr '\n' ' '
}

# vm_send NAME TEXT: types TEXT on the serial console (no newline added;
# use $'\r' for Enter, $'\t' for Tab at the syslinux menu).
vm_send() { _vm_fifo_put "$VM_DIR/$1/con.in" "$2"; }

# vm_menu_pick NAME KEY [TIMEOUT]: waits for the flash boot menu and presses
# an entry's hotkey, then Enter: a auto, r restore, t restore-settings,
# s seal, v verify, h shell.  (Or use vm_start --menu to change the default.)
vm_menu_pick() {
	vm_wait "$1" 'Automatic recovery in' "${3:-60}" >/dev/null || return 1
	vm_send "$1" "$2"
	sleep 0.5
	vm_send "$1" $'\r'
}

# ---- the command channel (ttyS1) --------------------------------------

_vm_chan_send() { # NAME ID COMMAND (format: see qemu/rig-channel.sh)
	local b64
	b64=$(printf '%s' "$3" | base64 -w0)
	_vm_fifo_put "$VM_DIR/$1/chan.in" "$2 $b64 $(printf '%s %s' "$2" "$b64" | sha256sum | cut -c1-16)
"
}

# vm_run [-t TIMEOUT] NAME COMMAND: runs COMMAND with sh in the guest (rig
# server or flash initramfs started with abur.rig=ttyS1), prints its
# stdout+stderr and returns its exit status; 124 on timeout, 125 when the
# channel never came up.  Waits up to 120 s for the channel to start; a
# request the guest did not take up (e.g. sent while it was rebooting) is
# sent again every 5 s until TIMEOUT.
vm_run() {
	local t=120
	[ "$1" = -t ] && { t=$2; shift 2; }
	local name=$1 cmd=$2 id log end sent
	log=$VM_DIR/$name/channel.log
	end=$(($(date +%s) + 120))
	until grep -q 'ABUR-RUN-READY' "$log" 2>/dev/null; do
		vm_running "$name" && [ "$(date +%s)" -lt "$end" ] || { _vm_err "vm_run: $name: no command channel"; return 125; }
		sleep 0.2
	done
	id=r$RANDOM$RANDOM
	end=$(($(date +%s) + t))
	sent=0
	until grep -q "^ABUR-RUN-END $id " "$log"; do
		if ! vm_running "$name" || [ "$(date +%s)" -ge "$end" ]; then
			_vm_err "vm_run: $name: '$cmd' did not finish within ${t}s"
			vm_console "$name" | grep -q -E -e "$VM_STALL_RE" &&
				_vm_err "vm_run: $name: QEMU's emulated NVMe stalled meanwhile: $(vm_console "$name" | grep -E -m 1 -o "$VM_STALL_RE")"
			return 124
		fi
		if [ "$(date +%s)" -ge "$sent" ] && ! grep -q "^ABUR-RUN-BEGIN $id\$" "$log"; then
			_vm_chan_send "$name" "$id" "$cmd"
			sent=$(($(date +%s) + 5))
		fi
		sleep 0.1
	done
	awk -v id="$id" '$0 == "ABUR-RUN-BEGIN " id {on = 1; next}
		on && index($0, "ABUR-RUN-END " id " ") == 1 {exit}
		on {print}' "$log"
	return "$(sed -n "s/^ABUR-RUN-END $id \([0-9]*\).*/\1/p" "$log" | head -n 1)"
}

# ---- disk images -------------------------------------------------------

# img_blank FILE SIZE_MB: a blank replacement disk (all zeros, sparse).
img_blank() { rm -f "$1" && truncate -s "${2}M" "$1"; }

# img_copy SRC DST: a sparse copy.
img_copy() { cp --sparse=always "$1" "$2"; }

# img_sum FILE: sha256 of a whole image (to prove nothing was written).
img_sum() { sha256sum <"$1" | cut -c1-64; }

# img_part_offset IMG N: byte offset of partition N.
img_part_offset() {
	local start
	start=$(sfdisk -d "$1" 2>/dev/null | awk -v n="$2" -F'[ ,=]+' '
		$1 ~ /[^0-9]'"$2"'$/ { for (i = 1; i < NF; i++) if ($i == "start") print $(i + 1) }' | head -n 1)
	[ -n "$start" ] || { _vm_err "img_part_offset: $1 has no partition $2"; return 1; }
	echo $((start * 512))
}

# img_debugfs IMG N REQUEST: runs a debugfs request on ext4 partition N.
img_debugfs() {
	local off
	off=$(img_part_offset "$1" "$2") || return 1
	debugfs -R "$3" "$1?offset=$off" 2>/dev/null
}

# img_cat IMG N PATH: a file's content from ext4 partition N (fails if absent).
img_cat() {
	img_exists "$1" "$2" "$3" || { _vm_err "img_cat: $3 not in $(basename "$1") partition $2"; return 1; }
	img_debugfs "$1" "$2" "cat $3"
}

# img_exists IMG N PATH
img_exists() { img_debugfs "$1" "$2" "stat $3" | grep -q '^Inode:'; }

# img_ls IMG N DIR: names in DIR, one per line (no . and ..).
img_ls() { img_debugfs "$1" "$2" "ls -p $3" | awk -F/ 'NF > 5 && $6 != "." && $6 != ".." {print $6}'; }

# img_put IMG N SRC PATH: writes local file SRC as PATH into ext4 partition
# N of a powered-off image (replacing it; the parent directory must exist).
img_put() {
	local off
	off=$(img_part_offset "$1" "$2") || return 1
	debugfs -w -R "rm $4" "$1?offset=$off" >/dev/null 2>&1
	debugfs -w -R "write $3 $4" "$1?offset=$off" >/dev/null 2>&1
	img_exists "$1" "$2" "$4" || { _vm_err "img_put: could not write $4"; return 1; }
}

# img_foreign FILE MB: a used disk that is not ours: a DOS label and an
# ext4 partition labelled "data" holding a file (for "foreign disk" tests).
img_foreign() {
	rm -f "$1" && truncate -s "${2}M" "$1" || return 1
	printf 'label: dos\nlabel-id: 0x0f0e1a2b\nstart=1MiB, type=83\n' | sfdisk -q "$1" || return 1
	local d
	d=$(mktemp -d) || return 1
	echo "somebody else's data" >"$d/README"
	mkfs.ext4 -q -F -L data -E offset=1048576 -d "$d" "$1" $(($2 - 1))M >/dev/null 2>&1
	rm -rf "$d"
	img_exists "$1" 1 /README
}

# img_mount IMG N DIR: loop-mounts ext4 partition N read-only (img_umount DIR).
img_mount() {
	local off
	off=$(img_part_offset "$1" "$2") || return 1
	mkdir -p "$3" && mount -o ro,loop,offset="$off" "$1" "$3"
}
img_umount() { umount "$1"; }

# ---- the rig's images --------------------------------------------------

# flash_menu IMG MODE [APPEND] [TIMEOUT]: sets the flash's default boot-menu
# entry, extra kernel arguments and timeout (tenths of a second).
flash_menu() {
	"$QEMU_TOP/qemu/mkflash.sh" --menu "$1" --board "$RIG_BOARD" --default "$2" \
		${3:+--append "$3"} ${4:+--timeout "$4"} 2>/dev/null
}

# rig_images [ABUR]: builds (or reuses, when nothing changed) the rig's
# system disk and flash image for the abur binary ($ABUR by default);
# sets RIG_DISK, RIG_FLASH.  Images go to $(dirname ABUR)/boot/.
rig_images() {
	local abur=${1:-${ABUR:-$QEMU_TOP/build/abur}} out
	out=$(cd "$(dirname "$abur")" && pwd)/boot
	RIG_DISK=$out/rig-disk.img
	RIG_FLASH=$out/flash.img
	"$QEMU_TOP/qemu/mkrigdisk.sh" --abur "$abur" --board "$RIG_BOARD" --out "$RIG_DISK" >&2 || return 1
	"$QEMU_TOP/qemu/mkflash.sh" --abur "$abur" --board "$RIG_BOARD" --out "$RIG_FLASH" >&2 || return 1
}

# ---- failure reports ---------------------------------------------------

# vm_tail NAME [N]: the last N console lines, for a failure report.
vm_tail() { tail -n "${2:-15}" "$VM_DIR/$1/console.log" | tr -d '\r' | sed 's/^/    | /' >&2; }
