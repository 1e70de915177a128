/* Payload streams: pax archives compressed with zstd (frame checksums on),
 * hashed with sha256 over the stored (compressed) bytes. Internal to the
 * store. */
#ifndef ABUR_PAYLOAD_H
#define ABUR_PAYLOAD_H

#include <archive.h>
#include <zstd.h>

#include "core/sha256.h"
#include "core/util.h"

#define PAYLOAD_BUF (128 * 1024)

struct pwriter {
	int fd; /* -1: count only (space planning) */
	const char *path;
	ZSTD_CCtx *cctx;
	struct sha256 sha;
	uint64_t size;       /* compressed bytes out */
	int err;             /* first -errno from the sink, */
	struct abur_error e; /* with its message (libarchive may record others) */
	uint8_t out[PAYLOAD_BUF];
};

/* Starts a pax+zstd archive writing to w->fd (through the I/O layer). */
int pwriter_open(struct pwriter *w, int fd, const char *path, struct archive **a) MUST_CHECK;
/* Ends the archive and the zstd frame; frees a. Returns the first error. */
int pwriter_close(struct pwriter *w, struct archive *a) MUST_CHECK;
/* Ends after a failure: frees everything, ignores errors. */
void pwriter_abort(struct pwriter *w, struct archive *a);

/* Reads a payload file from fd (taken over: closed with the reader, or
 * here on failure), named path in messages: *out gets a reader whose
 * payload_archive() is a tar reader over the decompressed stream.
 * payload_close() finishes the zstd stream (so the frame checksum is
 * checked), compares sha256 and size, and frees.  out_limit bounds the
 * decompressed bytes (zstd bombs), 0 = none. */
struct payload_reader;
int payload_reader_open(int fd, const char *path, const char *sha256, uint64_t size, uint64_t out_limit,
			struct payload_reader **out) MUST_CHECK;
/* The payload's size, as its manifest states it. */
uint64_t payload_reader_size(const struct payload_reader *p);
/* From now on, as the payload file is read, hook (NULL: none) is told
 * stage and base + the bytes read so far, of total (this payload's size,
 * or more when it is one of several read in turn). */
void payload_reader_progress(struct payload_reader *p, const struct progress_hook *hook, const char *stage,
			     uint64_t base, uint64_t total);
#endif
