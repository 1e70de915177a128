#!/usr/bin/env python3
"""treelist.py ROOT [SKIP...]: what a restore of ROOT must reproduce, one
line per path (sorted): path, type, mode, owner, size, mtime (ns), symlink
target, SHA-256 of the content, every xattr (ACLs and capabilities are
xattrs: system.posix_acl_*, security.capability) and, for a file with
several links, the first path of its inode.  SKIP are paths relative to
ROOT left out with everything below them."""
import hashlib
import os
import stat
import sys


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def xattrs(path):
    out = []
    for name in sorted(os.listxattr(path, follow_symlinks=False)):
        val = os.getxattr(path, name, follow_symlinks=False)
        out.append("%s=%s" % (name, val.hex()))
    return ",".join(out)


def entries(root, skip):
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirs[:] = sorted(d for d in dirs if os.path.normpath(os.path.join(rel_dir, d)) not in skip)
        if rel_dir == ".":
            yield "."
        for name in sorted(dirs + files):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel not in skip:
                yield rel


def main():
    root, skip = sys.argv[1], set(sys.argv[2:])
    first_of_inode = {}
    lines = []
    for rel in sorted(entries(root, skip)):
        p = os.path.join(root, rel)
        st = os.lstat(p)
        kind = stat.S_IFMT(st.st_mode)
        target = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ""
        content = sha(p) if stat.S_ISREG(st.st_mode) else ""
        link = ""
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            link = first_of_inode.setdefault(st.st_ino, rel)
        size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        lines.append(" ".join(str(x) for x in (
            repr(rel), oct(kind), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, size,
            st.st_mtime_ns, repr(target), content, xattrs(p), repr(link))))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
