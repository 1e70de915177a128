#include "osraw.h"

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
		if (p->method != PM_RAW || bytes > OSRAW_PART_MAX)
			continue;
		snprintf(name, sizeof(name), "p%u", p->num);
		add(&v, n, name, p->num, p->start * l->sector_size, bytes);
	}
	return v;
}

static int hash_range(int fd, const char *dev, uint64_t off, uint64_t len, char sha[SHA256_HEX_LEN])
{
	_cleanup_free_ char *buf = xmalloc(MiB);
	struct sha256 h;

	sha256_init(&h);
	while (len > 0) {
		size_t k = len < MiB ? (size_t)len : MiB;
		ssize_t got = pread(fd, buf, k, (off_t)off);
		if (got != (ssize_t)k)
			return abur_fail(got < 0 ? -errno : -EIO, "%s: read at byte %llu: %s", dev,
					 (unsigned long long)off, got < 0 ? strerror(errno) : "short read");
		sha256_update(&h, buf, k);
		off += k;
		len -= k;
	}
	sha256_final_hex(&h, sha);
	return 0;
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
