# The QEMU disk-failure rig: every scenario of qemu/rig.sh (issue 7, and the
# agent's boot tests of issue 6), real firmware, disks and reboots.
. "$TOP/tests/lib/common.sh"
need_root "qemu rig" || exit 0
RIG_TMP=$TMP/rig "$TOP/qemu/rig.sh" --abur "$ABUR"
rc=$?
if [ $rc != 0 ]; then
	# Keep the evidence: every VM's serial console and the rig's log.
	keep=$(dirname "$ABUR")/test-logs/rig-vms
	rm -rf "$keep" && mkdir -p "$keep"
	cp "$TMP/rig/rig.log" "$keep/" 2>/dev/null
	for d in "$TMP"/rig/vms/*/; do
		[ -f "$d/console.log" ] && cp "$d/console.log" "$keep/$(basename "$d").console.log"
		# QEMU's own messages: why a VM that never booted exited
		[ -s "$d/qemu.log" ] && cp "$d/qemu.log" "$keep/$(basename "$d").qemu.log"
	done
	echo "rig consoles kept in $keep"
	# What the rig's waits said (and a hung guest's blocked tasks), for a
	# CI log that is all one gets.
	grep -a -E '^(vm_wait|vm_run|vm_wait_exit)|power-cycling|^    [a-z0-9]+\| ' "$TMP/rig/rig.log" | tail -n 60
fi
exit $rc
