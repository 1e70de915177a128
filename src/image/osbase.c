/* Writing and reading a seal's index.tar.zst. */
#include "osbase.h"

#include <archive_entry.h>
#include <string.h>

#include "osscan.h"
#include "osupd.h"
#include "rootfs.h"

static int scan_part(const char *dev, unsigned num, struct osbase_fs *fs)
{
	struct rootfs rf = {.num = num};
	struct osidx x;
	int r = rootfs_mount(&rf, dev, BLK_RO);

	if (r == 0) {
		struct osscan_opts o = {.root = rf.mnt, .sysprefix = "/"};
		r = osscan_run(&o, &x, NULL, NULL);
	}
	if (r == 0) {
		fs->part = num;
		fs->text = osidx_format(&x, &fs->len);
		osidx_free(&x);
	}
	r = abur_after(r, rootfs_release(&rf));
	return r < 0 ? abur_fail_wrap(r, "indexing partition %u of %s", num, dev) : 0;
}

int osbase_scan(const struct disk_info *d, const char *dev, struct osbase *b)
{
	int r = 0;

	memset(b, 0, sizeof(*b));
	for (size_t i = 0; r == 0 && i < d->nparts; i++) {
		if (!(part_method_match(d->parts[i].fstype)->flags & PMF_FILES))
			continue;
		b->fs = xrealloc(b->fs, (b->n + 1) * sizeof(*b->fs));
		memset(&b->fs[b->n], 0, sizeof(*b->fs));
		r = scan_part(dev, d->parts[i].num, &b->fs[b->n]);
		b->n += r == 0;
	}
	if (r < 0)
		osbase_free(b);
	return r;
}

int osbase_fill(struct archive *a, void *arg)
{
	const struct osbase *b = arg;
	int r = diskimg_put_blob(a, "layout.ini", b->layout_text, strlen(b->layout_text));

	for (size_t i = 0; r == 0 && i < b->n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p%u.idx", b->fs[i].part);
		r = diskimg_put_blob(a, name, b->fs[i].text, b->fs[i].len);
	}
	return r;
}

void osbase_free(struct osbase *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->fs[i].text);
	free(b->fs);
	free(b->layout_text);
	memset(b, 0, sizeof(*b));
}

/* ---- reading ---- */

static int take_index(struct archive *a, const char *name, struct osbase_loaded *b)
{
	_cleanup_free_ char *text = NULL;
	unsigned num;
	char tail;
	size_t len;
	int r;

	if (sscanf(name, "p%u.id%c", &num, &tail) != 2 || tail != 'x' || !streq(strchr(name, '.'), ".idx") ||
	    !layout_part(&b->l, num))
		return abur_fail(-EBADMSG, "%s: not a partition of the sealed layout", name);
	for (size_t i = 0; i < b->n; i++)
		if (b->parts[i] == num)
			return abur_fail(-EBADMSG, "%s twice", name);
	r = diskimg_read_small(a, name, OSBASE_INDEX_MAX, &text, &len);
	b->parts = xrealloc(b->parts, (b->n + 1) * sizeof(*b->parts));
	b->idx = xrealloc(b->idx, (b->n + 1) * sizeof(*b->idx));
	if (r == 0)
		r = osidx_parse(text, len, &b->idx[b->n]);
	if (r == 0 && b->idx[b->n].kind != OSIDX_BASE) {
		osidx_free(&b->idx[b->n]);
		r = abur_fail(-EBADMSG, "%s is not a base index", name);
	}
	if (r < 0)
		return abur_fail_wrap(r, "%s", name);
	b->parts[b->n++] = num;
	return 0;
}

static int take_entries(struct archive *a, struct osbase_loaded *b)
{
	struct archive_entry *e;
	bool have_layout = false;
	int k, r = 0;

	while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (!have_layout) {
			_cleanup_free_ char *text = NULL;
			size_t len;
			if (!streq(name, "layout.ini"))
				return abur_fail(-EBADMSG, "%s before layout.ini", name);
			r = diskimg_read_small(a, name, 64 * 1024, &text, &len);
			if (r == 0)
				r = layout_parse(text, len, &b->l);
			have_layout = r == 0;
		} else {
			r = take_index(a, name, b);
		}
	}
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "%s: %s", OSBASE_PAYLOAD, archive_error_string(a));
	if (r == 0 && !have_layout)
		r = abur_fail(-EBADMSG, "%s holds no layout.ini", OSBASE_PAYLOAD);
	return r;
}

int osbase_load(struct store *s, const struct generation *g, struct osbase_loaded *b)
{
	struct payload_reader *p;
	int r;

	memset(b, 0, sizeof(*b));
	r = payload_open(s, g, OSBASE_PAYLOAD, &p);
	if (r == -ENOENT)
		return abur_fail(
		    -ENOENT,
		    "os generation %llu has no file index (sealed by an older abur): seal again to capture "
		    "updates",
		    (unsigned long long)g->seq);
	if (r < 0)
		return r;
	r = payload_close(p, take_entries(payload_archive(p), b));
	if (r < 0) {
		osbase_loaded_free(b);
		return abur_fail_wrap(r, "os generation %llu", (unsigned long long)g->seq);
	}
	return 0;
}

int osbase_load_of(struct store *s, const struct gen_list *gl, const struct generation *g, struct osbase_loaded *out)
{
	const struct generation *seal = osupd_is_update(g) ? osupd_gen(gl, osupd_base(g)) : g;

	memset(out, 0, sizeof(*out));
	if (!seal)
		return abur_fail(-ENOENT, "os update %llu is based on seal %llu, which the store does not hold",
				 (unsigned long long)g->seq, (unsigned long long)osupd_base(g));
	return osbase_load(s, seal, out);
}

void osbase_loaded_free(struct osbase_loaded *b)
{
	for (size_t i = 0; i < b->n; i++)
		osidx_free(&b->idx[i]);
	free(b->idx);
	free(b->parts);
	layout_free(&b->l);
	memset(b, 0, sizeof(*b));
}
