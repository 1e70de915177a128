/* Small helpers shared by every layer. */
#ifndef ABUR_UTIL_H
#define ABUR_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MUST_CHECK __attribute__((warn_unused_result))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))

/* Lower layers never print: they record why they failed and return -errno.
 * abur_fail() stores the message (thread-local) and returns r, so an error
 * path stays one line: `return abur_fail(-EINVAL, "bad %s", x);` */
int abur_fail(int r, const char *fmt, ...) PRINTF(2, 3);
/* Like abur_fail() but prefixes the message already recorded. */
int abur_fail_wrap(int r, const char *fmt, ...) PRINTF(2, 3);
/* The last recorded message, or strerror(-r) when none was recorded since
 * abur_fail_clear(). Never NULL. */
const char *abur_errmsg(int r);
void abur_fail_clear(void);

/* Allocation that never returns NULL (aborts on OOM: nothing sane to do). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);

/* Strip leading/trailing white space in place; returns s. */
char *strstrip(char *s);
bool streq(const char *a, const char *b);
/* True when all n bytes at p are zero. */
bool mem_is_zero(const void *p, size_t n);
bool startswith(const char *s, const char *prefix);

/* Read a whole small file (at most max bytes, else -EFBIG). Caller frees. */
int read_file(const char *path, size_t max, char **out, size_t *len) MUST_CHECK;

/* mkdir -p with mode. */
int mkdir_p(const char *path, mode_t mode) MUST_CHECK;
/* rm -rf, not crossing into other filesystems' mount points. */
int rm_rf(const char *path) MUST_CHECK;
/* The same for one entry name of directory dfd: never follows a symlink
 * (a link is removed, not what it points to). */
int rm_rf_at(int dfd, const char *name) MUST_CHECK;

/* Times ABUR accepts from files it reads: 1970-01-01 .. 9999-12-31 UTC. */
#define TIME_MIN_SANE 0LL
#define TIME_MAX_SANE 253402300799LL
/* Local time "YYYY-MM-DD HH:MM:SS", "(bad time)" for a time outside the
 * sane range. Returns buf. */
char *fmt_time(int64_t t, char *buf, size_t len);
/* Human sizes: "1.5 MiB". Returns buf. */
char *fmt_bytes(uint64_t n, char *buf, size_t len);
#endif
