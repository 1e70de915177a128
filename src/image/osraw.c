#include "osraw.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>

static void add(struct osraw **v, size_t *n, const char *name, unsigned part, uint64_t off, uint64_t len)
{
	struct osraw *a;

	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	a = &(*v)[(*n)++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->part = part;
	a->off = off;
	a->len = len;
}

struct osraw *osraw_list(const struct layout *l, size_t *n)
{
	struct osraw *v = NULL;
	uint64_t gap = layout_gap_start(l);

	*n = 0;
	if (l->bootarea >= MBR_CODE_LEN)
		add(&v, n, "bootcode", 0, 0, MBR_CODE_LEN);
	if (l->bootarea > gap)
		add(&v, n, "gap", 0, gap, l->bootarea - gap);
	for (size_t i = 0; i < l->nparts; i++) {
		const struct part_rec *p = &l->parts[i];
		uint64_t bytes = p->size * l->sector_size;
		char name[16];
		if (!(p->method->flags & PMF_RAW_AREA) || bytes > OSRAW_PART_MAX)
			continue;
		snprintf(name, sizeof(name), "p%u", p->num);
		add(&v, n, name, p->num, p->start * l->sector_size, bytes);
	}
	return v;
}

/* Reads [off, off+len) of fd in pieces, handing each to fn. */
static int read_range(int fd, const char *dev, uint64_t off, uint64_t len,
		      int (*fn)(void *arg, const void *buf, size_t n), void *arg)
{
	_cleanup_free_ char *buf = xmalloc(MiB);

	/* A partition and its disk are two block devices with two page caches:
	 * what was written through one (a boot loader updating its partition)
	 * is stale in the other.  The caller synced; drop our cached copy. */
	(void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
	while (len > 0) {
		size_t k = len < MiB ? (size_t)len : MiB;
		ssize_t got = pread(fd, buf, k, (off_t)off);
		if (got != (ssize_t)k)
			return abur_fail(got < 0 ? -errno : -EIO, "%s: read at byte %llu: %s", dev,
					 (unsigned long long)off, got < 0 ? strerror(errno) : "short read");
		int r = fn(arg, buf, k);
		if (r < 0)
			return r;
		off += k;
		len -= k;
	}
	return 0;
}

static int to_sha(void *arg, const void *buf, size_t n)
{
	sha256_update(arg, buf, n);
	return 0;
}

static int hash_range(int fd, const char *dev, uint64_t off, uint64_t len, char sha[SHA256_HEX_LEN])
{
	struct sha256 h;
	int r;

	sha256_init(&h);
	r = read_range(fd, dev, off, len, to_sha, &h);
	if (r == 0)
		sha256_final_hex(&h, sha);
	return r;
}

static int to_archive(void *arg, const void *buf, size_t n)
{
	struct archive *a = arg;

	return archive_write_data(a, buf, n) == (la_ssize_t)n
		   ? 0
		   : abur_fail(archive_r(a), "raw area: %s", archive_error_string(a));
}

int osraw_put(struct archive *ar, int fd, const char *dev, const struct osraw *a)
{
	struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *name = xasprintf("%s.bin", a->name);
	int r;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)a->len);
	r = archive_write_header(ar, e) == ARCHIVE_OK
		? 0
		: abur_fail(archive_r(ar), "%s: %s", name, archive_error_string(ar));
	archive_entry_free(e);
	return r < 0 ? r : read_range(fd, dev, a->off, a->len, to_archive, ar);
}

int osraw_hash(int fd, const char *dev, struct osraw *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = hash_range(fd, dev, v[i].off, v[i].len, v[i].sha);
		if (r < 0)
			return abur_fail_wrap(r, "raw area %s", v[i].name);
	}
	return 0;
}
