#!/usr/bin/env bash
# The daemon and the os component (policy = nightly): every nightly run
# tries a capture; the package manager at work (its lock held, or a path
# it changes touched within defer_if_changed_within) defers the night as a
# configuration change does; an ordinary log line does not.  The capture
# itself is tested on loop devices (os_update.sh) and in the QEMU rig; here
# the host's root is not a sealed disk, so each attempt is an error event
# naming why, which is what proves the attempt.
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/daemon.sh"

mkdir -p "$TMP/store" "$TMP/root/etc/vms" "$TMP/dpkg" "$TMP/log"
echo "a = 1" >"$TMP/root/etc/vms/a.ini"
: >"$TMP/dpkg/lock"
echo "Package: base" >"$TMP/dpkg/status"
touch -d '2020-01-01' "$TMP/dpkg/status" "$TMP/dpkg" # their ctimes stay now: see below
# The nightly slot half an hour from the real now, and the test clock just
# before it: the package manager's files (real ctimes, now) then lie within
# the hour before the first slot and long before the next day's.
slot=$(date -u -d '+30 min' +%H:%M)
day=$(date -u -d '+30 min' +%F)
daemon_config "$TMP/store" <<EOF
[component os]
type = disk
policy = nightly
busy_lock = $TMP/dpkg/lock
changed_by = $TMP/dpkg/status
[component config]
paths = $TMP/root/etc/vms
policy = nightly
EOF
sed -i "s/^nightly = .*/nightly = $slot/" "$CFG"
slot_at() { date -u -d "@$(($(epoch "$day $slot:00") + $1))" '+%F %T'; } # SECONDS after the first slot

# Night 1: the package manager changed its status file less than an hour ago.
setclock "$(slot_at -600)"
start_daemon || { fail "daemon os: starts: $(tail -5 "$TMP/daemon.log" | tr '\n' ' ')"; exit 0; }
setclock "$(slot_at 0)"
if wait_event '"event":"deferred"' && grep '"event":"deferred"' "$EVENTS" | grep -q "changed within the hour"; then
	pass "the package manager's status changed within the hour: the night is deferred"
else
	fail "changed_by: $(tail -3 "$EVENTS" | tr '\n' ' ')"
fi

# Night 2: its lock is held (as dpkg holds it) at the slot.
hold_lock "$TMP/dpkg/lock" || fail "daemon os: the lock holder does not start"
setclock "$(slot_at 86400)"
if wait_event '"event":"deferred"' 2; then
	pass "the package manager holds its lock at the slot: the night is deferred"
else
	fail "busy_lock: $(tail -3 "$EVENTS" | tr '\n' ' ')"
fi
[ "$(count_event '"event":"backup","component":"config"')" = 0 ] &&
	pass "deferred nights back up nothing (config waits too: one rule)" || fail "a backup ran on a deferred night"
release_lock

# Night 3: quiet, though a log file was written just now.
echo "an ordinary log line" >>"$TMP/log/syslog"
setclock "$(slot_at 172800)"
if wait_event '"event":"backup","component":"config"' && wait_event '"event":"error","component":"os"'; then
	pass "a quiet night runs: config is backed up and the os capture is tried"
else
	fail "quiet night: $(tail -4 "$EVENTS" | tr '\n' ' ')"
fi
grep '"event":"error","component":"os"' "$EVENTS" | tail -1 | grep -q "no os seal" &&
	pass "the os capture's refusal names why (no seal in this store)" ||
	fail "os error: $(grep '"component":"os"' "$EVENTS" | tail -1)"
stop_daemon
sanitizer_verdict
