#include "payload.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "store.h"

/* ---- writing ---- */

/* The first error of the sink, with its message. */
static void keep_err(struct pwriter *w, int r)
{
	if (r < 0 && !w->err) {
		w->err = r;
		abur_error_save(&w->e);
	}
}

static int sink(struct pwriter *w, const void *buf, size_t n)
{
	int r;

	if (!n)
		return 0;
	sha256_update(&w->sha, buf, n);
	w->size += n;
	if (w->fd < 0)
		return 0;
	r = io_write_all(w->fd, buf, n, w->path);
	keep_err(w, r);
	return r;
}

static int compress_some(struct pwriter *w, ZSTD_inBuffer *in, ZSTD_EndDirective mode)
{
	size_t left;

	do {
		ZSTD_outBuffer out = {w->out, sizeof(w->out), 0};
		left = ZSTD_compressStream2(w->cctx, &out, in, mode);
		if (ZSTD_isError(left))
			return abur_fail(-EIO, "zstd: %s", ZSTD_getErrorName(left));
		if (sink(w, w->out, out.pos) < 0)
			return w->err;
	} while (mode == ZSTD_e_end ? left != 0 : in->pos < in->size);
	return 0;
}

static la_ssize_t w_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct pwriter *w = ud;
	ZSTD_inBuffer in = {buf, n, 0};
	int r = compress_some(w, &in, ZSTD_e_continue);

	if (r < 0) {
		keep_err(w, r);
		archive_set_error(a, -r, "%s", abur_errmsg(r));
		return -1;
	}
	return (la_ssize_t)n;
}

static int w_close(struct archive *a, void *ud)
{
	struct pwriter *w = ud;
	ZSTD_inBuffer in = {NULL, 0, 0};
	int r;

	if (w->err)
		return ARCHIVE_FATAL;
	r = compress_some(w, &in, ZSTD_e_end);
	if (r < 0) {
		keep_err(w, r);
		archive_set_error(a, -r, "%s", abur_errmsg(r));
		return ARCHIVE_FATAL;
	}
	return ARCHIVE_OK;
}

int pwriter_open(struct pwriter *w, int fd, const char *path, struct archive **out)
{
	struct archive *a;

	w->fd = fd;
	w->path = path;
	w->size = 0;
	w->err = 0;
	sha256_init(&w->sha);
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx)
		return abur_fail(-ENOMEM, "zstd: cannot create a compression context");
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, CONFIG_ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	/* Without multithread support in libzstd this fails and we stay single-threaded. */
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, CONFIG_ZSTD_THREADS);
	a = archive_write_new();
	if (!a || archive_write_set_format_pax(a) != ARCHIVE_OK ||
	    /* SCHILY.xattr: the one both GNU tar and libarchive read */
	    archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, w, NULL, w_write, w_close) != ARCHIVE_OK) {
		int r = abur_fail(-EIO, "archive writer: %s", a ? archive_error_string(a) : "out of memory");
		archive_write_free(a);
		ZSTD_freeCCtx(w->cctx);
		w->cctx = NULL;
		return r;
	}
	*out = a;
	return 0;
}

int pwriter_close(struct pwriter *w, struct archive *a)
{
	int r = archive_write_close(a);
	int err = w->err;

	if (r != ARCHIVE_OK && !err)
		err = abur_fail(-EIO, "writing %s: %s", w->path, archive_error_string(a));
	archive_write_free(a);
	ZSTD_freeCCtx(w->cctx);
	w->cctx = NULL;
	return err;
}

void pwriter_abort(struct pwriter *w, struct archive *a)
{
	if (!w->err)
		w->err = -ECANCELED;
	archive_write_free(a);
	ZSTD_freeCCtx(w->cctx);
	w->cctx = NULL;
}

/* ---- reading ---- */

struct payload_reader {
	struct archive *a;
	int fd;
	char *path;
	char expect[SHA256_HEX_LEN];
	uint64_t expect_size, in_total, out_total, out_limit;
	ZSTD_DCtx *dctx;
	struct sha256 sha;
	ZSTD_inBuffer in;
	bool eof;
	size_t last; /* ZSTD_decompressStream's last hint: 0 = frame complete */
	int err;
	const struct progress_hook *hook; /* payload_reader_progress() */
	char stage[64];
	uint64_t pbase, ptotal;
	uint8_t inbuf[PAYLOAD_BUF], outbuf[PAYLOAD_BUF];
};

static int fill_in(struct payload_reader *p)
{
	ssize_t n = 0;

	do
		n = read(p->fd, p->inbuf, sizeof(p->inbuf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return abur_fail(-errno, "read %s: %m", p->path);
	if (n == 0)
		p->eof = true;
	sha256_update(&p->sha, p->inbuf, (size_t)n);
	p->in_total += (uint64_t)n;
	p->in = (ZSTD_inBuffer){p->inbuf, (size_t)n, 0};
	if (n > 0)
		progress_tell(p->hook, p->stage, p->pbase + p->in_total, p->ptotal);
	return 0;
}

uint64_t payload_reader_size(const struct payload_reader *p)
{
	return p->expect_size;
}

void payload_reader_progress(struct payload_reader *p, const struct progress_hook *hook, const char *stage,
			     uint64_t base, uint64_t total)
{
	p->hook = hook;
	snprintf(p->stage, sizeof(p->stage), "%s", stage);
	p->pbase = base;
	p->ptotal = total;
}

/* Decompresses the next chunk into outbuf; returns its size, 0 at the end. */
static ssize_t decompress_next(struct payload_reader *p)
{
	for (;;) {
		ZSTD_outBuffer out = {p->outbuf, sizeof(p->outbuf), 0};
		if (p->in.pos == p->in.size && !p->eof) {
			int r = fill_in(p);
			if (r < 0)
				return r;
		}
		if (p->in.pos == p->in.size && p->eof) {
			if (p->last != 0)
				return abur_fail(-EBADMSG, "%s: truncated zstd stream", p->path);
			return 0;
		}
		p->last = ZSTD_decompressStream(p->dctx, &out, &p->in);
		if (ZSTD_isError(p->last))
			return abur_fail(-EBADMSG, "%s: zstd: %s", p->path, ZSTD_getErrorName(p->last));
		p->out_total += out.pos;
		if (p->out_limit && p->out_total > p->out_limit)
			return abur_fail(-EFBIG, "%s: decompresses to more than %llu bytes", p->path,
					 (unsigned long long)p->out_limit);
		if (out.pos)
			return (ssize_t)out.pos;
	}
}

static la_ssize_t r_read(struct archive *a, void *ud, const void **buf)
{
	struct payload_reader *p = ud;
	ssize_t n = decompress_next(p);

	if (n < 0) {
		p->err = (int)n;
		archive_set_error(a, (int)-n, "%s", abur_errmsg((int)n));
		return -1;
	}
	*buf = p->outbuf;
	return n;
}

void payload_discard(struct payload_reader *p)
{
	if (!p)
		return;
	archive_read_free(p->a);
	ZSTD_freeDCtx(p->dctx);
	if (p->fd >= 0)
		close(p->fd);
	free(p->path);
	free(p);
}

int payload_reader_open(int fd, const char *path, const char *sha256, uint64_t size, uint64_t out_limit,
			struct payload_reader **out)
{
	_cleanup_(payload_discardp) struct payload_reader *p = xcalloc(1, sizeof(*p));

	p->fd = fd;
	p->path = xstrdup(path);
	snprintf(p->expect, sizeof(p->expect), "%s", sha256);
	p->expect_size = size;
	p->out_limit = out_limit;
	sha256_init(&p->sha);
	p->dctx = ZSTD_createDCtx();
	p->a = archive_read_new();
	if (!p->dctx || !p->a)
		return abur_fail(-ENOMEM, "out of memory");
	archive_read_support_format_tar(p->a);
	if (archive_read_open(p->a, p, NULL, r_read, NULL) != ARCHIVE_OK)
		return abur_fail(p->err ? p->err : -EBADMSG, "%s: %s", path, archive_error_string(p->a));
	*out = TAKE_PTR(p);
	return 0;
}

struct archive *payload_archive(struct payload_reader *p)
{
	return p->a;
}

static int finish(struct payload_reader *p)
{
	char hex[SHA256_HEX_LEN];
	ssize_t n = 0;

	/* Decompress what the tar reader left, so the zstd frame checksum at the end is checked. */
	while (!p->err && (n = decompress_next(p)) > 0)
		;
	if (p->err)
		return p->err;
	if (n < 0)
		return (int)n;
	sha256_final_hex(&p->sha, hex);
	if (p->in_total != p->expect_size)
		return abur_fail(-EBADMSG, "%s: size %llu, manifest says %llu", p->path,
				 (unsigned long long)p->in_total, (unsigned long long)p->expect_size);
	if (strcmp(hex, p->expect) != 0)
		return abur_fail(-EBADMSG, "%s: sha256 %s does not match the manifest", p->path, hex);
	return 0;
}

int payload_close(struct payload_reader *p, int r)
{
	if (r == 0)
		r = finish(p);
	payload_discard(p);
	return r;
}
