#include "io.h"

#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int real_open(const char *p, int f, mode_t m)
{
	return open(p, f, m);
}
static int real_mkdir(const char *p, mode_t m)
{
	return mkdir(p, m);
}

static const struct io_ops real_ops = {
    .open = real_open,
    .write = write,
    .fsync = fsync,
    .rename = rename,
    .unlink = unlink,
    .mkdir = real_mkdir,
    .rmdir = rmdir,
};

static const struct io_ops *ops = &real_ops;
static bool force_walk; /* ABUR_IO_NO_OPENAT2: test the fallback on new kernels */
static enum io_fault fault_kind;
static unsigned long fault_at;
static unsigned long ncalls, nfsyncs;
static const char *trace_path;

void io_set_ops(const struct io_ops *o)
{
	ops = o ? o : &real_ops;
}
unsigned long io_calls(void)
{
	return ncalls;
}
unsigned long io_fsync_calls(void)
{
	return nfsyncs;
}

void io_fault_set(enum io_fault kind, unsigned long n)
{
	fault_kind = kind;
	fault_at = n;
	ncalls = nfsyncs = 0;
}

int io_fault_parse(const char *spec, enum io_fault *kind, unsigned long *n)
{
	static const struct {
		const char *name;
		enum io_fault kind;
	} kinds[] = {
	    {"crash", IO_FAULT_CRASH},
	    {"eio", IO_FAULT_EIO},
	    {"enospc", IO_FAULT_ENOSPC},
	    {"fsync", IO_FAULT_FSYNC},
	};
	const char *colon = strchr(spec, ':');
	char *end;

	if (!colon)
		return abur_fail(-EINVAL, "I/O fault '%s': expected KIND:N", spec);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strlen(kinds[i].name) != (size_t)(colon - spec) ||
		    strncmp(spec, kinds[i].name, (size_t)(colon - spec)) != 0)
			continue;
		errno = 0;
		*n = strtoul(colon + 1, &end, 10);
		if (errno || *end || *n == 0)
			return abur_fail(-EINVAL, "I/O fault '%s': N must be a positive number", spec);
		*kind = kinds[i].kind;
		return 0;
	}
	return abur_fail(-EINVAL, "I/O fault '%s': kind must be crash, eio, enospc or fsync", spec);
}

int io_setup_from_env(void)
{
	const char *spec = getenv("ABUR_IO_FAULT");
	enum io_fault kind;
	unsigned long n;
	int r;

	trace_path = getenv("ABUR_IO_TRACE");
	force_walk = getenv("ABUR_IO_NO_OPENAT2") != NULL;
	if (!spec || !*spec)
		return 0;
	r = io_fault_parse(spec, &kind, &n);
	if (r < 0)
		return r;
	io_fault_set(kind, n);
	return 0;
}

static void trace(const char *op, const char *what)
{
	int fd;
	char line[512];
	int len;

	if (!trace_path)
		return;
	fd = open(trace_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), "%lu %s %s\n", ncalls, op, what ? what : "-");
	if (write(fd, line, (size_t)len) < 0) {
		/* tracing is best effort */
	}
	close(fd);
}

/* Counts the call and decides whether the armed fault fires now.
 * Returns 0 to proceed or -errno to fail the call. */
static int gate(const char *op, const char *what, bool is_fsync)
{
	bool hit;

	ncalls++;
	if (is_fsync)
		nfsyncs++;
	trace(op, what);
	if (fault_kind == IO_FAULT_NONE)
		return 0;
	hit = fault_kind == IO_FAULT_FSYNC ? is_fsync && nfsyncs == fault_at : ncalls == fault_at;
	if (!hit)
		return 0;
	switch (fault_kind) {
	case IO_FAULT_CRASH:
		_exit(IO_CRASH_STATUS);
	case IO_FAULT_ENOSPC:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

int io_open(const char *path, int flags, mode_t mode)
{
	int r = gate("open", path, false);
	int fd;

	if (r < 0)
		return abur_fail(r, "open %s: %s", path, strerror(-r));
	fd = ops->open(path, flags | O_CLOEXEC, mode);
	if (fd < 0)
		return abur_fail(-errno, "open %s: %m", path);
	return fd;
}

int io_write_all(int fd, const void *buf, size_t n, const char *what)
{
	const char *p = buf;
	int r = gate("write", what, false);

	if (r < 0)
		return abur_fail(r, "write %s: %s", what, strerror(-r));
	while (n > 0) {
		ssize_t k = ops->write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return abur_fail(-errno, "write %s: %m", what);
		if (k == 0)
			return abur_fail(-EIO, "write %s: no progress", what);
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int io_fsync(int fd, const char *what)
{
	int r = gate("fsync", what, true);

	if (r < 0)
		return abur_fail(r, "fsync %s: %s", what, strerror(-r));
	if (ops->fsync(fd) < 0)
		return abur_fail(-errno, "fsync %s: %m", what);
	return 0;
}

int io_fsync_dir(const char *path)
{
	_cleanup_close_ int fd = -1;
	int r = gate("fsync", path, true);

	if (r < 0)
		return abur_fail(r, "fsync %s: %s", path, strerror(-r));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return abur_fail(-errno, "open %s: %m", path);
	if (ops->fsync(fd) < 0)
		return abur_fail(-errno, "fsync %s: %m", path);
	return 0;
}

int io_rename(const char *from, const char *to)
{
	int r = gate("rename", to, false);

	if (r < 0)
		return abur_fail(r, "rename %s: %s", to, strerror(-r));
	if (ops->rename(from, to) < 0)
		return abur_fail(-errno, "rename %s -> %s: %m", from, to);
	return 0;
}

int io_unlink(const char *path)
{
	int r = gate("unlink", path, false);

	if (r < 0)
		return abur_fail(r, "unlink %s: %s", path, strerror(-r));
	if (ops->unlink(path) < 0 && errno != ENOENT)
		return abur_fail(-errno, "unlink %s: %m", path);
	return 0;
}

int io_mkdir(const char *path, mode_t mode)
{
	int r = gate("mkdir", path, false);

	if (r < 0)
		return abur_fail(r, "mkdir %s: %s", path, strerror(-r));
	if (ops->mkdir(path, mode) < 0 && errno != EEXIST)
		return abur_fail(-errno, "mkdir %s: %m", path);
	return 0;
}

int io_rmdir(const char *path)
{
	int r = gate("rmdir", path, false);

	if (r < 0)
		return abur_fail(r, "rmdir %s: %s", path, strerror(-r));
	if (ops->rmdir(path) < 0 && errno != ENOENT)
		return abur_fail(-errno, "rmdir %s: %m", path);
	return 0;
}

int io_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
	_cleanup_free_ char *dir = xstrdup(path);
	_cleanup_close_ int fd = -1;
	int r;

	fd = io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return fd;
	r = io_write_all(fd, data, n, tmp);
	if (r == 0)
		r = io_fsync(fd, tmp);
	if (r == 0)
		r = io_rename(tmp, path);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return io_fsync_dir(dirname(dir));
}

/* ---- beneath a directory ---- */

static bool rel_ok(const char *rel)
{
	const char *p = rel;

	if (!*rel || *rel == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return p[-1] != '/';
}

const char *io_type_name(mode_t mode)
{
	static const struct {
		mode_t type;
		const char *name;
	} names[] = {
	    {S_IFREG, "a regular file"}, {S_IFDIR, "a directory"}, {S_IFLNK, "a symlink"},
	    {S_IFIFO, "a FIFO"},         {S_IFSOCK, "a socket"},   {S_IFCHR, "a character device"},
	    {S_IFBLK, "a block device"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if ((mode & S_IFMT) == names[i].type)
			return names[i].name;
	return "an unknown file type";
}

/* After -ELOOP or -ENOTDIR: the first component of rel that is a symlink,
 * for the message.  Returns r. */
static int name_link(int dfd, const char *rel, int r)
{
	_cleanup_free_ char *p = xstrdup(rel);
	struct stat st;

	for (char *s = p;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return abur_fail(-ELOOP, "%s is a symlink: the store is never followed through a link", p);
		if (c == '\0')
			break;
		*s = '/';
	}
	return abur_fail(r, "%s: %s", rel, strerror(-r));
}

/* The O_NOFOLLOW walk: every directory on the way opened with O_NOFOLLOW. */
static int walk_open(int dfd, const char *rel, int flags, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(rel);
	char *name = p, *slash;
	int cur = dfd, fd;

	while ((slash = strchr(name, '/'))) {
		*slash = '\0';
		fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cur != dfd)
			close(cur);
		if (fd < 0)
			return -errno;
		cur = fd;
		name = slash + 1;
	}
	fd = openat(cur, name, flags | O_NOFOLLOW, mode);
	if (fd < 0)
		fd = -errno;
	if (cur != dfd)
		close(cur);
	return fd;
}

static int open_beneath(int dfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	long fd = -1;

	if (!rel_ok(rel))
		return abur_fail(-EINVAL, "bad path '%s' in the store", rel);
	if (!force_walk) {
		fd = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
		if (fd < 0 && (errno == ENOSYS || errno == EPERM)) /* EPERM: seccomp */
			force_walk = true;
		else if (fd < 0)
			fd = -errno;
	}
	if (force_walk)
		fd = walk_open(dfd, rel, flags | O_CLOEXEC, mode);
	if (fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV)
		return name_link(dfd, rel, (int)fd);
	if (fd < 0)
		return abur_fail((int)fd, "%s: %s", rel, strerror((int)-fd));
	return (int)fd;
}

int io_open_beneath(int dfd, const char *rel, int flags, unsigned how)
{
	int fd = open_beneath(dfd, rel, flags | ((how & IO_REGULAR) ? O_NONBLOCK : 0), 0644);
	struct stat st;

	if (fd < 0 || !(how & IO_REGULAR))
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)) {
		int r = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		close(fd);
		if (r == -EINVAL)
			return abur_fail(r, "%s is %s, not a regular file", rel, io_type_name(st.st_mode));
		return abur_fail(r, "%s: %s", rel, strerror(-r));
	}
	return fd;
}

int io_read_file_at(int dfd, const char *rel, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = io_open_beneath(dfd, rel, O_RDONLY, IO_REGULAR);
	char *buf;
	size_t n = 0;

	if (fd < 0)
		return fd;
	buf = xmalloc(max + 1);
	for (;;) {
		ssize_t k = read(fd, buf + n, max + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || (n += (size_t)k) > max) {
			int r = k < 0 ? -errno : n > max ? -EFBIG : 0;
			if (r == 0)
				break;
			free(buf);
			return r == -EFBIG ? abur_fail(r, "%s: larger than %zu bytes", rel, max)
					   : abur_fail(r, "%s: %s", rel, strerror(-r));
		}
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

/* Splits rel into its parent (opened beneath dfd, *pfd; dfd itself when
 * rel has no '/') and the last name (*leaf, pointing into rel). */
static int open_parent(int dfd, const char *rel, int *pfd, const char **leaf)
{
	const char *slash = strrchr(rel, '/');
	_cleanup_free_ char *parent = NULL;

	if (!rel_ok(rel))
		return abur_fail(-EINVAL, "bad path '%s' in the store", rel);
	*leaf = slash ? slash + 1 : rel;
	*pfd = dfd;
	if (!slash)
		return 0;
	parent = strndup(rel, (size_t)(slash - rel));
	if (!parent)
		abort();
	*pfd = open_beneath(dfd, parent, O_PATH | O_DIRECTORY, 0);
	return *pfd < 0 ? *pfd : 0;
}

static void close_parent(int dfd, int pfd)
{
	if (pfd >= 0 && pfd != dfd)
		close(pfd);
}

/* Cleanup after a failure: not counted, errors ignored. */
static void unlink_quiet(int dfd, const char *rel)
{
	const char *leaf;
	int pfd;

	if (open_parent(dfd, rel, &pfd, &leaf) == 0)
		(void)!unlinkat(pfd, leaf, 0);
	close_parent(dfd, pfd);
}

int io_openat(int dfd, const char *rel, int flags, mode_t mode)
{
	int r = gate("open", rel, false);

	if (r < 0)
		return abur_fail(r, "open %s: %s", rel, strerror(-r));
	return open_beneath(dfd, rel, flags | O_NOFOLLOW, mode);
}

int io_mkdirat(int dfd, const char *rel, mode_t mode)
{
	const char *leaf;
	int pfd, r = gate("mkdir", rel, false);
	struct stat st;

	if (r < 0)
		return abur_fail(r, "mkdir %s: %s", rel, strerror(-r));
	r = open_parent(dfd, rel, &pfd, &leaf);
	if (r == 0 && mkdirat(pfd, leaf, mode) < 0) {
		r = -errno;
		if (r == -EEXIST && fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
			r = S_ISDIR(st.st_mode)
				? 0
				: abur_fail(-ENOTDIR, "%s is %s, not a directory: not followed or replaced", rel,
					    io_type_name(st.st_mode));
		else
			r = abur_fail(r, "mkdir %s: %s", rel, strerror(-r));
	}
	close_parent(dfd, pfd);
	return r;
}

int io_renameat(int dfd, const char *from, const char *to, unsigned flags)
{
	const char *lf, *lt;
	int pf = -1, pt = -1, r = gate("rename", to, false);

	if (r < 0)
		return abur_fail(r, "rename %s: %s", to, strerror(-r));
	r = open_parent(dfd, from, &pf, &lf);
	if (r == 0)
		r = open_parent(dfd, to, &pt, &lt);
	if (r == 0 && renameat2(pf, lf, pt, lt, flags) < 0)
		r = abur_fail(-errno, "rename %s -> %s: %m", from, to);
	close_parent(dfd, pf);
	close_parent(dfd, pt);
	return r;
}

int io_unlinkat(int dfd, const char *rel)
{
	const char *leaf;
	int pfd, r = gate("unlink", rel, false);

	if (r < 0)
		return abur_fail(r, "unlink %s: %s", rel, strerror(-r));
	r = open_parent(dfd, rel, &pfd, &leaf);
	if (r == 0 && unlinkat(pfd, leaf, 0) < 0 && errno != ENOENT)
		r = abur_fail(-errno, "unlink %s: %m", rel);
	close_parent(dfd, pfd);
	return r;
}

int io_fsync_dirat(int dfd, const char *rel)
{
	_cleanup_close_ int fd = -1;
	int r = gate("fsync", rel, true);

	if (r < 0)
		return abur_fail(r, "fsync %s: %s", rel, strerror(-r));
	if (streq(rel, ".")) {
		fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return abur_fail(-errno, "open %s: %m", rel);
	} else if ((fd = open_beneath(dfd, rel, O_RDONLY | O_DIRECTORY, 0)) < 0) {
		return fd;
	}
	if (ops->fsync(fd) < 0)
		return abur_fail(-errno, "fsync %s: %m", rel);
	return 0;
}

int io_write_file_atomic_at(int dfd, const char *rel, const void *data, size_t n, mode_t mode)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", rel, (int)getpid());
	_cleanup_free_ char *dir = xstrdup(rel);
	_cleanup_close_ int fd = -1;
	char *slash = strrchr(dir, '/');
	int r;

	fd = io_openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return fd;
	r = io_write_all(fd, data, n, tmp);
	if (r == 0)
		r = io_fsync(fd, tmp);
	if (r == 0)
		r = io_renameat(dfd, tmp, rel, 0);
	if (r < 0) {
		unlink_quiet(dfd, tmp);
		return r;
	}
	if (slash)
		*slash = '\0';
	return io_fsync_dirat(dfd, slash ? dir : ".");
}
