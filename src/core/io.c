#include "io.h"

#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

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

	trace_path = getenv("ABUR_IO_TRACE");
	if (!spec || !*spec)
		return 0;
	if (io_fault_parse(spec, &kind, &n) < 0)
		return -EINVAL;
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
