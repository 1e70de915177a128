/* The mount table (/proc/self/mountinfo), parsed once per call. */
#ifndef ABUR_MOUNTS_H
#define ABUR_MOUNTS_H

#include <sys/types.h>

#include "util.h"

struct mount_ent {
	dev_t dev;    /* st_dev of files on it */
	char *dir;    /* mount point, unescaped */
	char *source; /* "/dev/sda2", "tmpfs", ... */
};

struct mount_list {
	struct mount_ent *e; /* in mountinfo order (parents before children) */
	size_t n;
};

/* Reads the current mount table. -errno naming the file when unreadable. */
int mounts_read(struct mount_list *out) MUST_CHECK;
void mounts_free(struct mount_list *l);
#endif
