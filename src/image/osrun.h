/* The running system an update capture reads (doc/design.md "What is
 * captured"): the disk holding its root, where each sealed filesystem is
 * mounted, and what the os capture leaves out. */
#ifndef ABUR_OSRUN_H
#define ABUR_OSRUN_H

#include "core/config.h"
#include "imgint.h"

struct osrun {
	char *disk;     /* /dev/NAME of the disk holding the root filesystem */
	unsigned rootp; /* the root filesystem's partition number on it */
	char **mnt;     /* mnt[i]: where partition parts[i] is mounted (NULL: not mounted) */
	char **sys;     /* sys[i]: that mount point as the running system sees it */
	const unsigned *parts;
	size_t n;
	/* What the capture leaves out, in the system's view. */
	const struct abur_component *os;
	const struct abur_config *cfg;
	char **swaps; /* swap files (/proc/swaps) */
	size_t nswaps;
};

/* Finds the disk holding the filesystem mounted at root (the system's "/"
 * at root), checks it is the sealed disk l (its disk id, and every
 * partition where l has it), and the mount point of each of parts[0..n). */
int osrun_open(const struct abur_config *cfg, const char *root, const struct layout *l, const unsigned *parts, size_t n,
	       struct osrun *run) MUST_CHECK;
void osrun_close(struct osrun *run);
/* An osscan_skip_fn: true for a path the os capture leaves out (its
 * excludes, the file components' paths, swap files, the state directory). */
bool osrun_skip(void *run, const char *syspath);
#endif
