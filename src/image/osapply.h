/* The update stage of a reimage: an os update generation laid over the
 * sealed image just written (doc/design.md "Reimage with updates"). */
#ifndef ABUR_OSAPPLY_H
#define ABUR_OSAPPLY_H

#include "imgint.h"

struct osapply_result {
	uint64_t files, bytes, deleted, links;
	unsigned raw; /* raw areas written */
};

struct osapply_ctx {
	struct store *s;
	const struct gen_list *gl; /* the os generations (upd and what it needs) */
	const char *dev;
	const struct layout *l;  /* the sealed layout, as written */
	struct diskimg_dst *dst; /* for raw writes; its fd is opened and closed here */
	char *bootarea;          /* the boot area arm_boot() writes last: its boot code may change */
	size_t bootarea_len;
	struct osapply_result *res;
	/* stage "update": bytes of file content written, of all the update
	 * writes (osupd_content_bytes()); may be NULL */
	const struct progress_hook *progress;
	uint64_t total;
};

/* Mounts each filesystem upd has a state for (read-write), applies it,
 * syncs and unmounts; then writes the raw areas that differ from the seal.
 * The payloads' hashes are checked as they are read. */
int osapply_run(struct osapply_ctx *ax, const struct generation *upd) MUST_CHECK;
#endif
