/* Partition method ntfs: an NTFS volume, stored as the clusters its
 * $Bitmap marks used plus the boot sector's backup past the last cluster.
 * A volume Windows left hibernated (Fast Startup) or marked dirty is
 * refused: its on-disk state is not what Windows will boot into.  The only
 * file that uses libntfs-3g (CONFIG_IMAGE_NTFS). */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

/* libntfs-3g's headers include what they need only under its own
 * config.h's HAVE_* macros: the system headers above stand in for them. */
#include <ntfs-3g/types.h>

#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/volume.h>

#include "imgint.h"

#define BITMAP_CHUNK (64 * 1024)

#define FAST_STARTUP_ADVICE "boot Windows, turn off Fast Startup, shut down fully, seal again"

/* libntfs-3g reads the partition through these operations: [off, off+size)
 * of the disk seal already holds open (no partition node, nothing written). */
struct part_dev {
	int fd;
	uint64_t off, size;
	s64 pos;
};

static struct part_dev *pd(struct ntfs_device *dev)
{
	return dev->d_private;
}

static int pd_open(struct ntfs_device *dev, int flags)
{
	if ((flags & O_ACCMODE) != O_RDONLY) {
		errno = EROFS;
		return -1;
	}
	NDevSetOpen(dev);
	NDevSetReadOnly(dev);
	return 0;
}

static int pd_close(struct ntfs_device *dev)
{
	NDevClearOpen(dev);
	return 0;
}

static s64 pd_seek(struct ntfs_device *dev, s64 offset, int whence)
{
	struct part_dev *p = pd(dev);
	s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? p->pos : (s64)p->size;

	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) || base + offset < 0) {
		errno = EINVAL;
		return -1;
	}
	return p->pos = base + offset;
}

static s64 pd_pread(struct ntfs_device *dev, void *buf, s64 count, s64 offset)
{
	struct part_dev *p = pd(dev);

	if (offset < 0 || count < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)offset >= p->size)
		return 0;
	if ((uint64_t)count > p->size - (uint64_t)offset)
		count = (s64)(p->size - (uint64_t)offset);
	return pread(p->fd, buf, (size_t)count, (off_t)(p->off + (uint64_t)offset));
}

static s64 pd_read(struct ntfs_device *dev, void *buf, s64 count)
{
	s64 n = pd_pread(dev, buf, count, pd(dev)->pos);

	if (n > 0)
		pd(dev)->pos += n;
	return n;
}

static s64 pd_write(struct ntfs_device *dev, const void *buf, s64 count)
{
	(void)dev, (void)buf, (void)count;
	errno = EROFS;
	return -1;
}

static s64 pd_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 offset)
{
	(void)offset;
	return pd_write(dev, buf, count);
}

static int pd_sync(struct ntfs_device *dev)
{
	(void)dev;
	return 0;
}

static int pd_stat(struct ntfs_device *dev, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0400;
	st->st_size = (off_t)pd(dev)->size;
	return 0;
}

static int pd_ioctl(struct ntfs_device *dev, unsigned long request, void *argp)
{
	if (request == BLKGETSIZE64) {
		*(uint64_t *)argp = pd(dev)->size;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static struct ntfs_device_operations part_dev_ops = {
    .open = pd_open,
    .close = pd_close,
    .seek = pd_seek,
    .read = pd_read,
    .write = pd_write,
    .pread = pd_pread,
    .pwrite = pd_pwrite,
    .sync = pd_sync,
    .stat = pd_stat,
    .ioctl = pd_ioctl,
};

/* The volume follows its grown partition: ntfsresize without a size
 * enlarges it to the partition and writes the backup boot sector at the
 * new end (where ntfs-3g and Windows look for it). */
static int grow_ntfs(const char *disk, const struct part_rec *p)
{
	_cleanup_free_ char *node = NULL;
	int r = blk_part_node(disk, p->num, &node);

	if (r == 0) {
		const char *resize[] = {"ntfsresize", "--force", "--no-progress-bar", node, NULL};
		r = proc_run(resize, 0);
	}
	return r;
}

static bool match_ntfs(const char *fstype)
{
	return fstype && streq(fstype, "ntfs");
}

/* Mounted read-only, hibernated or not: whether it is, is ours to say. */
static int open_volume(struct part_dev *d, const struct part_rec *p, ntfs_volume **vol)
{
	char name[32];
	struct ntfs_device *dev;

	snprintf(name, sizeof(name), "partition %u", p->num);
	dev = ntfs_device_alloc(name, 0, &part_dev_ops, d);
	if (!dev)
		return abur_fail(-ENOMEM, "ntfs_device_alloc failed");
	*vol = ntfs_device_mount(dev, NTFS_MNT_RDONLY | NTFS_MNT_IGNORE_HIBERFILE);
	if (!*vol) {
		int e = errno ? errno : EIO;
		ntfs_device_free(dev);
		return abur_fail(-EIO,
				 "cannot open the NTFS volume (%s): let Windows check it (chkdsk /f), shut down "
				 "fully, seal again",
				 strerror(e));
	}
	return 0;
}

/* What Windows left that an image must not freeze. */
static int check_shutdown(ntfs_volume *vol)
{
	errno = 0;
	if (ntfs_volume_check_hiberfile(vol, 0) < 0) {
		if (errno != EPERM)
			return abur_fail(-EIO, "cannot read hiberfil.sys: %m");
		return abur_fail(-EUCLEAN, "the NTFS volume is hibernated (Windows Fast Startup or hibernation "
					   "left it in use): " FAST_STARTUP_ADVICE);
	}
	if (vol->flags & VOLUME_IS_DIRTY)
		return abur_fail(-EUCLEAN, "the NTFS volume is marked dirty (Windows did not shut it down "
					   "cleanly): let Windows check it (chkdsk), " FAST_STARTUP_ADVICE);
	return 0;
}

/* The run of used clusters ending before cluster c, if any, ends here. */
static void end_run(struct extents *map, uint64_t cs, uint64_t c, uint64_t *run)
{
	extents_add(map, (c - *run) * cs, *run * cs);
	*run = 0;
}

/* Bit n of $Bitmap is cluster n, least significant bit first; whole bytes
 * of used or free clusters are taken 8 at a time. */
static int map_clusters(ntfs_volume *vol, struct extents *map)
{
	_cleanup_free_ uint8_t *buf = xmalloc(BITMAP_CHUNK);
	uint64_t cs = vol->cluster_size, n = (uint64_t)vol->nr_clusters, run = 0, c = 0;

	for (uint64_t byte = 0; c < n; byte += BITMAP_CHUNK) {
		uint64_t left = (n - c + 7) / 8;
		s64 want = (s64)(left < BITMAP_CHUNK ? left : BITMAP_CHUNK);
		if (ntfs_attr_pread(vol->lcnbmp_na, (s64)byte, want, buf) != want)
			return abur_fail(-EIO, "cannot read the NTFS cluster bitmap");
		for (s64 i = 0; i < want && c < n; i++) {
			if (c + 8 <= n && (buf[i] == 0xff || buf[i] == 0)) {
				if (buf[i] == 0)
					end_run(map, cs, c, &run);
				else
					run += 8;
				c += 8;
				continue;
			}
			for (unsigned bit = 0; bit < 8 && c < n; bit++, c++) {
				if (buf[i] & (1u << bit))
					run++;
				else
					end_run(map, cs, c, &run);
			}
		}
	}
	end_run(map, cs, n, &run);
	return 0;
}

/* The backup boot sector is the volume's last sector, past its last
 * cluster: ntfsfix and Windows check it. */
static void map_tail(ntfs_volume *vol, const NTFS_BOOT_SECTOR *bs, uint64_t size, struct extents *map)
{
	uint64_t from = (uint64_t)vol->nr_clusters * vol->cluster_size;
	uint64_t end = ((uint64_t)sle64_to_cpu(bs->number_of_sectors) + 1) * le16_to_cpu(bs->bpb.bytes_per_sector);

	if (end > size)
		end = size;
	if (end > from)
		extents_add(map, from, end - from);
}

static int scan_ntfs(int fd, const char *dev, uint64_t off, uint64_t size, struct part_rec *p)
{
	struct part_dev d = {.fd = fd, .off = off, .size = size};
	NTFS_BOOT_SECTOR bs;
	ntfs_volume *vol = NULL;
	int r;

	(void)dev;
	if (pread(fd, &bs, sizeof(bs), (off_t)off) != (ssize_t)sizeof(bs))
		return abur_fail(-EIO, "cannot read the NTFS boot sector");
	r = open_volume(&d, p, &vol);
	if (r == 0)
		r = check_shutdown(vol);
	if (r == 0)
		r = map_clusters(vol, &p->map);
	if (r == 0)
		map_tail(vol, &bs, size, &p->map);
	if (vol)
		ntfs_umount(vol, FALSE);
	return r;
}

const struct part_method pm_ntfs = {
    .name = "ntfs",
    .match = match_ntfs,
    .scan = scan_ntfs,
    .grow = grow_ntfs,
    .grow_tools = (const char *const[]){"ntfsresize", NULL},
};
