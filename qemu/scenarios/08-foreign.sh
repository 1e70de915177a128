# 8. A non-blank foreign disk in the slot: nothing is written, the console says why.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "8 foreign: a disk with someone else's data is left alone"
	[ -f "$FLASH" ] || { t_fail "needs scenario 1"; return; }
	local other=$TMP/foreign.img before
	narrate "A technician puts in a disk that still holds another machine's data."
	img_blank "$other" 256
	mkfs.ext4 -q -F -L otherdata "$other"
	before=$(img_sum "$other")
	vm_start frn --sys "$other" --flash "$FLASH" --rtc 2026-11-28T09:00:00 || { t_fail "VM did not start"; return; }
	if ! vm_wait frn 'NOTHING DONE|RESTORED:' 600 >/dev/null || ! vm_console frn | grep -q 'NOTHING DONE'; then
		t_fail "the agent did not stop: $(vm_console frn | grep ABUR | tail -3 | tr '\n' ' ')"
		return
	fi
	vm_console frn | grep 'NOTHING DONE' >&2
	look "The console says why nothing was done and shows the menu."
	vm_kill frn
	[ "$(img_sum "$other")" = "$before" ] && t_pass || t_fail "the foreign disk was modified"
}
