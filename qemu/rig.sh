#!/usr/bin/env bash
# The disk-failure rig: the whole life of a server, end to end, in QEMU.
#
#   qemu/rig.sh [--demo] [--abur FILE] [SCENARIO...]     (default: all)
#
# Scenarios (qemu/scenarios/NN-*.sh, run in order; later ones reuse the
# disks the earlier ones left):
#   1 install     seal from the flash menu (abur.mode=seal, confirmed)
#   2 nightly     a config change at 22:30 is backed up at midnight
#   3 deferral    a change at 23:30 defers that night's backup by a night
#   4 failure     blank replacement disk: automatic reimage, boots again
#   5 settings    technician restores settings only from the boot menu
#   6 powercut    power cut during a nightly backup: the store survives
#   7 reimagecut  power cut during the reimage: the next boot finishes it
#   8 foreign     a non-blank foreign disk in the slot: nothing written
#   9 technician  full restore from the menu: wrong serial, right serial
# Each prints PASS/FAIL with the reason and its time; the run ends with
# "N passed, N failed".  --demo narrates for a newcomer.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
DEMO=0
ABUR=${ABUR:-$TOP/build/abur}
want=()
while [ $# -gt 0 ]; do
	case "$1" in
	--demo) DEMO=1 ;;
	--abur) ABUR=$2; shift ;;
	*) want+=("$1") ;;
	esac
	shift
done
export ABUR
TMP=${RIG_TMP:-$(mktemp -d /tmp/abur-rig.XXXXXX)}
mkdir -p "$TMP"
export VM_DIR=$TMP/vms
. "$TOP/qemu/lib.sh"
trap 'vm_stop_all' EXIT

n_pass=0 n_fail=0
# Narration goes to fd 3 (the terminal); scenario stdout is their verdicts.
exec 3>&1
# narrate TEXT: what is happening, for a newcomer (always in the log).
narrate() {
	echo ">> $*" >&2
	[ "$DEMO" = 1 ] && printf '\n\033[1m>> %s\033[0m\n' "$*" >&3
	return 0
}
# look TEXT: what to look at.
look() { [ "$DEMO" = 1 ] && printf '   %s\n' "$*" >&3; return 0; }
# show: copies stdin to the demo's terminal, indented (evidence, not claims).
# A progress bar's repaints (ESC[K) collapse to their last state.
show() {
	if [ "$DEMO" = 1 ]; then awk '{ sub(/.*\033\[K/, ""); print "   | " $0 }' >&3; else cat >/dev/null; fi
}
if ! why=$(qemu_available); then
	tally < <(skip "rig: $why")
	tally_summary
	exit 0
fi
narrate "Building the rig: a virtual server's system disk (busybox Linux, abur daemon, fake VMS) and the ABUR flash" \
	2>>"$TMP/rig.log"
if ! rig_images "$ABUR"; then
	tally < <(fail "rig images could not be built")
	tally_summary
	exit 1
fi
# The disks the scenarios pass along: the server's system disk and its flash.
# shellcheck disable=SC2034 # used by the scenarios
SYS=$TMP/sys.img FLASH=$TMP/flash.img

for s in "$TOP"/qemu/scenarios/[0-9]*.sh; do
	n=$(basename "$s" | sed 's/^0*\([0-9]*\)-.*/\1/')
	if [ ${#want[@]} -gt 0 ]; then
		hit=0
		for w in "${want[@]}"; do [ "$w" = "$n" ] && hit=1; done
		[ $hit = 1 ] || continue
	fi
	# shellcheck disable=SC1090
	. "$s"
	# In this shell, not a subshell: the VMs a scenario leaves running (2
	# leaves the server up for 3) stay known to the next one.
	scenario >"$TMP/verdict.$n" 2>>"$TMP/rig.log"
	tally <"$TMP/verdict.$n"
	# A failed scenario may leave its VM up, holding the disk images the
	# next one needs: stop all but the server that 2 leaves for 3.
	vm_stop_all srv
done
vm_stop_all

stalls=$(cat "$VM_DIR"/*/console.log 2>/dev/null | grep -a -c '^RIG-EMULATOR:')
echo
[ "$stalls" -gt 0 ] &&
	echo "note: QEMU's emulated NVMe stalled $stalls time(s); each time the VM was power-cycled (RIG-EMULATOR in its console)"
echo "Logs: $TMP (rig.log; vms/NAME/console.log is each VM's serial console)"
tally_summary
[ "$n_fail" = 0 ]
