#!/usr/bin/env bash
# Property: for random trees (fixed seeds, so every run builds the same
# trees) a backup either commits a generation that restores exactly, or
# refuses at backup time and commits nothing.  The trees hold what real
# servers hold: FIFOs and device nodes, sparse files, paths near PATH_MAX,
# hard links, xattrs (security.capability too), ACLs, odd names (spaces,
# newlines, non-UTF-8 bytes, a leading '-', '..x'), odd modes, owners and
# mtimes, symlinks (relative, absolute, dangling).  Compared: type, mode,
# owner, mtime, size, content, xattrs (ACLs are system.posix_acl_*),
# symlink targets and which names share an inode.
. "$TOP/tests/lib/common.sh"

SEEDS=${PROPERTY_SEEDS:-"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"}
fs=$TMP/fs
truncate -s 1G "$TMP/fs.img"
mkfs.ext4 -q -F "$TMP/fs.img"
mkdir -p "$fs"
mount_tracked -o loop,user_xattr,acl "$TMP/fs.img" "$fs" || {
	skip "property: cannot mount an ext4 image"
	exit 0
}

cat >"$TMP/tree.py" <<'PYEOF'
import hashlib, os, random, stat, subprocess, sys

SPECIAL = (stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK)
ODD = [b"with space", b"new\nline", b"\xff\xfe-latin1-\xe9", b"-leading-dash", b"..x", b".hidden",
       b"tab\there", b"\xe2\x98\x83 snow", b"q'uote\"", b"back\\slash", b"x" * 255]
CAP = bytes.fromhex("0100000200100000000000000000000000000000")  # v2: cap_net_bind_service permitted

def build(top, seed):
    rnd = random.Random(seed)
    os.makedirs(top)
    dirs, files = [top], []
    for i in range(rnd.randint(15, 40)):
        parent = rnd.choice(dirs)
        name = rnd.choice(ODD)[:240] + b"%d" % i if rnd.random() < 0.5 else b"f%d" % i
        p = os.path.join(parent, name)
        kind = rnd.choices(["file", "dir", "link", "hard", "fifo", "chr", "blk", "sparse"],
                           [8, 3, 2, 1, 0.5, 0.5, 0.3, 0.7])[0]
        if kind == "dir":
            os.mkdir(p, 0o755)
            dirs.append(p)
        elif kind == "file" or (kind == "hard" and not files):
            with open(p, "wb") as f:
                f.write(rnd.randbytes(rnd.choice([0, 1, 100, 4096, 70000])))
            files.append(p)
        elif kind == "hard":
            os.link(rnd.choice(files), p)
        elif kind == "link":
            os.symlink(rnd.choice([b"f1", b"../x", b"/etc/passwd", b"dangling/nowhere", b"a b\nc"]), p)
        elif kind == "fifo":
            os.mkfifo(p)
        elif kind in ("chr", "blk"):
            os.mknod(p, (stat.S_IFCHR if kind == "chr" else stat.S_IFBLK) | 0o600, os.makedev(1, 3))
        elif kind == "sparse":
            with open(p, "wb") as f:
                f.truncate(rnd.choice([1, 5, 30]) << 20)
                f.seek(rnd.randint(0, 1 << 20))
                f.write(b"data")
            files.append(p)
    if seed % 4 == 0:  # a path near PATH_MAX (the whole path, with the tree's prefix)
        p = top
        while len(p) + 202 < 4000:
            p = os.path.join(p, b"d" * 200)
        os.makedirs(p)
        with open(os.path.join(p, b"deep"), "wb") as f:
            f.write(b"deep")
    for p in files + dirs[1:]:
        if os.path.islink(p):
            continue
        os.chown(p, rnd.choice([0, 1000, 1234, 65534]), rnd.choice([0, 100, 1234]))
        if p in files:
            os.chmod(p, rnd.choice([0o644, 0o600, 0o755, 0o4755, 0o2750, 0o444, 0o000]))
        if rnd.random() < 0.3:
            os.setxattr(p, b"user.k%d" % rnd.randint(0, 9), rnd.randbytes(rnd.randint(0, 200)))
        if p in files and rnd.random() < 0.15:
            os.setxattr(p, b"security.capability", CAP)
        if rnd.random() < 0.2:
            opt = [b"-d"] if p in dirs and rnd.random() < 0.5 else []
            subprocess.run([b"setfacl"] + opt + [b"-m", b"u:1234:rw,g:100:r", p], check=True)
    for p in reversed(files + dirs):
        t = rnd.randint(1, 2000000000)
        os.utime(p, ns=(t * 10**9 + rnd.randint(0, 10**9 - 1),) * 2, follow_symlinks=False)

def describe(top):
    """rel path -> what must round-trip; specials left out (the backup skips them)."""
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames + ([b""] if dirpath == top else []):
            p = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(p)
            if stat.S_IFMT(st.st_mode) in SPECIAL:
                continue
            rel = os.path.relpath(p, top)
            d = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]
            if not stat.S_ISDIR(st.st_mode):
                d.append(st.st_mtime_ns)
            if stat.S_ISLNK(st.st_mode):
                d.append(os.readlink(p))
            else:
                d.append(sorted((k, os.getxattr(p, k, follow_symlinks=False))
                                for k in os.listxattr(p, follow_symlinks=False)))
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    d += [st.st_size, hashlib.sha256(f.read()).hexdigest()]
                inodes.setdefault(st.st_ino, []).append(rel)
            out[rel] = d
    links = sorted(sorted(v) for v in inodes.values() if len(v) > 1)
    return out, links

if sys.argv[1] == "build":
    build(os.fsencode(sys.argv[2]), int(sys.argv[3]))
else:
    a, b = describe(os.fsencode(sys.argv[2])), describe(os.fsencode(sys.argv[3]))
    if a == b:
        print("same: %d entries, %d hard-link groups" % (len(a[0]), len(a[1])))
        sys.exit(0)
    for k in sorted(set(a[0]) | set(b[0])):
        if a[0].get(k) != b[0].get(k):
            print("differs: %r: %r != %r" % (k, a[0].get(k), b[0].get(k)))
            break
    if a[1] != b[1]:
        print("hard links differ: %r != %r" % (a[1][:3], b[1][:3]))
    sys.exit(1)
PYEOF

ok=0 refused=0 bad=""
for seed in $SEEDS; do
	src=$fs/s$seed store=$fs/store$seed out=$fs/r$seed
	mkdir -p "$src/etc" "$store"
	python3 "$TMP/tree.py" build "$src/etc/vms" "$seed" || { bad="$bad seed $seed: cannot build;"; continue; }
	# Some seeds get limits their sparse files or entry counts exceed.
	size=1G entries=100000
	[ $((seed % 3)) = 0 ] && size=8M
	[ $((seed % 5)) = 0 ] && entries=25
	printf '[flash]\nstore = %s\nmount = %s\n[restore]\nmax_total_size = %s\nmax_entries = %s\n[component config]\npaths = /etc/vms\n' \
		"$store" "$TMP/mnt" "$size" "$entries" >"$TMP/p.ini"
	bout=$("$ABUR" -c "$TMP/p.ini" backup --root "$src" 2>&1)
	rc=$?
	ngen=$(find "$store/abur/config" -maxdepth 1 -name 'g*' 2>/dev/null | wc -l)
	if [ $rc = 1 ] && echo "$bout" | grep -Eq 'max_total_size|max_entries' && [ "$ngen" = 0 ]; then
		refused=$((refused + 1))
		echo "# seed $seed: refused at backup: $(echo "$bout" | tail -n 1 | cut -c 1-150)"
	elif [ $rc != 0 ] || [ "$ngen" != 1 ]; then
		bad="$bad seed $seed: backup rc=$rc, $ngen generations: $(echo "$bout" | tail -n 1 | cut -c 1-200);"
	elif ! rout=$("$ABUR" -c "$TMP/p.ini" restore config --to "$out" 2>&1); then
		bad="$bad seed $seed: committed but does not restore: $(echo "$rout" | tail -n 1 | cut -c 1-200);"
	elif ! cmp=$(python3 "$TMP/tree.py" compare "$src/etc/vms" "$out/etc/vms"); then
		bad="$bad seed $seed: $cmp;"
	else
		ok=$((ok + 1))
		echo "# seed $seed: round-trips ($cmp)"
	fi
	rm -rf "$src" "$store" "$out"
done
if [ -z "$bad" ] && [ $ok -gt 0 ] && [ $refused -gt 0 ]; then
	pass "property: $ok random trees round-trip exactly, $refused refused at backup, none committed unrestorable"
else
	fail "property: $ok round-trip, $refused refused; wrong:$bad"
fi
