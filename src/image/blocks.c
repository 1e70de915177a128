/* Which blocks of a partition hold data: what libblkid finds there picks
 * the partition method (pmethod.c), and the method's scan lists them. */
#include <blkid.h>
#include <string.h>

#include "imgint.h"

void extents_add(struct extents *x, uint64_t off, uint64_t len)
{
	if (len == 0)
		return;
	x->bytes += len;
	if (x->n && x->e[x->n - 1].off + x->e[x->n - 1].len == off) {
		x->e[x->n - 1].len += len;
		return;
	}
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->e = xrealloc(x->e, x->cap * sizeof(*x->e));
	}
	x->e[x->n++] = (struct extent){off, len};
}

void extents_free(struct extents *x)
{
	free(x->e);
	memset(x, 0, sizeof(*x));
}

char *blkid_value(blkid_probe pr, const char *name)
{
	const char *v = NULL;

	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v && *v)
		return xstrdup(v);
	return NULL;
}

int probe_fs_at(int fd, uint64_t off, uint64_t size, char **type, char **uuid, char **label)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return abur_fail(-ENOMEM, "blkid_new_probe failed");
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)off, (blkid_loff_t)size) < 0) {
		blkid_free_probe(pr);
		return abur_fail(-EIO, "cannot probe at byte %llu", (unsigned long long)off);
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL);
	if (blkid_do_safeprobe(pr) == 0) {
		*type = blkid_value(pr, "TYPE");
		*uuid = blkid_value(pr, "UUID");
		*label = blkid_value(pr, "LABEL");
	}
	blkid_free_probe(pr);
	return 0;
}

bool part_raw_encrypted(const struct part_rec *p)
{
	return (part_method_match(p->fstype)->flags & PMF_ENCRYPTED) && p->method == part_method_match(NULL);
}

int blocks_scan(int fd, const char *dev, unsigned sector_size, struct part_rec *p, unsigned flags)
{
	uint64_t off = p->start * sector_size, size = p->size * sector_size;
	int r;

	extents_free(&p->map);
	r = probe_fs_at(fd, off, size, &p->fstype, &p->fsuuid, &p->fslabel);
	if (r < 0)
		return r;
	p->method = part_method_match(p->fstype);
	if ((p->method->flags & PMF_ENCRYPTED) && (flags & SCAN_RAW_ENCRYPTED))
		p->method = part_method_match(NULL); /* what stores any content */
	if (p->method->scan)
		r = p->method->scan(fd, dev, off, size, p);
	p->used = p->map.bytes;
	return r;
}
