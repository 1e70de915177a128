# 2. Nightly backup: a config change and an update at 22:30 are captured at
# midnight: the config, the new VMS software, and what the update changed
# on the system disk (a camera driver, a changed system file, a removed
# one) as an update generation of the sealed os image.
UPDATE_CMD="echo 5.3.0-rig >/opt/vms/VERSION && mkdir -p /lib/modules/extra && \
head -c 40000 /dev/urandom >/lib/modules/extra/acme-cam.ko && echo /bin/rbash >>/etc/shells && \
rm /usr/share/vms/legacy-driver.txt && sync"

scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "2 nightly: a change and an update at 22:30 are captured at midnight"
	[ -f "$SYS" ] || { t_fail "needs scenario 1"; return; }
	narrate "The server runs with 'abur daemon'. At 22:30 the administrator changes /etc/vms/recorder.ini."
	server_boot srv 2026-11-22T22:29:30 || { t_fail "server did not boot: $(vm_why srv)"; return; }
	local before after
	before=$(gens srv config | wc -l)
	guest srv "sed -i 's/^fps = .*/fps = 30/' /etc/vms/recorder.ini && date" >&2 || { t_fail "cannot change the config"; return; }
	narrate "The same evening an update is installed: VMS 5.3.0, a new camera driver, a changed system file, a removed one."
	guest srv "$UPDATE_CMD" >&2 || { t_fail "cannot install the update"; return; }
	guest srv "md5sum /lib/modules/extra/acme-cam.ko" >"$TMP/driver.md5" || { t_fail "cannot read the driver"; return; }
	narrate "Fast-forward the server's clock to 23:59:50 (the daemon re-plans when the clock is set)."
	guest srv "date -s '2026-11-22 23:59:50'" >/dev/null
	look "At midnight the daemon sees the change is older than an hour and backs up the config."
	if ! guest_wait srv 90 "abur list config | grep -q ' nightly '"; then
		t_fail "no nightly config generation after midnight: $(guest srv 'abur status' | tr '\n' ' ')"
		return
	fi
	after=$(gens srv config | wc -l)
	look "The store now holds the midnight generation (abur list config, in the server):"
	guest srv "abur list config" | tee /dev/stderr | show
	if ! guest_wait srv 120 "abur list os | grep -q 'update of'"; then
		t_fail "no os update generation after midnight: $(guest srv 'abur list os; abur status' | tr '\n' ' ')"
		return
	fi
	look "And an update generation of the sealed os image, with the new software (abur list os software):"
	guest srv "abur list os; abur list software" | tee /dev/stderr | show
	[ "$after" -gt "$before" ] && t_pass || t_fail "generations $before -> $after"
	# the server stays up for scenario 3
}
