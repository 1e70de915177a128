/* Restore internals shared by restore.c, restore_set.c, restore_times.c
 * and restore_tidy.c; no other file includes this. */
#ifndef ABUR_RESTORE_INT_H
#define ABUR_RESTORE_INT_H

#include <archive_entry.h>
#include <time.h>

#include "store_int.h"

/* A string set (open addressing) for paths seen in an archive. */
struct strset {
	char **slot;
	size_t cap, n;
};

bool strset_has(const struct strset *s, const char *k);
/* Adds a copy of k (once). */
void strset_add(struct strset *s, const char *k);
void strset_free(struct strset *s);

/* Directory times.  libarchive sets an existing directory's times at once,
 * and the entries placed in it afterwards move its mtime again; and a
 * directory above the restored paths (etc for etc/vms) is no entry at all.
 * So: the archive's directories' times, and each outside parent's times
 * before its first change, are set again once the writer has closed,
 * deepest first, every path opened beneath the root without following a
 * symlink. */
struct dirtime {
	char *path;
	struct timespec ts[2];
	size_t depth;
};

struct dirtimes {
	struct dirtime *v;
	size_t n;
	struct strset dirs; /* the archive's directories seen so far */
};

/* Before e (already checked, relative to root) is written: its times
 * when it is a directory, and its parent's when the archive does not hold
 * the parent and they are not recorded yet. */
void dt_note(struct dirtimes *d, int root, struct archive_entry *e);
/* Sets every recorded directory's times again, deepest first, beneath
 * root; frees d.  0, or -errno with the message. */
int dt_apply(struct dirtimes *d, int root) MUST_CHECK;

/* restore_component()'s stray scan (restore_tidy.c) of top (normalised,
 * relative to root): counts in n every entry beneath root at or under top
 * that held() says the generation does not hold, and with remove removes
 * it.  A symlink is never followed, another filesystem (dev) and an
 * excluded path of comp never judged.  0, or -errno with the message. */
struct stray_scan {
	int root;
	dev_t dev;
	const struct abur_component *comp;
	bool (*held)(const void *arg, const char *rel);
	const void *arg;
	bool remove;
	uint64_t n;
};
int stray_scan(struct stray_scan *st, const char *top) MUST_CHECK;

#endif
