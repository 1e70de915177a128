/* From scans to update states (doc/design.md "A capture"): pure functions
 * over os indexes, no I/O. */
#ifndef ABUR_OSDIFF_H
#define ABUR_OSDIFF_H

#include "core/osidx.h"

/* What the last capture saw: the base with the state laid over it ('-'
 * entries removed, '+'/'m' entries replacing the base's).  state may be
 * NULL (no update yet: a copy of the base).  out is an OSIDX_BASE index. */
void osdiff_overlay(const struct osidx *base, const struct osidx *state, struct osidx *out);

struct osdiff_stats {
	uint64_t added, changed, deleted, metadata; /* entries of the new state */
	uint64_t new_files, new_bytes;              /* content the new generation must hold */
};

/* The new state for a capture: every path of cur that differs from base,
 * every base path that is gone (unless skipped: a path not looked at is not
 * gone).  Content equal to content the previous state holds (by hash) is
 * referenced there; other content gets ref = new_seq, ref_name = its path.
 * When a file's inode changed, every other path of that inode is listed
 * too, so a restore links them to the new content.  prev may be NULL. */
int osdiff_state(const struct osidx *base, const struct osidx *prev, const struct osidx *cur,
		 const struct osidx *skipped, uint64_t new_seq, struct osidx *state,
		 struct osdiff_stats *st) MUST_CHECK;

/* True when two states describe the same restored result (osidx_digest():
 * stat-only differences do not count). */
bool osdiff_same_state(const struct osidx *a, const struct osidx *b);

/* The other generations a state takes content from, ascending, without
 * duplicates (malloc'd; *n gets the count; OSIDX_REF_SELF is left out). */
uint64_t *osdiff_refs(const struct osidx *state, size_t *n);
#endif
