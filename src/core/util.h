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
/* Typed cleanup (gcc/clang): the variable's cleanup runs on every way out
 * of its scope.  _cleanup_(f) takes a function of a pointer to the
 * variable: gen_list_free and manifest_clear serve as they are
 * (`_cleanup_(gen_list_free) struct gen_list l = {0};`); an object held
 * by pointer gets its fp from DEFINE_CLEANUP (`_cleanup_(store_closep)
 * struct store *s = NULL;`).  Initialise every such variable. */
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
/* DEFINE_CLEANUP(struct store, store_close) defines store_closep(struct
 * store **p): func(*p) unless *p is NULL, then *p = NULL. */
#define DEFINE_CLEANUP(type, func)                                                                                     \
	static inline void func##p(type **p)                                                                           \
	{                                                                                                              \
		if (*p)                                                                                                \
			func(*p);                                                                                      \
		*p = NULL;                                                                                             \
	}
/* Hands over what a cleanup variable holds: returns p and sets it to NULL. */
#define TAKE_PTR(p)                                                                                                    \
	({                                                                                                             \
		__typeof__(p) take_ptr_ = (p);                                                                         \
		(p) = NULL;                                                                                            \
		take_ptr_;                                                                                             \
	})

/* Lower layers never print: they record why they failed and return -errno.
 * abur_fail() records the message for r (thread-local) and returns r, so an
 * error path stays one line: `return abur_fail(-EINVAL, "bad %s", x);`
 * Every failure return records, so a record left by an error that was
 * handled is never shown for a later one (scripts/check-errors). */
int abur_fail(int r, const char *fmt, ...) PRINTF(2, 3);
/* Like abur_fail() but prefixes abur_errmsg(r): "fmt: message of r". */
int abur_fail_wrap(int r, const char *fmt, ...) PRINTF(2, 3);
/* The message recorded for r when the last record is r's, else
 * strerror(-r): a message is never shown for an error it does not
 * describe. Never NULL; valid until this thread records again. */
const char *abur_errmsg(int r);
/* Forgets the record: only at public entry points (doc/design.md §11). */
void abur_fail_clear(void);
/* Goes on without a failed call's result (the caller says why): its record
 * needs no scrubbing, abur_errmsg() shows it for no other error. */
static inline void abur_ignore(int r)
{
	(void)r;
}

/* An error as a value, to carry it to another thread: the writer thread
 * saves its own, the thread that reports it restores it. */
struct abur_error {
	int r; /* 0: nothing recorded */
	char msg[1024];
};
/* Copies this thread's record into e. */
void abur_error_save(struct abur_error *e);
/* Makes e this thread's record; returns e->r. */
int abur_error_restore(const struct abur_error *e);
/* A step's result r, then its cleanup's cr: the first error wins, with its
 * own message (saved before the cleanup ran, which may record another). */
int abur_first_error(int r, int cr, const struct abur_error *saved);
/* r = abur_after(r, cleanup(...)): runs the cleanup whatever r is; the
 * result is r when r failed (its message kept), else the cleanup's. */
#define abur_after(r, cleanup)                                                                                         \
	({                                                                                                             \
		struct abur_error first_;                                                                              \
		int r_ = (r);                                                                                          \
		abur_error_save(&first_);                                                                              \
		int c_ = (cleanup);                                                                                    \
		abur_first_error(r_, c_, &first_);                                                                     \
	})

/* Allocation that never returns NULL (aborts on OOM: nothing sane to do). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);
/* Appends item to the list text *acc (NULL: empty), sep between items. */
void xstrappend(char **acc, const char *sep, const char *item);

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
/* Local time with its zone, "YYYY-MM-DD HH:MM:SS CET": the one way times
 * are written for people (machines get RFC 3339 UTC); "never" for 0,
 * "(bad time)" for a time outside the sane range. Returns buf. */
char *fmt_time(int64_t t, char *buf, size_t len);
/* Human sizes: "1.5 MiB". Returns buf. */
char *fmt_bytes(uint64_t n, char *buf, size_t len);
/* How a long operation tells its caller how far it got: fn(arg, stage,
 * done, total), bytes (total 0: not known up front).  A library takes a
 * hook (NULL, or fn NULL: nobody listens) and never prints; the cmd layer
 * and the agent turn it into output (core/progress.h). */
typedef void (*progress_fn)(void *arg, const char *stage, uint64_t done, uint64_t total);
struct progress_hook {
	progress_fn fn;
	void *arg;
};
static inline void progress_tell(const struct progress_hook *h, const char *stage, uint64_t done, uint64_t total)
{
	if (h && h->fn)
		h->fn(h->arg, stage, done, total);
}
/* one when n is 1, else many: "1 entry", "2 entries". */
static inline const char *noun(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}
#endif
