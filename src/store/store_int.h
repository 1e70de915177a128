/* Store internals shared by the store's own files. */
#ifndef ABUR_STORE_INT_H
#define ABUR_STORE_INT_H

#include <dirent.h>

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
	int root_fd;    /* abur/ itself: every path below is opened beneath it */
	int readers_fd; /* abur/.readers: readers hold it shared, removal exclusive */
	char **removed; /* "comp/gNNNNNN" removed since store_removed_clear() */
	size_t nremoved;
};

/* Readers (every store handle but a writer's) hold a shared flock on
 * abur/.readers for their handle's life; removing a generation needs it
 * exclusively.  Waits at most wait_s seconds (0: only tries).  0 when
 * held (store_unlock_removal() after), -EBUSY when readers stay. */
int store_lock_removal(struct store *s, unsigned wait_s) MUST_CHECK;
void store_unlock_removal(struct store *s);

/* How long a reader or a removal waits for the other on abur/.readers. */
#define READERS_WAIT_S 60
bool valid_component_name(const char *s);
/* Exactly the temp names ABUR makes: ".tmp-gNNNNNN-PID", ".tmp-del-gNNNNNN". */
bool store_tmp_name(const char *s);
/* "gNNNNNN" -> seq; 0 when the name is not a generation's. */
uint64_t gen_seq_from_name(const char *name);
/* True when name (in component directory dfd) is exactly ABUR's
 * generation name and a real directory, not a link. *seq gets its number. */
bool gen_entry(int dfd, const char *name, uint64_t *seq);
/* store_newest(), telling progress (may be NULL) "verify NAME" as each
 * generation it tries is read (restore_newest()). */
int store_newest_progress(struct store *s, const char *component, enum gen_check check, uint64_t max_seq,
			  const struct progress_hook *progress, struct gen_list *l,
			  const struct generation **out) MUST_CHECK;
/* Opens payload pi of g (a regular file beneath the root) for reading. */
int gen_payload_open(struct store *s, const struct generation *g, const struct payload_info *pi, uint64_t out_limit,
		     struct payload_reader **out) MUST_CHECK;
/* Opens a directory beneath the store root (rel "." is the root). */
int store_opendir(struct store *s, const char *rel, DIR **d) MUST_CHECK;
/* Highest generation number in the whole store (monotonic per store). */
int store_max_seq(struct store *s, uint64_t *max) MUST_CHECK;
/* The most tar bytes a restore reads under lim (headers and padding add
 * at most a few KiB per entry); a backup must stay within it too. */
static inline uint64_t restore_stream_cap(const struct restore_limits *lim)
{
	return lim->max_total_size + lim->max_entries * 4096 + (1 << 20);
}
/* Bytes a directory tree beneath the store root occupies on disk. */
uint64_t dir_usage(struct store *s, const char *rel);
#endif
