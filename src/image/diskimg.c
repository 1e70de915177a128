/* disk.tar.zst: writing it from a disk (a payload_spec fill callback) and
 * writing its content back onto a disk.  Partitions are sparse pax entries:
 * the map lists the used runs, and libarchive stores only those (hole bytes
 * are still handed to archive_write_data, from a zero buffer, uncopied). */
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "core/io.h"
#include "imgint.h"

#define CHUNK (1 * MiB)
#define LAYOUT_MAX (64 * 1024)

/* Not const: in .bss it costs the binary (and the initramfs) nothing, and
 * reading it maps the kernel's shared zero page; const would put 1 MiB of
 * zeros into .rodata. */
static char zeros[CHUNK];

static int ar_fail(struct archive *a, int r, const char *what)
{
	return abur_fail(r, "%s: %s", what, archive_error_string(a) ? archive_error_string(a) : "archive error");
}

static int put_header(struct archive *a, const char *name, uint64_t size, const struct extents *map)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, 0, 0); /* fill must be repeatable */
	if (map) {
		for (size_t i = 0; i < map->n; i++)
			archive_entry_sparse_add_entry(e, (la_int64_t)map->e[i].off, (la_int64_t)map->e[i].len);
		/* A trailing empty run keeps an all-hole entry sparse, as GNU tar does. */
		archive_entry_sparse_add_entry(e, (la_int64_t)size, 0);
	}
	r = archive_write_header(a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : ar_fail(a, -EIO, name);
}

static int put_bytes(struct archive *a, const void *buf, size_t n, const char *name)
{
	while (n > 0) {
		la_ssize_t w = archive_write_data(a, buf, n);
		if (w <= 0)
			return ar_fail(a, -EIO, name);
		buf = (const char *)buf + w;
		n -= (size_t)w;
	}
	return 0;
}

static int put_zeros(struct archive *a, uint64_t n, const char *name)
{
	while (n > 0) {
		size_t k = n < CHUNK ? (size_t)n : CHUNK;
		int r = put_bytes(a, zeros, k, name);
		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

static int put_from_disk(struct archive *a, const struct diskimg_src *s, uint64_t off, uint64_t len, char *buf,
			 const char *name, uint64_t *done, uint64_t total)
{
	while (len > 0) {
		size_t k = len < CHUNK ? (size_t)len : CHUNK;
		ssize_t n = pread(s->fd, buf, k, (off_t)off);
		if (n != (ssize_t)k)
			return abur_fail(n < 0 ? -errno : -EIO, "%s: read at byte %llu: %s", s->dev,
					 (unsigned long long)off, n < 0 ? strerror(errno) : "short read");
		int r = put_bytes(a, buf, k, name);
		if (r < 0)
			return r;
		off += k, len -= k, *done += k;
		if (s->progress)
			s->progress(s->progress_arg, "seal", *done, total);
	}
	return 0;
}

static int put_part(struct archive *a, const struct diskimg_src *s, const struct part_rec *p, char *buf, uint64_t *done,
		    uint64_t total)
{
	uint64_t base = p->start * s->l->sector_size, size = p->size * s->l->sector_size, pos = 0;
	char name[32];
	int r;

	snprintf(name, sizeof(name), "p%u.img", p->num);
	r = put_header(a, name, size, &p->map);
	for (size_t i = 0; r == 0 && i < p->map.n; i++) {
		const struct extent *e = &p->map.e[i];
		r = put_zeros(a, e->off - pos, name);
		if (r == 0)
			r = put_from_disk(a, s, base + e->off, e->len, buf, name, done, total);
		pos = e->off + e->len;
	}
	if (r == 0)
		r = put_zeros(a, size - pos, name);
	return r;
}

int diskimg_put_blob(struct archive *a, const char *name, const void *data, size_t len)
{
	int r = put_header(a, name, len, NULL);

	return r < 0 ? r : put_bytes(a, data, len, name);
}

int diskimg_fill(struct archive *a, void *arg)
{
	const struct diskimg_src *s = arg;
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	uint64_t done = 0, total = s->l->bootarea;
	size_t tlen = strlen(s->layout_text);
	int r;

	for (size_t i = 0; i < s->l->nparts; i++)
		total += s->l->parts[i].used;
	r = diskimg_put_blob(a, "layout.ini", s->layout_text, tlen);
	if (r == 0)
		r = put_header(a, "bootarea.bin", s->l->bootarea, NULL);
	if (r == 0)
		r = put_from_disk(a, s, 0, s->l->bootarea, buf, "bootarea.bin", &done, total);
	for (size_t i = 0; r == 0 && i < s->l->nparts; i++)
		if (part_stored(&s->l->parts[i]))
			r = put_part(a, s, &s->l->parts[i], buf, &done, total);
	return r;
}

/* ---- writing an image back ---- */

/* Write-behind: start writeback every this many bytes, so a power cut loses
 * at most about a window, dirty memory stays bounded (the initramfs has
 * little), and the progress bar shows the disk's pace, not the cache's. */
#define WRITEBACK_WINDOW (16 * MiB)

int diskimg_write_at(struct diskimg_dst *d, uint64_t off, const void *buf, size_t n, const char *what)
{
	if (lseek(d->fd, (off_t)off, SEEK_SET) < 0)
		return abur_fail(-errno, "%s: seek to byte %llu: %m", d->dev, (unsigned long long)off);
	int r = io_write_all(d->fd, buf, n, d->dev);
	if (r < 0)
		return abur_fail_wrap(r, "%s: writing %s at disk byte %llu", d->dev, what, (unsigned long long)off);
	d->unsynced += n;
	if (d->unsynced >= WRITEBACK_WINDOW) {
		d->unsynced = 0;
		/* asynchronous; errors surface at the final fsync */
		(void)sync_file_range(d->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	return 0;
}

/* Zeroes a hole of a raw partition: the target may hold old data there. */
int diskimg_zero(struct diskimg_dst *d, uint64_t off, uint64_t len, const char *what)
{
	struct stat st;
	uint64_t range[2] = {off, len};

	if (len == 0)
		return 0;
	if (fstat(d->fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKZEROOUT, range) == 0)
			return 0;
	} else if (fallocate(d->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0) {
		return 0;
	}
	while (len > 0) { /* no zero-out support: write them */
		size_t k = len < CHUNK ? (size_t)len : CHUNK;
		int r = diskimg_write_at(d, off, zeros, k, what);
		if (r < 0)
			return r;
		off += k, len -= k;
	}
	return 0;
}

int diskimg_read_small(struct archive *a, const char *name, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap + 1);

	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				free(buf);
				return abur_fail(-EFBIG, "%s: larger than %zu bytes", name, max);
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		la_ssize_t k = archive_read_data(a, buf + n, cap - n);
		if (k < 0) {
			free(buf);
			return ar_fail(a, -EBADMSG, name);
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* DI_CHECK writes nothing: these stand for the writer's two calls. */
static int put_data(struct diskimg_dst *d, uint64_t off, const void *buf, size_t n, const char *what)
{
	return d->mode == DI_WRITE ? dwriter_data(d->w, off, buf, n, what) : 0;
}

static int put_zero(struct diskimg_dst *d, uint64_t off, uint64_t len, const char *what)
{
	return d->mode == DI_WRITE ? dwriter_zero(d->w, off, len, what) : 0;
}

static int take_layout(struct archive *a, struct diskimg_dst *d)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = diskimg_read_small(a, "layout.ini", LAYOUT_MAX, &text, &len);

	if (r == 0)
		r = layout_parse(text, len, &d->l);
	if (r < 0)
		return r;
	d->have_layout = true;
	if (d->disk_size) {
		r = layout_check_target(&d->l, d->dev, d->disk_size,
					d->sector_size ? d->sector_size : d->l.sector_size);
		if (r == 0 && d->mode != DI_WRITE)
			r = layout_try(d->dev, &d->l, d->disk_size);
		if (r < 0)
			return r;
	}
	d->total = d->l.bootarea;
	for (size_t i = 0; i < d->l.nparts; i++)
		d->total += d->l.parts[i].used;
	return 0;
}

static int take_bootarea(struct archive *a, struct diskimg_dst *d)
{
	uint64_t gap = layout_gap_start(&d->l);
	int r = diskimg_read_small(a, "bootarea.bin", BOOTAREA_MAX, &d->bootarea, &d->bootarea_len);

	if (r < 0)
		return r;
	if (d->bootarea_len != d->l.bootarea)
		return abur_fail(-EBADMSG, "bootarea.bin: %zu bytes, layout.ini says %llu", d->bootarea_len,
				 (unsigned long long)d->l.bootarea);
	d->written += d->bootarea_len;
	if (gap >= d->bootarea_len)
		return 0;
	/* The gap after the label (boot loader code on DOS disks); sector 0
	 * itself is written last, after the partition table. */
	return put_data(d, gap, d->bootarea + gap, d->bootarea_len - gap, "the boot area");
}

static int take_part(struct archive *a, struct archive_entry *e, struct diskimg_dst *d, const struct part_rec *p)
{
	uint64_t base = p->start * d->l.sector_size, size = p->size * d->l.sector_size, pos = 0;
	bool zero = d->zero_holes && (p->method->flags & PMF_ZERO_HOLES);
	const char *name = archive_entry_pathname(e);
	const void *buf;
	size_t n;
	la_int64_t off;
	int r = 0, ar;

	if (!part_stored(p) || (uint64_t)archive_entry_size(e) > size)
		return abur_fail(-EBADMSG, "%s: does not fit partition %u", name, p->num);
	while ((ar = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
		if ((uint64_t)off < pos || (uint64_t)off + n > size)
			return abur_fail(-EBADMSG, "%s: data at %lld lies outside the partition", name, (long long)off);
		if (zero)
			r = put_zero(d, base + pos, (uint64_t)off - pos, name);
		if (r == 0 && n)
			r = put_data(d, base + (uint64_t)off, buf, n, name);
		if (r < 0)
			return r;
		pos = (uint64_t)off + n;
		d->written += n;
		if (d->progress)
			d->progress(d->progress_arg, d->mode == DI_CHECK ? "verify" : "write", d->written, d->total);
	}
	if (ar != ARCHIVE_EOF)
		return ar_fail(a, -EBADMSG, name);
	return zero ? put_zero(d, base + pos, size - pos, name) : 0;
}

static int take_entry(struct archive *a, struct archive_entry *e, struct diskimg_dst *d, bool *seen)
{
	const char *name = archive_entry_pathname(e);
	unsigned num;
	char end;

	if (streq(name, "layout.ini") && !d->have_layout)
		return take_layout(a, d);
	if (!d->have_layout)
		return abur_fail(-EBADMSG, "%s before layout.ini", name);
	if (streq(name, "bootarea.bin") && !d->bootarea)
		return take_bootarea(a, d);
	if (sscanf(name, "p%u.im%c", &num, &end) == 2 && end == 'g' && streq(strchr(name, '.'), ".img")) {
		const struct part_rec *p = layout_part(&d->l, num);
		if (!p || seen[p - d->l.parts])
			return abur_fail(-EBADMSG, "%s: no such partition in layout.ini, or twice", name);
		seen[p - d->l.parts] = true;
		return take_part(a, e, d, p);
	}
	return abur_fail(-EBADMSG, "unexpected entry %s", name);
}

int diskimg_extract(struct archive *a, struct diskimg_dst *d)
{
	_cleanup_free_ bool *seen = xcalloc(PART_NUM_MAX + 1, sizeof(bool));
	struct archive_entry *e;
	int ar = ARCHIVE_OK, r = 0;

	if (d->mode == DI_WRITE)
		d->w = dwriter_start(d);
	while (r == 0 && !(d->mode == DI_LAYOUT && d->have_layout) &&
	       (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		r = take_entry(a, e, d, seen);
	int rw = d->w ? dwriter_finish(d->w) : 0; /* its error is where the disk failed */
	d->w = NULL;
	if (rw < 0)
		return rw;
	if (r < 0)
		return r;
	if (d->mode == DI_LAYOUT)
		return d->have_layout ? 0 : abur_fail(-EBADMSG, "the image does not start with layout.ini");
	if (ar != ARCHIVE_EOF)
		return ar_fail(a, -EBADMSG, "reading the image");
	if (!d->have_layout || !d->bootarea)
		return abur_fail(-EBADMSG, "the image lacks %s", d->have_layout ? "bootarea.bin" : "layout.ini");
	for (size_t i = 0; i < d->l.nparts; i++)
		if (part_stored(&d->l.parts[i]) && !seen[i])
			return abur_fail(-EBADMSG, "the image lacks p%u.img", d->l.parts[i].num);
	return 0;
}

void diskimg_dst_free(struct diskimg_dst *d)
{
	layout_free(&d->l);
	free(d->bootarea);
	d->bootarea = NULL;
}
