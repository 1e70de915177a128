/* The seal's base for update captures (doc/design.md "Updates after
 * delivery"): the payload index.tar.zst of a seal generation holds
 * layout.ini (a copy, so a capture need not read the disk image) and one
 * base index pN.idx per ext filesystem of the sealed disk. */
#ifndef ABUR_OSBASE_H
#define ABUR_OSBASE_H

#include "image.h"
#include "imgint.h"
#include "core/osidx.h"

#define OSBASE_PAYLOAD STORE_PAYLOAD_INDEX
/* Largest base index text a reader accepts (about 2 million entries). */
#define OSBASE_INDEX_MAX (512 * MiB)

struct osbase_fs {
	unsigned part;
	char *text; /* the formatted base index */
	size_t len;
};

struct osbase {
	char *layout_text;
	struct osbase_fs *fs;
	size_t n;
};

/* Scans every ext filesystem of dev (each mounted read-only at a temp
 * directory in turn; dev must not be mounted) into b.  The caller sets
 * b->layout_text (malloc'd) once the layout is final. */
int osbase_scan(const struct disk_info *d, const char *dev, struct osbase *b) MUST_CHECK;
/* A payload_spec fill callback: arg is a struct osbase. */
int osbase_fill(struct archive *a, void *arg);
void osbase_free(struct osbase *b);

/* What a capture needs of a seal generation: its layout and the base index
 * of each filesystem, read from index.tar.zst (hash checked). -ENOENT when
 * the seal has no index (sealed by an older abur: re-seal to enable). */
struct osbase_loaded {
	struct layout l;
	unsigned *parts;
	struct osidx *idx; /* idx[i] is partition parts[i]'s */
	size_t n;
};
int osbase_load(struct store *s, const struct generation *g, struct osbase_loaded *out) MUST_CHECK;
void osbase_loaded_free(struct osbase_loaded *b);
/* osbase_load() of the seal generation g of gl is (g itself, or the seal an
 * update is based on): -ENOENT naming it when gl does not hold it valid. */
int osbase_load_of(struct store *s, const struct gen_list *gl, const struct generation *g,
		   struct osbase_loaded *out) MUST_CHECK;
#endif
