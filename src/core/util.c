#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static __thread struct abur_error rec;

/* Appends s to the string in buf (size bytes), cutting what does not fit. */
static void append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf), k = strlen(s);

	if (k > size - 1 - n)
		k = size - 1 - n;
	memcpy(buf + n, s, k);
	buf[n + k] = '\0';
}

static int vfail(int r, bool wrap, const char *fmt, va_list ap)
{
	char msg[sizeof(rec.msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* The wrapped text is this error's own (or its strerror), never a
	 * message recorded for another error. */
	if (wrap) {
		append(msg, sizeof(msg), ": ");
		append(msg, sizeof(msg), abur_errmsg(r));
	}
	rec.r = r;
	memcpy(rec.msg, msg, sizeof(msg));
	return r;
}

int abur_fail(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(r, false, fmt, ap);
	va_end(ap);
	return r;
}

int abur_fail_wrap(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(r, true, fmt, ap);
	va_end(ap);
	return r;
}

const char *abur_errmsg(int r)
{
	if (r != 0 && rec.r == r)
		return rec.msg;
	return strerror(r < 0 ? -r : r);
}

void abur_fail_clear(void)
{
	rec.r = 0;
	rec.msg[0] = '\0';
}

void abur_error_save(struct abur_error *e)
{
	*e = rec;
}

int abur_error_restore(const struct abur_error *e)
{
	rec = *e;
	return e->r;
}

int abur_first_error(int r, int cr, const struct abur_error *saved)
{
	if (r < 0)
		abur_error_restore(saved);
	return r < 0 ? r : cr;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

void xstrappend(char **acc, const char *sep, const char *item)
{
	char *t = xasprintf("%s%s%s", *acc ? *acc : "", *acc ? sep : "", item);

	free(*acc);
	*acc = t;
}

char *strstrip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

bool mem_is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

bool startswith(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The first buffer: the file's own size (and one byte to see its end),
 * else a page; never all of max, which may be hundreds of MiB. */
static size_t first_cap(const struct stat *st, size_t max)
{
	size_t cap = S_ISREG(st->st_mode) && st->st_size > 0 ? (size_t)st->st_size + 1 : 4096;

	return cap < max + 1 ? cap : max + 1;
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t n = 0, cap;

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", path);
	if (fstat(fd, &st) < 0)
		return abur_fail(-errno, "%s: %m", path);
	/* sysfs and procfs report sizes they do not have (4096, 0): only the
	 * bytes actually read count against max. */
	if (S_ISREG(st.st_mode) && st.st_blocks > 0 && (uint64_t)st.st_size > max)
		return abur_fail(-EFBIG, "%s: larger than %zu bytes", path, max);
	cap = first_cap(&st, max);
	buf = xmalloc(cap);
	for (;;) {
		if (n == cap) { /* it grew, or its size was not its size: double, up to max + 1 */
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = -errno;
			free(buf);
			return abur_fail(r, "%s: %s", path, strerror(-r));
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			free(buf);
			return abur_fail(-EFBIG, "%s: larger than %zu bytes", path, max);
		}
	}
	if (n == cap)
		buf = xrealloc(buf, cap + 1);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return abur_fail(-errno, "mkdir %s: %m", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return abur_fail(-errno, "mkdir %s: %m", p);
	return 0;
}

static int rm_tree_at(int dfd, const char *name, dev_t dev)
{
	struct stat st;
	int fd;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		int k = rm_tree_at(dirfd(d), de->d_name, dev);
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int rm_rf(const char *path)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", path);
	r = rm_tree_at(AT_FDCWD, path, st.st_dev);
	if (r < 0)
		return abur_fail(r, "remove %s: %s", path, strerror(-r));
	return 0;
}

int rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	int r;

	if (strchr(name, '/'))
		return abur_fail(-EINVAL, "remove %s: not a single name", name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", name);
	r = rm_tree_at(dfd, name, st.st_dev);
	if (r < 0)
		return abur_fail(r, "remove %s: %s", name, strerror(-r));
	return 0;
}

char *fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

char *fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* A value off the flash can be anything: outside years 0..9999
	 * localtime_r() fails or strftime() overflows the buffer. */
	if (t == 0)
		snprintf(buf, len, "never");
	else if (t < TIME_MIN_SANE || t > TIME_MAX_SANE || !localtime_r(&tt, &tm) ||
		 strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, len, "(bad time)");
	return buf;
}
