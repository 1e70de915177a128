#!/bin/sh
# The QEMU rig's command channel (guest side), installed as
# /usr/libexec/abur-rig-channel in the rig disk and the flash initramfs and
# started only when the kernel command line says abur.rig=PORT.
# qemu/lib.sh vm_run writes one request line on the port:
#     <id> <command, base64> <first 16 hex digits of sha256("<id> <base64>")>
# and reads back
#     ABUR-RUN-BEGIN <id>
#     <stdout and stderr of `sh -c command`, ending with a newline>
#     ABUR-RUN-END <id> <exit status>
# A line whose checksum does not match (bytes lost while the port was being
# opened, e.g. right after a reboot) is ignored; vm_run sends it again, and
# a request with the id just run is not run twice.
# "ABUR-RUN-READY" is printed once the channel listens.
tty=${1:-/dev/ttyS1}
[ -c "$tty" ] || { echo "abur-rig-channel: no $tty" >&2; exit 1; }
exec <"$tty" >"$tty" 2>&1
stty raw -echo 2>/dev/null
out=/tmp/.abur-rig-channel.$$
last=
printf 'ABUR-RUN-READY\n'
while IFS= read -r line; do
	set -- $line
	[ $# = 3 ] || continue
	[ "$(printf '%s %s' "$1" "$2" | sha256sum | cut -c1-16)" = "$3" ] || continue
	[ "$1" = "$last" ] && continue
	id=$1 last=$1
	cmd=$(printf '%s' "$2" | base64 -d 2>/dev/null)
	printf 'ABUR-RUN-BEGIN %s\n' "$id"
	(cd / && sh -c "$cmd") </dev/null >"$out" 2>&1
	rc=$?
	cat "$out"
	[ -s "$out" ] && [ -n "$(tail -c 1 "$out")" ] && echo
	rm -f "$out"
	printf 'ABUR-RUN-END %s %s\n' "$id" "$rc"
done
