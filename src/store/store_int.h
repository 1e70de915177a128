/* Store internals shared by the store's own files. */
#ifndef ABUR_STORE_INT_H
#define ABUR_STORE_INT_H

#include "store.h"

struct store {
	enum store_mode mode;
	char *mount_base; /* [flash] mount */
	char *mnt;        /* our own mount point under mount_base, when mounted */
	bool mounted;
	char *device;
	char *base; /* directory holding abur/ */
	char *root; /* base/abur */
	int lock_fd;
};

bool valid_component_name(const char *s);
/* "gNNNNNN" -> seq; 0 when the name is not a generation. */
uint64_t gen_seq_from_name(const char *name);
/* Highest generation number in the whole store (monotonic per store). */
int store_max_seq(struct store *s, uint64_t *max) MUST_CHECK;
/* The most tar bytes a restore reads under lim (headers and padding add
 * at most a few KiB per entry); a backup must stay within it too. */
static inline uint64_t restore_stream_cap(const struct restore_limits *lim)
{
	return lim->max_total_size + lim->max_entries * 4096 + (1 << 20);
}
/* Bytes a directory tree occupies on disk. */
uint64_t dir_usage(const char *path);
#endif
