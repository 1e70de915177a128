#!/usr/bin/env python3
"""A Debian-like root filesystem for bench/updates.sh, and its update.

  updtree.py base ROOT [NFILES]       ~NFILES files and links (default 50,000), ~690 MB
  updtree.py update ROOT CHANGED      a package-upgrade-like update of ~110 MB;
                                      CHANGED gets the paths (relative, one a
                                      line) whose content is new: the floor's
                                      input; CHANGED.deleted and CHANGED.modes
                                      the paths removed and only chmod'ed
  updtree.py verify EXPORT ROOT CHANGED   the extracted abur export of the
                                      update against the live root: exit 1 if wrong

Deterministic (fixed seeds).  Content: text from a pool of lines (configs,
docs, Python: compresses about 3-4x), "binaries" mixing random, low-entropy
and repeated 4 KiB blocks (about 1.6x), and already-compressed data (random:
man pages .gz, changelogs .gz, firmware).  Directories a few levels deep,
symlinks (library sonames), a few hard links, several owners and modes.
Everything the update touches lies outside the paths ABUR excludes from os.
"""
import os
import random
import sys

WORDS = ("camera stream record motion alarm zone retention codec bitrate width height storage archive "
         "user group role permission schedule event trigger relay input output preset analytics overlay "
         "timezone gateway multicast unicast default enable disable option value config module driver "
         "kernel device network interface address route service daemon socket buffer thread process").split()


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        r = self.r
        self.lines = []
        for _ in range(20000):
            n = r.randrange(2, 12)
            self.lines.append(" ".join(r.choice(WORDS) if r.random() < 0.8 else str(r.randrange(10**6))
                                       for _ in range(n)) + "\n")
        self.pool = [r.randbytes(4096) for _ in range(64)]
        self.low = bytes.maketrans(bytes(range(256)), bytes((i % 16) * 7 for i in range(256)))

    def text(self, n):
        out, size = [], 0
        while size < n:
            chunk = self.r.choices(self.lines, k=64)
            out.extend(chunk)
            size += sum(map(len, chunk))
        return "".join(out)[:n].encode()

    def binary(self, n):
        r, out = self.r, []
        for _ in range((n + 4095) // 4096):
            k = r.random()
            if k < 0.4:
                out.append(r.randbytes(4096))
            elif k < 0.8:
                out.append(r.randbytes(4096).translate(self.low))
            else:
                out.append(r.choice(self.pool))
        return b"".join(out)[:n]

    def packed(self, n):
        return self.r.randbytes(n)

    def size(self, mean, lo=16, hi=None):
        s = max(lo, int(self.r.expovariate(1.0 / mean)))
        return min(s, hi) if hi else s


def put(root, rel, data, mode=0o644, owner=None):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)
    if owner:
        os.chown(p, *owner)


def base(root, nfiles):
    g = Gen(20261201)
    r = g.r
    scale = nfiles / 50000.0

    def n(k):
        return max(1, int(k * scale))
    put(root, "etc/fstab", b"UUID=root / ext4 errors=remount-ro 0 1\n")
    put(root, "etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID=12\n')
    put(root, "etc/hostname", b"vms-server\n")
    # The VMS: abur's software, config and license components (not os).
    put(root, "opt/vms/bin/vmsd", g.binary(300000), 0o755)
    put(root, "etc/vms/server.ini", b"[server]\nport = 7001\n")
    put(root, "etc/vms/license.lic", b"LICENSE-KEY-0123456789\n", 0o600)
    for i in range(n(1500)):  # configuration
        put(root, "etc/%s.d/%s%04d.conf" % (WORDS[i % 40], r.choice(WORDS), i), g.text(g.size(1500)),
            0o600 if i % 50 == 0 else 0o644)
    for p in range(n(2000)):  # documentation: one directory per package
        d = "usr/share/doc/pkg%04d" % p
        put(root, d + "/copyright", g.text(g.size(2000)))
        put(root, d + "/changelog.Debian.gz", g.packed(g.size(3000)))
        for j in range(6):
            put(root, "%s/%s/%s%d.txt" % (d, ["examples", "html", "."][j % 3], r.choice(WORDS), j),
                g.text(g.size(2500)))
    for i in range(n(6000)):  # man pages
        put(root, "usr/share/man/man%d/%s%05d.%d.gz" % (i % 8 + 1, r.choice(WORDS), i, i % 8 + 1),
            g.packed(g.size(3000)))
    for i in range(n(6000)):  # translations
        put(root, "usr/share/locale/l%02d/LC_MESSAGES/pkg%04d.mo" % (i % 60, i), g.binary(g.size(8000)))
    for i in range(n(12000)):  # Python modules, three levels deep
        put(root, "usr/lib/python3/dist-packages/p%03d/%s/m%02d/%s%d.py" % (i // 60, WORDS[i % 4], i % 3,
                                                                               r.choice(WORDS), i),
            g.text(g.size(6000)))
    for i in range(n(1500)):  # shared libraries and their sonames
        lib = "usr/lib/x86_64-linux-gnu/lib%s%04d.so" % (r.choice(WORDS), i)
        put(root, lib + ".1.2.3", g.binary(g.size(100000, 4096, 2000000)))
        os.symlink(os.path.basename(lib) + ".1.2.3", os.path.join(root, lib + ".1"))
        os.symlink(os.path.basename(lib) + ".1", os.path.join(root, lib))
    for i in range(n(1000)):  # programs
        put(root, "usr/bin/%s%04d" % (r.choice(WORDS), i), g.binary(g.size(60000, 4096, 1000000)), 0o755)
    progs = sorted(os.listdir(os.path.join(root, "usr/bin")))
    for name in progs[:140:7]:  # hard links (perl5.36 / perl style)
        src = os.path.join(root, "usr/bin", name)
        os.link(src, src + ".hl")
    for i in range(n(320)):  # the codecs and plugins the update replaces
        put(root, "usr/lib/vms-codecs/%02d/libcodec%03d.so" % (i % 16, i), g.binary(r.randrange(200000, 400000)),
            0o755)
    for i in range(10):  # firmware and databases: large, incompressible
        put(root, "usr/lib/firmware/vendor%d/fw%d.bin" % (i % 3, i), g.packed(r.randrange(4, 9) << 20))
    for i in range(n(4000)):  # the package database
        put(root, "var/lib/dpkg/info/pkg%04d.%s" % (i // 2, ["list", "md5sums"][i % 2]), g.text(g.size(2000)),
            owner=None)
    for i in range(n(200)):  # a service's data, another owner
        put(root, "var/lib/vmsdb/t%04d.dat" % i, g.binary(g.size(8000)), 0o640, (998, 998))


def update(root, changed):
    """A package upgrade: new codecs (written then renamed, as dpkg does),
    a new module tree, edited configs, a patched database, deletions, modes."""
    g = Gen(20261202)
    r = g.r
    new = []

    def rel_files(top):
        out = []
        for d, _, fs in os.walk(os.path.join(root, top)):
            out.extend(os.path.relpath(os.path.join(d, f), root) for f in fs)
        return sorted(out)

    codecs = rel_files("usr/lib/vms-codecs")
    for rel in r.sample(codecs, min(300, len(codecs))):  # ~90 MB rewritten
        p = os.path.join(root, rel)
        size = os.path.getsize(p)
        put(root, rel + ".dpkg-new", g.binary(size + r.randrange(-20000, 20000)), 0o755)
        os.rename(p + ".dpkg-new", p)
        new.append(rel)
    for i in range(400):  # a new package: a module tree, ~3 MB
        rel = "usr/lib/python3/dist-packages/vmsnew/%s/m%d/%s%d.py" % (r.choice(WORDS), i % 5, r.choice(WORDS), i)
        if not os.path.exists(os.path.join(root, rel)):
            put(root, rel, g.text(g.size(6000)))
            new.append(rel)
    for i in range(20):  # and its plugins, ~6 MB
        rel = "usr/lib/vms-codecs/new/libplugin%02d.so" % i
        put(root, rel, g.binary(300000), 0o755)
        new.append(rel)
    os.symlink("libplugin00.so", os.path.join(root, "usr/lib/vms-codecs/new/libplugin.so"))
    new.append("usr/lib/vms-codecs/new/libplugin.so")
    confs = [c for c in rel_files("etc") if not c.startswith("etc/vms/")]
    for rel in r.sample(confs, min(150, len(confs))):  # edited configuration, in place
        with open(os.path.join(root, rel), "ab") as f:
            f.write(b"# changed by the upgrade\n" + g.text(200))
        new.append(rel)
    dbs = rel_files("var/lib/dpkg/info")
    for rel in r.sample(dbs, min(200, len(dbs))):
        with open(os.path.join(root, rel), "ab") as f:
            f.write(g.text(300))
        new.append(rel)
    fw = rel_files("usr/lib/firmware")[:2]  # two large files with 256 KiB patched in the middle
    for rel in fw:
        with open(os.path.join(root, rel), "r+b") as f:
            f.seek(os.path.getsize(os.path.join(root, rel)) // 2)
            f.write(g.packed(256 << 10))
        new.append(rel)
    docs = rel_files("usr/share/doc")
    deleted = r.sample(docs, min(300, len(docs)))
    for rel in deleted:  # removed files
        os.unlink(os.path.join(root, rel))
    gone = os.path.join(root, "usr/share/doc/pkg0001")
    for d, _, fs in os.walk(gone, topdown=False):
        for f in fs:
            os.unlink(os.path.join(d, f))
            deleted.append(os.path.relpath(os.path.join(d, f), root))
        os.rmdir(d)
        deleted.append(os.path.relpath(d, root))
    bins = [b for b in rel_files("usr/bin") if os.stat(os.path.join(root, b)).st_nlink == 1]
    modes = r.sample(bins, min(20, len(bins)))
    for rel in modes:  # modes only
        os.chmod(os.path.join(root, rel), 0o750)
    for name, paths in (("", new), (".deleted", deleted), (".modes", modes)):
        with open(changed + name, "w") as f:
            f.write("".join(x + "\n" for x in sorted(set(paths))))


def same(a, b):
    """None when paths a and b agree in type, mode, owner and content, else why not."""
    sa, sb = os.lstat(a), os.lstat(b)
    if (sa.st_mode, sa.st_uid, sa.st_gid) != (sb.st_mode, sb.st_uid, sb.st_gid):
        return "mode/owner %o %d:%d vs %o %d:%d" % (sa.st_mode, sa.st_uid, sa.st_gid, sb.st_mode, sb.st_uid, sb.st_gid)
    if os.path.islink(a):
        return None if os.readlink(a) == os.readlink(b) else "link target"
    if os.path.isfile(a):
        with open(a, "rb") as fa, open(b, "rb") as fb:
            return None if fa.read() == fb.read() else "content"
    return None


def verify(export, root, changed):
    """The export of the update generation (extracted at EXPORT) against the
    live ROOT: every path the update wrote or removed is in it, right, and
    every chmod in its state; everything in it equals the live tree.  Prints
    each problem."""
    parts = [d for d in os.listdir(export) if d != ".abur"]
    x = os.path.join(export, parts[0]) if len(parts) == 1 else None
    bad = [] if x else ["export holds %s, not one partition" % parts]
    read = lambda n: [ln.rstrip("\n") for ln in open(changed + n)]
    for rel in read("") if x else []:
        if not os.path.lexists(os.path.join(x, rel)):
            bad.append("%s: changed but not in the update" % rel)
        else:
            why = same(os.path.join(x, rel), os.path.join(root, rel))
            bad += ["%s: %s" % (rel, why)] if why else []
    for d, _, fs in os.walk(x) if x else []:
        for f in fs:
            rel = os.path.relpath(os.path.join(d, f), x)
            why = same(os.path.join(x, rel), os.path.join(root, rel)) if os.path.lexists(
                os.path.join(root, rel)) else "not in the live tree"
            bad += ["%s: %s" % (rel, why)] if why else []
    state = {}  # metadata-only changes are only in the state (content: the seal's)
    for ln in open(os.path.join(export, ".abur", parts[0] + ".state")) if x else []:
        f = ln.rstrip("\n").split("\t")
        state[f[-1]] = f
    for rel in read(".modes"):
        mode = "%o" % (os.lstat(os.path.join(root, rel)).st_mode & 0o7777)
        if rel not in state or state[rel][0] != "m" or state[rel][2] != mode:
            bad.append("%s: chmod %s, state has %s" % (rel, mode, state.get(rel, ["nothing"])[:3]))
    pre = parts[0] + "/" if x else ""
    listed = set(ln.rstrip("\n")[len(pre):] for ln in open(os.path.join(export, ".abur/deleted"))
                 if ln.startswith(pre))
    for rel in read(".deleted"):
        parents = [rel] + [rel.rsplit("/", k)[0] for k in range(1, rel.count("/") + 1)]
        if not listed.intersection(parents):
            bad.append("%s: deleted but not listed" % rel)
    bad += ["%s: listed deleted but exists" % rel for rel in listed if os.path.lexists(os.path.join(root, rel))]
    for b in bad[:20]:
        print("  wrong capture: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "base":
        base(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 50000)
    elif sys.argv[1] == "update":
        update(sys.argv[2], sys.argv[3])
    else:
        sys.exit(verify(sys.argv[2], sys.argv[3], sys.argv[4]))
