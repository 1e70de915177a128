/* Partition method ext: ext2/3/4, stored as the blocks its block bitmap
 * marks used; a grown last partition is checked and resized.  The only
 * file that uses libext2fs. */
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <pthread.h>

#include "imgint.h"

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

static bool match_ext(const char *fstype)
{
	return fstype && (streq(fstype, "ext2") || streq(fstype, "ext3") || streq(fstype, "ext4"));
}

static int scan_ext(int fd, const char *dev, uint64_t off, uint64_t size, struct part_rec *p)
{
	ext2_filsys fs = NULL;
	char opts[64];
	errcode_t e;

	(void)fd, (void)size;
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

/* The filesystem follows its grown partition. */
static int grow_ext(const char *disk, const struct part_rec *p)
{
	_cleanup_free_ char *node = NULL;
	int r = blk_part_node(disk, p->num, &node);

	if (r == 0) {
		const char *fsck[] = {"e2fsck", "-f", "-p", node, NULL};
		r = proc_run(fsck, 1); /* 1: errors corrected */
	}
	if (r == 0) {
		const char *resize[] = {"resize2fs", node, NULL};
		r = proc_run(resize, 0);
	}
	return r;
}

const struct part_method pm_ext = {
    .name = "ext",
    .match = match_ext,
    .scan = scan_ext,
    .grow = grow_ext,
    .grow_tools = (const char *const[]){"e2fsck", "resize2fs", NULL},
    .flags = PMF_FILES,
};
