/* Which blocks of a partition hold data: ext2/3/4 from the block bitmap,
 * anything else by skipping all-zero blocks, swap not at all. */
#include <blkid.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <pthread.h>
#include <string.h>

#include "imgint.h"

#define RAW_BLOCK 4096
#define RAW_CHUNK (1 * MiB)

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

static void init_ext2_table(void)
{
	initialize_ext2_error_table();
}

const char *ext2_error_text(long code)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	/* libext2fs's codes are a com_err table; its text, not the number. */
	pthread_once(&once, init_ext2_table);
	return error_message((errcode_t)code);
}

static int scan_ext(const char *dev, uint64_t off, struct part_rec *p)
{
	ext2_filsys fs = NULL;
	char opts[64];
	errcode_t e;

	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)off);
	e = ext2fs_open2(dev, opts, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP, 0, 0, unix_io_manager, &fs);
	if (e)
		return abur_fail(-EIO, "partition %u: cannot open the %s filesystem: %s", p->num, p->fstype,
				 ext2_error_text(e));
	/* Blocks that only the journal knows about are free in the bitmap: an
	 * image taken now would lose them. */
	if (ext2fs_has_feature_journal_needs_recovery(fs->super)) {
		ext2fs_close_free(&fs);
		return abur_fail(-EUCLEAN,
				 "partition %u: the %s filesystem needs journal recovery (not cleanly unmounted): "
				 "mount and unmount it, or run e2fsck, before sealing",
				 p->num, p->fstype);
	}
	e = ext2fs_read_block_bitmap(fs);
	if (e) {
		ext2fs_close_free(&fs);
		return abur_fail(-EIO, "partition %u: cannot read the block bitmap: %s", p->num, ext2_error_text(e));
	}
	uint64_t bs = fs->blocksize;
	blk64_t first = fs->super->s_first_data_block, end = ext2fs_blocks_count(fs->super) - 1;
	blk64_t b = first, set, clear;

	/* With 1 KiB blocks, block 0 (the boot block) is outside the bitmap. */
	extents_add(&p->map, 0, first * bs);
	while (b <= end && ext2fs_find_first_set_block_bitmap2(fs->block_map, b, end, &set) == 0) {
		if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, set, end, &clear) != 0)
			clear = end + 1;
		extents_add(&p->map, set * bs, (clear - set) * bs);
		b = clear;
	}
	ext2fs_close_free(&fs);
	return 0;
}

static int scan_raw(int fd, uint64_t off, uint64_t size, struct part_rec *p)
{
	_cleanup_free_ char *buf = xmalloc(RAW_CHUNK);

	for (uint64_t pos = 0; pos < size;) {
		size_t want = size - pos < RAW_CHUNK ? (size_t)(size - pos) : RAW_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)(off + pos));
		if (n <= 0)
			return abur_fail(n < 0 ? -errno : -EIO, "partition %u: read at %llu: %s", p->num,
					 (unsigned long long)(off + pos), n < 0 ? strerror(errno) : "end of device");
		for (size_t i = 0; i < (size_t)n; i += RAW_BLOCK) {
			size_t len = (size_t)n - i < RAW_BLOCK ? (size_t)n - i : RAW_BLOCK;
			if (!mem_is_zero(buf + i, len))
				extents_add(&p->map, pos + i, len);
		}
		pos += (uint64_t)n;
	}
	return 0;
}

int blocks_scan(int fd, const char *dev, unsigned sector_size, struct part_rec *p)
{
	uint64_t off = p->start * sector_size, size = p->size * sector_size;
	int r;

	extents_free(&p->map);
	r = probe_fs_at(fd, off, size, &p->fstype, &p->fsuuid, &p->fslabel);
	if (r < 0)
		return r;
	if (p->fstype && (streq(p->fstype, "ext2") || streq(p->fstype, "ext3") || streq(p->fstype, "ext4"))) {
		p->method = PM_EXT;
		r = scan_ext(dev, off, p);
	} else if (p->fstype && streq(p->fstype, "swap")) {
		p->method = PM_SWAP;
	} else {
		p->method = PM_RAW;
		r = scan_raw(fd, off, size, p);
	}
	p->used = p->map.bytes;
	return r;
}
