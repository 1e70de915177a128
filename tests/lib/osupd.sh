# Shared by the os update tests (sourced after common.sh and image.sh): a
# sealed VMS system disk in a store, and the updates of two nights.
STORE=$TMP/store
sed -i -e "s#^state_dir = .*#state_dir = $TMP/state#" "$INI"
MNT=$TMP/root
mkdir -p "$MNT"
# tree_list DIR: what a restore must reproduce (excluded paths left out).
tree_list() { python3 "$TOP/tests/lib/treelist.py" "$1" lost+found var/log; }
gens() { find "$STORE/abur/os" -maxdepth 1 -name 'g*' -printf '%f\n' | sort | tr '\n' ' '; }
newest() { find "$STORE/abur/os" -maxdepth 1 -name 'g*' -printf '%f\n' | sort | tail -1; }
extra() { sed -n "s/^$2 = //p" "$STORE/abur/os/$1/manifest.ini"; }

# sealed_disk: a store, a GPT VMS disk with files an update will replace,
# delete or change, sealed.  Sets DEV and SEAL (its os generation).
sealed_disk() {
	make_store "$STORE" 96 || return 1
	vms_disk "$TMP/sys.img" gpt 2>"$TMP/mk.log" || return 1
	mount "${DEV}p2" "$MNT" || return 1
	mkdir -p "$MNT/usr/bin" "$MNT/usr/share/doc/legacy" "$MNT/usr/lib/modules/6.1.0-18-amd64/kernel" "$MNT/etc/vms.d"
	rand 150000 >"$MNT/usr/bin/vmsctl"
	rand 20000 >"$MNT/usr/bin/ping"
	chmod 0755 "$MNT/usr/bin/vmsctl" "$MNT/usr/bin/ping"
	for i in 1 2 3; do echo "legacy $i" >"$MNT/usr/share/doc/legacy/$i.txt"; done
	rand 40000 >"$MNT/usr/lib/modules/6.1.0-18-amd64/kernel/old.ko"
	echo "motd v1" >"$MNT/etc/motd"
	echo "big" >"$MNT/etc/big.conf"
	umount "$MNT"
	abur seal --disk "$DEV" >"$TMP/seal.log" 2>&1 || return 1
	# shellcheck disable=SC2034 # read by the tests that source this
	SEAL=$(newest)
}

# night_one: an update of the running root at MNT (binaries, a kernel
# module and a driver, deletions, modes, owners, xattrs, capabilities,
# ACLs, hard links, symlinks, the MBR boot code and the BIOS boot
# partition of DEV, and the software component's tree).
night_one() {
	rand 160000 >"$MNT/usr/bin/vmsctl.new" && mv "$MNT/usr/bin/vmsctl.new" "$MNT/usr/bin/vmsctl"
	chmod 0755 "$MNT/usr/bin/vmsctl"
	mkdir -p "$MNT/usr/lib/modules/6.1.0-18-amd64/extra" "$MNT/usr/lib/firmware/acme"
	rand 30000 >"$MNT/usr/lib/modules/6.1.0-18-amd64/extra/acme-cam.ko"
	rand 9000 >"$MNT/usr/lib/firmware/acme/cam7.bin"
	rm -r "${MNT:?}/usr/share/doc/legacy" "${MNT:?}/usr/lib/modules/6.1.0-18-amd64/kernel/old.ko"
	chmod 0600 "$MNT/etc/big.conf"
	chown 1000:1000 "$MNT/etc/motd"
	setcap cap_net_raw+ep "$MNT/usr/bin/ping"
	setfattr -n user.vendor -v acme "$MNT/usr/lib/firmware/acme/cam7.bin"
	setfacl -m u:1234:rw "$MNT/usr/lib/modules/6.1.0-18-amd64/extra/acme-cam.ko"
	setfacl -d -m g:4321:rx "$MNT/usr/lib/firmware/acme"
	ln "$MNT/usr/bin/vmsctl" "$MNT/usr/bin/vmsctl.hard"
	ln -s vmsctl "$MNT/usr/bin/vms"
	ln -s /dev/null "$MNT/etc/vms.d/disabled.conf"
	touch -d '2001-02-03 04:05:06' "$MNT/usr/bin/ping"
	rand 440 | dd of="$DEV" bs=440 count=1 conv=notrunc 2>/dev/null                # boot loader: MBR code
	rand 30000 | dd of="${DEV}p1" bs=30000 count=1 seek=3 conv=notrunc 2>/dev/null # and its core image
	mkdir -p "$MNT/var/log/new" && echo log >"$MNT/var/log/new/x.log"              # excluded
	echo "v2" >>"$MNT/opt/vms/bin/vmsd"                                            # the software component's
	sync
}

# night_two: a smaller update.
night_two() {
	echo "motd v2" >"$MNT/etc/motd"
	rand 5000 >"$MNT/usr/bin/vmsctl-helper"
	rm "$MNT/usr/lib/firmware/acme/cam7.bin"
	sync
}
