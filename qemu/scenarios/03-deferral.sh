# 3. Deferral: a change at 23:30 defers that night's backup to the next midnight.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "3 deferral: a change at 23:30 waits a night"
	vm_running srv || server_boot srv 2026-11-23T23:29:30 || { t_fail "server did not boot: $(vm_why srv)"; return; }
	local n0 n1 n2 st
	guest srv "date -s '2026-11-23 23:30:00'" >/dev/null
	narrate "23:30: the administrator is still changing cameras.ini. Midnight comes within the hour."
	guest srv "echo 'fps = 12' >> /etc/vms/cameras.ini" >/dev/null || { t_fail "cannot change the config"; return; }
	n0=$(gens srv config | wc -l)
	guest srv "date -s '2026-11-23 23:59:50'" >/dev/null
	if ! guest_wait srv 90 "abur status | grep -qi defer"; then
		t_fail "status does not say deferred: $(guest srv 'abur status' | tr '\n' ' ')"
		return
	fi
	st=$(guest srv "abur status")
	echo "$st" >&2
	look "abur status: the backup is deferred until the next midnight, and says why."
	n1=$(gens srv config | wc -l)
	[ "$n1" = "$n0" ] || { t_fail "a generation was written despite the deferral ($n0 -> $n1)"; return; }
	narrate "Next night, no further change: at midnight the deferred backup is taken."
	guest srv "date -s '2026-11-24 23:59:50'" >/dev/null
	if ! guest_wait srv 90 "[ \$(abur list config | grep -c ' nightly ') -ge 2 ]"; then
		t_fail "no backup the next midnight: $(guest srv 'abur list config' | tr '\n' ' ')"
		return
	fi
	n2=$(gens srv config | wc -l)
	[ "$n2" -gt "$n1" ] && t_pass || t_fail "generations $n1 -> $n2"
	guest srv "sync" >/dev/null
	vm_poweroff srv
}
