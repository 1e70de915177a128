/* A layout's partitions told to the kernel (core/blkpart.c does the work). */
#include "imgint.h"

static struct blk_part *blk_parts(const struct layout *l)
{
	struct blk_part *p = xcalloc(l->nparts ? l->nparts : 1, sizeof(*p));

	for (size_t i = 0; i < l->nparts; i++)
		p[i] = (struct blk_part){.num = l->parts[i].num, .start = l->parts[i].start, .size = l->parts[i].size};
	return p;
}

int kernel_partitions(const char *disk, const struct layout *l)
{
	_cleanup_free_ struct blk_part *p = blk_parts(l);
	return blk_kernel_partitions(disk, p, l->nparts, l->sector_size);
}

int reread_partitions(const char *disk, const struct layout *l)
{
	_cleanup_free_ struct blk_part *p = blk_parts(l);
	return blk_reread_partitions(disk, p, l->nparts, l->sector_size);
}
