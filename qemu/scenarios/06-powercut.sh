# 6. Power cut during a nightly backup, at several points: the store always verifies.
scenario() {
	. "$TOP/qemu/scenarios/common.sh"
	t_begin "6 powercut: power cut during a nightly backup"
	[ -f "$SYS" ] || { t_fail "needs scenario 1"; return; }
	local delay n=0 bad=
	narrate "Power cuts while the nightly backup writes to the flash (killed at several moments)."
	for delay in 0.5 1.5 3; do
		n=$((n + 1))
		server_boot cut$n 2026-11-26T22:20:00 || { t_fail "server did not boot after cut $((n - 1)): $(vm_why cut$n)"; return; }
		guest cut$n "echo 'cut = $n' >> /etc/vms/recorder.ini; date -s '2026-11-26 23:59:58'" >/dev/null
		sleep "$delay"
		vm_kill cut$n
		if ! flash_store_do host_abur verify >"$TMP/verify.$n" 2>&1; then
			bad="$bad after-cut-$n:$(tail -1 "$TMP/verify.$n")"
			continue
		fi
		rm -rf "${TMP:?}/restored"
		flash_store_do host_abur restore config --to "$TMP/restored" >/dev/null 2>&1 &&
			[ -f "$TMP/restored/etc/vms/recorder.ini" ] || bad="$bad restore-after-cut-$n"
	done
	look "After every cut, 'abur verify' passes and the newest valid config restores."
	[ -z "$bad" ] && t_pass "6 powercut: store verified and restorable after $n cuts" || t_fail "$bad"
}
