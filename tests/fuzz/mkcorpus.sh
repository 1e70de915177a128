#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ from real ABUR output
# (as root, needs loop devices): seals of a GPT and a DOS "VMS disk" and
# file-level backups into a directory store (manifests, layout.ini,
# payloads), a daemon run to its first midnight (daemon.state), archives
# made with GNU tar, and encodings of small stores for the walk fuzzer.
# Hand-written seeds (tests/fuzz/seeds/NAME/) are copied in as well.
#   TOP=$PWD ABUR=build/abur tests/fuzz/mkcorpus.sh
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ABUR=$(realpath "${ABUR:-$TOP/build/abur}")
# shellcheck source=../lib/common.sh
. "$TOP/tests/lib/common.sh"
# shellcheck source=../lib/image.sh
. "$TOP/tests/lib/image.sh"
# shellcheck source=../lib/daemon.sh
. "$TOP/tests/lib/daemon.sh"
out=$TOP/tests/fuzz/corpus
STORE=$TMP/store
set -e
rm -rf "$out"
mkdir -p "$out"/{config,manifest,layout,state,restore,walk} "$STORE"
cp -r "$TOP"/tests/fuzz/seeds/. "$out"/

# ---- configurations ----
for b in "$TOP"/board/*/abur.ini; do cp "$b" "$out/config/board-$(basename "$(dirname "$b")").ini"; done

# ---- seals: os generation manifests and layout.ini ----
for label in gpt dos; do
	vms_disk "$TMP/disk-$label.img" "$label"
	mkdir -p "$STORE/$label"
	"$ABUR" -c "$INI" --store "$STORE/$label" seal --disk "$DEV" >/dev/null
	for m in "$STORE/$label"/abur/*/g*/manifest.ini; do
		cp "$m" "$out/manifest/seal-$label-$(basename "$(dirname "$(dirname "$m")")").ini"
	done
	tar --zstd -xOf "$STORE/$label"/abur/os/g*/disk.tar.zst layout.ini >"$out/layout/seal-$label.ini"
done

# ---- file-level backups: a small tree with every kind of entry restore allows ----
root=$TMP/root
mkdir -p "$root/etc/vms/sub/deeper" "$root/etc/vms/empty"
printf 'LICENSE-KEY-0123456789\n' >"$root/etc/vms/license.lic"
printf '[server]\nport = 7001\n' >"$root/etc/vms/server.ini"
printf 'x' >"$root/etc/vms/sub/deeper/odd name;[x]=y"
ln -s server.ini "$root/etc/vms/link"
ln "$root/etc/vms/server.ini" "$root/etc/vms/hard"
cat >"$TMP/files.ini" <<EOT
[flash]
store = $STORE/files
mount = $TMP/mnt
[component license]
paths = $root/etc/vms/license.lic
[component config]
paths = $root/etc/vms
exclude = $root/etc/vms/license.lic
keep = 3
EOT
cp "$TMP/files.ini" "$out/config/files.ini"
mkdir -p "$STORE/files"
for i in 1 2 3; do
	echo "change $i" >>"$root/etc/vms/server.ini"
	"$ABUR" -c "$TMP/files.ini" backup >/dev/null
done
for m in "$STORE"/files/abur/*/g*/manifest.ini; do
	g=$(dirname "$m")
	n="files-$(basename "$(dirname "$g")")-$(basename "$g")"
	cp "$m" "$out/manifest/$n.ini"
	cp "$g/data.tar.zst" "$out/restore/$n.tar.zst"
done

# ---- archives from GNU tar: raw, zstd, pax, with links, a FIFO, an absolute path ----
a=$TMP/arch
mkdir -p "$a/d/e"
echo hi >"$a/d/f"
ln -s f "$a/d/l"
ln -s ../../etc "$a/d/up"
ln "$a/d/f" "$a/d/h"
mkfifo "$a/d/fifo"
(cd "$a" && tar --format=pax -cf "$out/restore/gnu-pax.tar" d &&
	tar --format=gnu -cf "$out/restore/gnu-gnu.tar" d &&
	tar --format=pax --zstd -cf "$out/restore/gnu-pax.tar.zst" d &&
	tar --format=ustar -cf "$out/restore/gnu-ustar.tar" d/f d/l &&
	tar --format=pax -P -cf "$out/restore/gnu-absolute.tar" "$a/d/f" &&
	tar --format=pax --exclude=d/fifo --transform='s,^d/f$,d/../f,' -cf "$out/restore/gnu-dotdot.tar" d)

# ---- the daemon state at its first midnight ----
daemon_config "$STORE/daemon" <<EOT
[component license]
paths = $root/etc/vms/license.lic
policy = nightly
[component config]
paths = $root/etc/vms
policy = change
quiet = 30s
EOT
mkdir -p "$STORE/daemon"
cp "$CFG" "$out/config/daemon.ini"
setclock "2026-11-22 22:00:00"
start_daemon
cp "$STATE" "$out/state/start.state"
setclock "2026-11-23 00:00:00"
wait_event '"event":"backup","component":"license"'
cp "$STATE" "$out/state/midnight.state"
echo "more" >>"$root/etc/vms/server.ini"
setclock "2026-11-23 00:10:00"
wait_state '^dirty 1$' || true
cp "$STATE" "$out/state/dirty.state"
stop_daemon

# ---- walk: small stores, one record per entry (see tests/fuzz/fuzz_walk.c) ----
encode() { # STOREDIR [max payload bytes]
	local s=$1 max=${2:-4096} p
	(cd "$s" && find abur -mindepth 1 ! -name .lock | sort) | while read -r p; do
		if [ -d "$s/$p" ]; then
			printf 'd 0 %s\n' "$p"
		elif [ "$(stat -c %s "$s/$p")" -le "$max" ]; then
			printf 'f %d %s\n' "$(stat -c %s "$s/$p")" "$p"
			cat "$s/$p"
		fi
	done
}
encode "$STORE/files" >"$out/walk/files.store"
encode "$STORE/daemon" >"$out/walk/daemon.store"
encode "$STORE/gpt" 0 >"$out/walk/seal-gpt-nopayload.store"
# One generation whose manifest the fuzzer completes ("@": size and sha256 of the payload).
g=$(find "$STORE/files/abur/config" -maxdepth 1 -name 'g*' | sort | tail -n 1)
{
	printf 'f %d abur/STORE\n' "$(stat -c %s "$STORE/files/abur/STORE")"
	cat "$STORE/files/abur/STORE"
	printf 'f %d abur/config/g000009/data.tar.zst\n' "$(stat -c %s "$g/data.tar.zst")"
	cat "$g/data.tar.zst"
	sed -e 's/^seq = .*/seq = 9/' -e 's/^size = .*/size = @/' -e 's/^sha256 = .*/sha256 = @/' \
		"$g/manifest.ini" >"$TMP/m"
	printf 'M %d abur/config/g000009/manifest.ini\n' "$(stat -c %s "$TMP/m")"
	cat "$TMP/m"
	printf 'd 0 abur/config/g999999\nd 0 abur/config/.tmp-x\nf 3 abur/config/g12\nabcd 0 abur/Bad\n'
} >"$out/walk/fill.store"
set +e
pass "corpus: $(find "$out" -type f | wc -l) seeds in $out"
