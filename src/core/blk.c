#include "blk.h"

#include "mounts.h"

#include <blkid.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

bool blk_is_device_spec(const char *spec)
{
	return startswith(spec, "LABEL=") || startswith(spec, "UUID=") || startswith(spec, "PARTUUID=") ||
	       startswith(spec, "PARTLABEL=") || startswith(spec, "/dev/");
}

int blk_resolve(const char *spec, char **dev)
{
	blkid_cache cache = NULL;
	char *d;
	struct stat st;

	if (startswith(spec, "/dev/")) {
		if (stat(spec, &st) < 0 || !S_ISBLK(st.st_mode))
			return abur_fail(-ENODEV, "no block device %s", spec);
		*dev = xstrdup(spec);
		return 0;
	}
	/* A private cache that starts empty: the shared one can name, for up
	 * to 200 s, a device that no longer carries the tag (a flash pulled
	 * and re-plugged under another name, a loop device detached). */
	if (blkid_get_cache(&cache, "/dev/null") < 0)
		return abur_fail(-ENOMEM, "blkid cache: out of memory");
	d = blkid_evaluate_spec(spec, &cache);
	blkid_put_cache(cache);
	if (!d)
		return abur_fail(-ENODEV, "no device with %s", spec);
	*dev = xstrdup(d);
	free(d);
	return 0;
}

static int probe_type(const char *dev, char **type)
{
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	const char *t = NULL;
	int r = -EINVAL;

	if (!pr)
		return abur_fail(-errno ? -errno : -EIO, "cannot probe %s: %m", dev);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "TYPE", &t, NULL) == 0) {
		*type = xstrdup(t);
		r = 0;
	}
	blkid_free_probe(pr);
	return r < 0 ? abur_fail(r, "%s: no filesystem found", dev) : 0;
}

int blk_mount_flags(const char *dev, const char *dir, unsigned long flags, const char *data)
{
	_cleanup_free_ char *type = NULL;
	int r;

	r = probe_type(dev, &type);
	if (r < 0)
		return r;
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	if (streq(data, "noload") && !streq(type, "ext3") && !streq(type, "ext4"))
		data = NULL;
	if (mount(dev, dir, type, flags | MS_NOSUID | MS_NODEV, data) < 0)
		return abur_fail(-errno, "mount %s (%s) on %s: %m", dev, type, dir);
	return 0;
}

int blk_mount(const char *dev, const char *dir, enum blk_mode mode)
{
	bool rw = mode == BLK_RW;

	return blk_mount_flags(dev, dir, rw ? 0 : MS_RDONLY, rw ? NULL : "noload");
}

int blk_umount(const char *dir)
{
	if (umount2(dir, 0) < 0)
		return abur_fail(-errno, "unmount %s: %m", dir);
	return 0;
}

/* Whether device number d is dev itself or one of its partitions. */
static bool same_disk(dev_t disk, dev_t d, const char *disk_sysname)
{
	char path[512];
	struct stat st;

	if (d == disk)
		return true;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(d), minor(d));
	if (stat(path, &st) < 0)
		return false;
	/* A partition's sysfs directory sits inside its disk's. */
	char link[512], target[512];
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(d), minor(d));
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	char needle[128];
	snprintf(needle, sizeof(needle), "/%s/", disk_sysname);
	return strstr(target, needle) != NULL;
}

int blk_find_mount(const char *dev, char **where)
{
	struct mount_list ml;
	struct stat st;
	const char *sysname = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	char real[512];
	int r = 0;

	if (stat(dev, &st) < 0)
		return abur_fail(-errno, "%s: %m", dev);
	if (!S_ISBLK(st.st_mode))
		return 0;
	if (realpath(dev, real))
		sysname = strrchr(real, '/') + 1;
	r = mounts_read(&ml);
	for (size_t i = 0; r == 0 && i < ml.n; i++) {
		if (!same_disk(st.st_rdev, ml.e[i].dev, sysname))
			continue;
		*where = xasprintf("%s on %s", ml.e[i].source, ml.e[i].dir);
		r = 1;
	}
	mounts_free(&ml);
	return r;
}

int blk_size(const char *dev, uint64_t *bytes)
{
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", dev);
	if (fstat(fd, &st) < 0)
		return abur_fail(-errno, "%s: %m", dev);
	if (S_ISREG(st.st_mode)) {
		*bytes = (uint64_t)st.st_size;
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes) < 0)
		return abur_fail(-errno, "%s: size: %m", dev);
	return 0;
}

int blk_sector_size(int fd, const char *dev, unsigned *bytes)
{
	struct stat st;
	int ss;

	if (fstat(fd, &st) < 0)
		return abur_fail(-errno, "%s: %m", dev);
	if (!S_ISBLK(st.st_mode)) {
		*bytes = 512;
		return 0;
	}
	if (ioctl(fd, BLKSSZGET, &ss) < 0)
		return abur_fail(-errno, "%s: logical sector size: %m", dev);
	*bytes = (unsigned)ss;
	return 0;
}

/* "/sys/dev/block/M:m" links to ".../block/DISK/PART" for a partition. */
static char *parent_disk(dev_t d)
{
	char link[64], target[512];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(d), minor(d));
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return xstrdup("?");
	target[n] = '\0';
	char *slash = strrchr(target, '/');
	if (!slash)
		return xstrdup("?");
	*slash = '\0';
	slash = strrchr(target, '/');
	return xasprintf("/dev/%s", slash ? slash + 1 : target);
}

int blk_check_whole_disk(const char *dev)
{
	_cleanup_free_ char *path = NULL, *num = NULL, *disk = NULL;
	struct stat st;

	if (stat(dev, &st) < 0)
		return abur_fail(-errno, "%s: %m", dev);
	if (!S_ISBLK(st.st_mode))
		return 0;
	path = xasprintf("/sys/dev/block/%u:%u/partition", major(st.st_rdev), minor(st.st_rdev));
	if (access(path, F_OK) < 0)
		return 0;
	abur_ignore(read_file(path, 64, &num, NULL)); /* the message says "?" */
	disk = parent_disk(st.st_rdev);
	return abur_fail(-EINVAL, "%s is partition %s of %s, not a whole disk: give the disk itself (%s)", dev,
			 num ? strstrip(num) : "?", disk, disk);
}
