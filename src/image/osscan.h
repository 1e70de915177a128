/* Scanning a mounted filesystem into an os index (src/core/osidx.h):
 * every path, its stat, and (where the stat does not prove it unchanged
 * against a reference index) its content hash and its xattr/ACL digest.
 * The walk never follows a symlink and never crosses into another mount. */
#ifndef ABUR_OSSCAN_H
#define ABUR_OSSCAN_H

#include "core/osidx.h"

/* A path the walk does not enter and does not record, in the system's view
 * ("/var/log", "/proc"). */
typedef bool (*osscan_skip_fn)(void *arg, const char *syspath);

struct osscan_opts {
	const char *root;      /* where the filesystem is mounted now */
	const char *sysprefix; /* what that is on the running system: "/" or "/boot" */
	osscan_skip_fn skip;   /* may be NULL */
	void *skip_arg;
	/* Entries whose stat equals this index's (and are not racy) take its
	 * hashes without their content being read. NULL: read everything. */
	const struct osidx *ref;
	bool keep_meta_text; /* fill xattrs/acl text of entries it reads */
	int64_t racy_ns;     /* the racy window; 0: the default (2 s) */
	/* may be NULL: told stage, progress_base + the bytes hashed so far (no
	 * total: the walk finds it) */
	const struct progress_hook *progress;
	const char *stage;
	uint64_t progress_base;
};

struct osscan_stats {
	uint64_t entries, hashed, hashed_bytes;
	uint64_t skipped; /* paths left out: excludes and other mounts */
};

/* Scans o->root into *out (an OSIDX_BASE index, sorted; ops are '=').  The
 * paths left out are added to *skipped (sorted; may be NULL) so a caller
 * can tell "not looked at" from "gone".  A file that changes while it is
 * read gives -EAGAIN naming it (the busy-file rule is the caller's). */
int osscan_run(const struct osscan_opts *o, struct osidx *out, struct osidx *skipped,
	       struct osscan_stats *st) MUST_CHECK;

/* True when path, or a directory above it, is in the sorted set. */
bool osscan_under(const struct osidx *set, const char *path);
#endif
