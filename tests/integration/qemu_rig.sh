# The QEMU disk-failure rig: every scenario of qemu/rig.sh (issue 7, and the
# agent's boot tests of issue 6), real firmware, disks and reboots.
. "$TOP/tests/lib/common.sh"
need_root "qemu rig" || exit 0
RIG_TMP=$TMP/rig "$TOP/qemu/rig.sh" --abur "$ABUR"
