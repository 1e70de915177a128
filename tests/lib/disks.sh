# Building small test system disks (sourced after common.sh).

# make_vms_tree ROOT: a fake VMS installation under ROOT.
make_vms_tree() {
	local r=$1
	mkdir -p "$r/opt/vms/bin" "$r/etc/vms" "$r/var/log" "$r/etc/abur"
	printf '7.4.2\n' >"$r/opt/vms/VERSION"
	printf '#!/bin/sh\necho recorder\n' >"$r/opt/vms/bin/recorder"
	chmod 755 "$r/opt/vms/bin/recorder"
	head -c 300000 /dev/urandom >"$r/opt/vms/bin/libcodec.so"
	printf '[recorder]\nretention_days = 30\nfps = 25\n' >"$r/etc/vms/recorder.ini"
	printf '[camera1]\nurl = rtsp://10.0.0.11/stream\n' >"$r/etc/vms/cameras.ini"
	printf 'LICENSE-KEY ABCD-1234-EFGH\n' >"$r/etc/vms/license.lic"
	printf 'UUID=placeholder / ext4 defaults 0 1\n' >"$r/etc/fstab"
}

# make_sys_disk FILE SIZE_MB LABEL(gpt|dos): BIOS boot (gpt), ext4 root with
# the fake VMS, swap. Prints nothing; leaves the file ready to attach.
make_sys_disk() {
	local img=$1 size=$2 label=${3:-gpt} dev root
	truncate -s "${size}M" "$img"
	if [ "$label" = gpt ]; then
		sfdisk -q "$img" <<EOT
label: gpt
start=1MiB, size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name=bios
start=2MiB, size=$((size - 12))MiB, type=0FC63DAF-8483-4772-8E3D-0798D1C47D2E, name=root
size=8MiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name=swap
EOT
	else
		sfdisk -q "$img" <<EOT
label: dos
start=1MiB, size=$((size - 10))MiB, type=83, bootable
size=8MiB, type=82
EOT
	fi
	dev=$(make_loop "$img") || return 1
	root=${dev}p2
	[ "$label" = dos ] && root=${dev}p1
	mkfs.ext4 -q -F -L vmsroot "$root"
	if [ "$label" = gpt ]; then mkswap -q -L vmsswap "${dev}p3"; else mkswap -q -L vmsswap "${dev}p2"; fi
	mkdir -p "$TMP/mnt-sys"
	mount "$root" "$TMP/mnt-sys" && make_vms_tree "$TMP/mnt-sys" && umount "$TMP/mnt-sys"
	losetup -d "$dev"
}

# test_ini FILE SYSTEM_DISK: an abur.ini for tests.
test_ini() {
	cat >"$1" <<EOT
[flash]
mount = $TMP/run-store
[disk]
system = $2
[restore]
max_total_size = 1G
[component os]
type = disk
policy = manual
keep = 2
[component software]
paths = /opt/vms
policy = manual
keep = 2
[component license]
paths = /etc/vms/license.lic
keep = 5
[component config]
paths = /etc/vms
exclude = /etc/vms/license.lic
keep = 5
EOT
}

# disk_ids DEV: PTUUID and every partition's PARTUUID, UUID and LABEL.
disk_ids() {
	blkid -p -o export "$1" | grep -E '^(PTUUID|PTTYPE)='
	local p
	for p in "$1"p*; do
		[ -b "$p" ] || continue
		echo "== ${p##*p}"
		blkid -p -o export "$p" | grep -E '^(PART_ENTRY_UUID|PART_ENTRY_NAME|UUID|LABEL|TYPE)=' | sort
	done
}
