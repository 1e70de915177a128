/* Block devices: find by spec, mount, tell whether mounted, partitions. */
#ifndef ABUR_BLK_H
#define ABUR_BLK_H

#include "util.h"

/* Resolves LABEL=, UUID=, PARTUUID=, PARTLABEL= or a device path to a
 * device node (libblkid; works without udev). -ENODEV with "no device
 * with LABEL=X" when absent. Caller frees *dev. */
int blk_resolve(const char *spec, char **dev) MUST_CHECK;
/* True when spec names a device rather than a directory. */
bool blk_is_device_spec(const char *spec);
/* How blk_mount() mounts: BLK_RO read-only (and "noload" for ext3/4, so
 * not even the journal is replayed), BLK_RW read-write. */
enum blk_mode { BLK_RO, BLK_RW };
/* Mounts dev at dir (created if needed), filesystem type probed with
 * libblkid. */
int blk_mount(const char *dev, const char *dir, enum blk_mode mode) MUST_CHECK;
/* mount(2) with the filesystem type probed; flags are MS_* (MS_NOSUID and
 * MS_NODEV are always added), data the fs options or NULL. */
int blk_mount_flags(const char *dev, const char *dir, unsigned long flags, const char *data) MUST_CHECK;
int blk_umount(const char *dir) MUST_CHECK;
/* If dev, or any partition of it, is mounted, returns 1 and *where gets
 * "<partition> on <mount point>" (caller frees); 0 when not mounted. */
int blk_find_mount(const char *dev, char **where) MUST_CHECK;
/* Size of a block device or regular file in bytes. */
int blk_size(const char *dev, uint64_t *bytes) MUST_CHECK;
/* Logical sector size of the open device fd (512 for a regular file). */
int blk_sector_size(int fd, const char *dev, unsigned *bytes) MUST_CHECK;
/* 0 when dev is a whole disk (or a regular file); -EINVAL when it is a
 * partition (sysfs has /sys/dev/block/M:m/partition), naming its number
 * and its disk: imaging and flash install write whole disks only. */
int blk_check_whole_disk(const char *dev) MUST_CHECK;

/* blkpart.c: partitions without udev.  A partition as the kernel is
 * told it: start and size in sectors of the table's sector size. */
struct blk_part {
	unsigned num;
	uint64_t start, size;
};
/* The node of partition n of disk, made from sysfs (waits up to 5 s for
 * the kernel to show it; replaces a stale node).  Caller frees *node. */
int blk_part_node(const char *disk, unsigned n, char **node) MUST_CHECK;
/* Makes the kernel know every partition of parts[0..n) (BLKPG where it
 * does not: kernels without a GPT/DOS parser) and creates the /dev nodes. */
int blk_kernel_partitions(const char *disk, const struct blk_part *parts, size_t n, unsigned sector_size) MUST_CHECK;
/* BLKRRPART (retried while busy), then blk_kernel_partitions(). */
int blk_reread_partitions(const char *disk, const struct blk_part *parts, size_t n, unsigned sector_size) MUST_CHECK;
#endif
