# Helpers for the store suites (sourced after common.sh).

# store_ini FILE STORE KEEP [extra ini text]: a configuration with the
# config (/etc/vms) and software (/opt/vms) components.
store_ini() {
	cat >"$1" <<EOF2
[flash]
store = $2
mount = $TMP/mnt
[restore]
max_total_size = 1G
max_entries = 100000
[component config]
paths = /etc/vms
keep = $3
[component software]
paths = /opt/vms
keep = $3
${4:-}
EOF2
}

# store_state DIR: names, sizes and hashes of everything in a store (not
# its lock files).
store_state() {
	(cd "$1" && find . -path ./abur/.lock -prune -o -path ./abur/.readers -prune -o -path ./lost+found -prune \
		-o -printf '%p %y %s\n' | sort && find . -type f ! -name .lock ! -name .readers -exec sha256sum {} + | sort)
}
