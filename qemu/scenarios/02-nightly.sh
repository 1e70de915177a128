# 2. Nightly backup: a change at 22:30 is snapshotted at midnight.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "2 nightly: a change at 22:30 is backed up at midnight"
	[ -f "$SYS" ] || { t_fail "needs scenario 1"; return; }
	narrate "The server runs with 'abur daemon'. At 22:30 the administrator changes /etc/vms/recorder.ini."
	server_boot srv 2026-11-22T22:29:30 || { t_fail "server did not boot: $(vm_why srv)"; return; }
	local before after
	before=$(gens srv config | wc -l)
	guest srv "sed -i 's/^fps = .*/fps = 30/' /etc/vms/recorder.ini && date" >&2 || { t_fail "cannot change the config"; return; }
	narrate "Fast-forward the server's clock to 23:59:50 (the daemon re-plans when the clock is set)."
	guest srv "date -s '2026-11-22 23:59:50'" >/dev/null
	look "At midnight the daemon sees the change is older than an hour and backs up the config."
	if ! wait_for srv 90 "abur list config | grep -q ' nightly '"; then
		t_fail "no nightly config generation after midnight: $(guest srv 'abur status' | tr '\n' ' ')"
		return
	fi
	after=$(gens srv config | wc -l)
	look "The store now holds the midnight generation (abur list config, in the server):"
	guest srv "abur list config" | tee /dev/stderr | show
	[ "$after" -gt "$before" ] && t_pass || t_fail "generations $before -> $after"
	# the server stays up for scenario 3
}
