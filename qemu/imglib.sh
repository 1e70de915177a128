# Helpers shared by the image builders (initramfs/build.sh, qemu/mkflash.sh,
# qemu/mkrigdisk.sh).  Sourced; every function returns non-zero on failure.

log() { echo "  $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# install_elf ROOT FILE DEST: copies an executable to ROOT/DEST with exactly
# the shared libraries ldd resolves for it, and the loader, at the paths
# the loader will look for them.  Debug information is stripped from the
# copy (the build's binary keeps it).
install_elf() {
	local root=$1 file=$2 dest=$3 lib path
	install -D -m 0755 "$file" "$root$dest" && strip --strip-debug "$root$dest" || return 1
	ldd "$file" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\/.*ld-linux/{print $1}' |
		while read -r lib; do
			path=$lib
			case "$lib" in /lib/x86_64-linux-gnu/* | /lib64/*) ;; *) path=/lib/x86_64-linux-gnu/${lib##*/} ;; esac
			[ -e "$root$path" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$path" || exit 1
		done
}

# install_busybox ROOT: Debian's busybox-static with a link per applet.
install_busybox() {
	local root=$1 a
	[ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install busybox-static"
	install -D -m 0755 /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ -e "$root/$a" ] && continue
		mkdir -p "$root/$(dirname "$a")"
		ln -s /bin/busybox "$root/$a"
	done
}

# install_modules ROOT KDIR KVER MODULE...: the modules and their
# dependencies; writes ROOT/etc/abur/modules.load (insmod order) and a
# modules.dep for busybox modprobe.
install_modules() {
	local root=$1 kdir=$2 kver=$3 m mdir=$2/lib/modules/$3 order
	shift 3
	order=$(for m in "$@"; do modprobe -d "$kdir" -S "$kver" --show-depends "$m" ||
		die "module $m not in kernel $kver"; done | awk '$1 == "insmod" && !seen[$2]++ {print $2}')
	mkdir -p "$root/etc/abur" "$root/lib/modules/$kver"
	: >"$root/etc/abur/modules.load"
	for m in $order; do
		m=${m#"$mdir"/}
		install -D -m 0644 "$mdir/$m" "$root/lib/modules/$kver/$m"
		echo "$m" >>"$root/etc/abur/modules.load"
	done
	cp "$mdir/modules.builtin" "$mdir/modules.builtin.modinfo" "$mdir/modules.order" "$root/lib/modules/$kver/"
	depmod -b "$root" "$kver"
}

# inputs_hash FILE...: one hash over the named files' contents (directories
# are walked: names relative to them, modes and contents).  Missing files
# hash as "missing", so the path a script was called by does not matter.
inputs_hash() {
	local f
	for f in "$@"; do
		if [ -d "$f" ]; then
			(cd "$f" && find . -type f -o -type l | LC_ALL=C sort | while read -r g; do
				echo "$g $(stat -c %a "$g") $(sha256sum <"$g" | cut -c1-64)"
			done)
		elif [ -e "$f" ]; then
			sha256sum <"$f" | cut -c1-64
		else
			echo missing
		fi
	done | sha256sum | cut -c1-64
}

# up_to_date OUT HASH: true when OUT exists and was built from HASH.
up_to_date() {
	[ -e "$1" ] && [ -f "$1.inputs" ] && [ "$(cat "$1.inputs")" = "$2" ]
}

# elf_deps FILE: the resolved library files of FILE (for inputs_hash).
elf_deps() {
	ldd "$1" 2>/dev/null | awk '/=> \//{print $3}' | xargs -r readlink -f
}
