#include "rootfs.h"

#include <string.h>
#include <sys/stat.h>

#include "core/blk.h"
#include "image.h"
#include "imgint.h"

/* Filesystems a Linux root can be on (what the host kernel mounts). */
static const char *const root_fs[] = {"ext2", "ext3", "ext4", "xfs", "btrfs"};
static const char *const root_markers[] = {"etc/fstab", "etc/os-release"};

bool image_root_capable(const char *fstype)
{
	for (size_t i = 0; fstype && i < ARRAY_SIZE(root_fs); i++)
		if (streq(fstype, root_fs[i]))
			return true;
	return false;
}

static bool exists_under(const char *mnt, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", mnt, rel[0] == '/' ? rel + 1 : rel);
	struct stat st;

	return lstat(p, &st) == 0;
}

/* 2: has a root marker, 1: has a component path, 0: neither. */
static int score(const struct abur_config *cfg, const char *mnt)
{
	for (size_t i = 0; i < ARRAY_SIZE(root_markers); i++)
		if (exists_under(mnt, root_markers[i]))
			return 2;
	for (size_t i = 0; i < cfg->ncomps; i++)
		for (size_t k = 0; component_is(&cfg->comps[i], CT_FILE_TREE) && k < cfg->comps[i].npaths; k++)
			if (exists_under(mnt, cfg->comps[i].paths[k]))
				return 1;
	return 0;
}

int rootfs_mount(struct rootfs *rf, const char *dev, enum blk_mode mode)
{
	const char *tmp = getenv("TMPDIR");
	int r;

	if (!rf->node) {
		r = blk_part_node(dev, rf->num, &rf->node);
		if (r < 0)
			return r;
	}
	if (!rf->mnt) {
		rf->mnt = xasprintf("%s/abur-root.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(rf->mnt)) {
			r = abur_fail(-errno, "mkdtemp %s: %m", rf->mnt);
			free(rf->mnt);
			rf->mnt = NULL;
			return r;
		}
	}
	r = blk_mount(rf->node, rf->mnt, mode);
	if (r < 0)
		return abur_fail_wrap(r, "mounting the root filesystem of %s", dev);
	rf->mounted = true;
	return 0;
}

static int rootfs_umount(struct rootfs *rf)
{
	int r = rf->mounted ? blk_umount(rf->mnt) : 0;

	rf->mounted = false;
	return r;
}

int rootfs_release(struct rootfs *rf)
{
	int r = rootfs_umount(rf);

	if (rf->mnt)
		rmdir(rf->mnt);
	free(rf->mnt);
	free(rf->node);
	memset(rf, 0, sizeof(*rf));
	return r;
}

int rootfs_find(const struct abur_config *cfg, const char *dev, struct rootfs *rf)
{
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	int best = 0, r = image_probe(dev, NULL, &d);

	memset(rf, 0, sizeof(*rf));
	for (size_t i = 0; r == 0 && i < d->nparts && best < 2; i++) {
		struct rootfs cand = {.num = d->parts[i].num};
		if (!image_root_capable(d->parts[i].fstype))
			continue;
		r = rootfs_mount(&cand, dev, BLK_RO);
		int sc = r == 0 ? score(cfg, cand.mnt) : 0;
		(void)rootfs_release(&cand);
		if (sc > best)
			best = sc, rf->num = d->parts[i].num;
	}
	return r;
}
