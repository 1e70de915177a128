/* The system disk's root filesystem: found by looking inside, mounted
 * under a temp directory for sealing and restoring file components. */
#ifndef ABUR_ROOTFS_H
#define ABUR_ROOTFS_H

#include "core/blk.h"
#include "core/config.h"
#include "core/util.h"

struct rootfs {
	unsigned num; /* partition number, 0: none found */
	char *node;   /* /dev/... of the partition */
	char *mnt;    /* temp mount point while mounted */
	bool mounted;
};

/* Finds the root filesystem of dev: the first Linux filesystem holding
 * etc/fstab or etc/os-release, else one holding a component path.  Each
 * candidate is mounted read-only and unmounted again.  rf->num = 0 when
 * the disk has none (not an error). */
int rootfs_find(const struct abur_config *cfg, const char *dev, struct rootfs *rf) MUST_CHECK;
/* Mounts partition rf->num of dev (BLK_RO or BLK_RW) at a temp dir. */
int rootfs_mount(struct rootfs *rf, const char *dev, enum blk_mode mode) MUST_CHECK;
/* Unmounts (if mounted), removes the temp dir, frees. */
/* Unmounts and frees; an unmount failure (data perhaps not on disk) is
 * returned. */
int rootfs_release(struct rootfs *rf);
#endif
