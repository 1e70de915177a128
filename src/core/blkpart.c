/* Partitions without udev: the kernel told each one (BLKRRPART, else
 * BLKPG) and the /dev nodes made from sysfs. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blk.h"

static char *disk_name(const char *disk)
{
	char real[PATH_MAX];

	if (!realpath(disk, real))
		return NULL;
	return xstrdup(strrchr(real, '/') + 1);
}

/* The sysfs directory name of partition n of disk `name`, or NULL. */
static char *sys_part(const char *name, unsigned n)
{
	_cleanup_free_ char *dir = xasprintf("/sys/block/%s", name);
	DIR *d = opendir(dir);
	struct dirent *e;
	char *found = NULL;

	if (!d)
		return NULL;
	while (!found && (e = readdir(d))) {
		if (!startswith(e->d_name, name))
			continue;
		_cleanup_free_ char *pf = xasprintf("%s/%s/partition", dir, e->d_name);
		_cleanup_free_ char *text = NULL;
		if (read_file(pf, 4096, &text, NULL) == 0 && strtoul(text, NULL, 10) == n)
			found = xstrdup(e->d_name);
	}
	closedir(d);
	return found;
}

static int make_node(const char *name, const char *part, char **node)
{
	_cleanup_free_ char *devf = xasprintf("/sys/block/%s/%s/dev", name, part);
	_cleanup_free_ char *text = NULL;
	unsigned maj, mnr;
	struct stat st;
	char *path = xasprintf("/dev/%s", part);

	if (read_file(devf, 4096, &text, NULL) < 0 || sscanf(text, "%u:%u", &maj, &mnr) != 2) {
		free(path);
		return abur_fail(-ENODEV, "%s: no device number", devf);
	}
	/* No udev: make the node ourselves, replacing a stale one. */
	if (stat(path, &st) == 0 && (!S_ISBLK(st.st_mode) || st.st_rdev != makedev(maj, mnr)))
		unlink(path);
	if (mknod(path, S_IFBLK | 0600, makedev(maj, mnr)) < 0 && errno != EEXIST) {
		int r = abur_fail(-errno, "mknod %s: %m", path);
		free(path);
		return r;
	}
	*node = path;
	return 0;
}

int blk_part_node(const char *disk, unsigned n, char **node)
{
	_cleanup_free_ char *name = disk_name(disk);

	if (!name)
		return abur_fail(-errno, "%s: %m", disk);
	for (int i = 0; i < 50; i++) {
		_cleanup_free_ char *part = sys_part(name, n);
		if (part)
			return make_node(name, part, node);
		usleep(100 * 1000);
	}
	return abur_fail(-ENODEV, "%s: partition %u did not appear", disk, n);
}

static bool kernel_has(const char *name, const struct blk_part *p, unsigned ss)
{
	_cleanup_free_ char *part = sys_part(name, p->num);
	_cleanup_free_ char *sf = NULL, *zf = NULL, *st = NULL, *sz = NULL;

	if (!part)
		return false;
	sf = xasprintf("/sys/block/%s/%s/start", name, part);
	zf = xasprintf("/sys/block/%s/%s/size", name, part);
	if (read_file(sf, 4096, &st, NULL) < 0 || read_file(zf, 4096, &sz, NULL) < 0)
		return false;
	return strtoull(st, NULL, 10) * 512 == p->start * ss && strtoull(sz, NULL, 10) * 512 == p->size * ss;
}

static int blkpg(int fd, int op, unsigned num, uint64_t start, uint64_t len)
{
	struct blkpg_partition part = {.start = (long long)start, .length = (long long)len, .pno = (int)num};
	struct blkpg_ioctl_arg arg = {.op = op, .datalen = sizeof(part), .data = &part};

	return ioctl(fd, BLKPG, &arg) < 0 ? -errno : 0;
}

/* Tells the kernel each partition itself (as partprobe does): kernels
 * built without a GPT or DOS parser ignore BLKRRPART. */
static int add_partitions(int fd, const char *disk, const char *name, const struct blk_part *parts, size_t n,
			  unsigned ss)
{
	for (size_t i = 0; i < n; i++) {
		const struct blk_part *p = &parts[i];
		if (kernel_has(name, p, ss))
			continue;
		(void)blkpg(fd, BLKPG_DEL_PARTITION, p->num, 0, 0);
		int r = blkpg(fd, BLKPG_ADD_PARTITION, p->num, p->start * ss, p->size * ss);
		if (r < 0)
			return abur_fail(r, "%s: adding partition %u to the kernel: %s", disk, p->num, strerror(-r));
	}
	return 0;
}

int blk_kernel_partitions(const char *disk, const struct blk_part *parts, size_t n, unsigned sector_size)
{
	_cleanup_close_ int fd = open(disk, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *name = disk_name(disk);
	int r;

	if (fd < 0 || !name)
		return abur_fail(-errno, "%s: %m", disk);
	r = add_partitions(fd, disk, name, parts, n, sector_size);
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *node = NULL;
		r = blk_part_node(disk, parts[i].num, &node);
	}
	return r;
}

int blk_reread_partitions(const char *disk, const struct blk_part *parts, size_t n, unsigned sector_size)
{
	_cleanup_close_ int fd = open(disk, O_RDONLY | O_CLOEXEC);
	int r = -EBUSY;

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", disk);
	for (int i = 0; i < 50 && r == -EBUSY; i++) {
		r = ioctl(fd, BLKRRPART) < 0 ? -errno : 0;
		if (r == -EBUSY)
			usleep(100 * 1000);
	}
	if (r < 0 && r != -EINVAL)
		return abur_fail(r, "%s: re-reading the partition table: %s", disk, strerror(-r));
	return blk_kernel_partitions(disk, parts, n, sector_size);
}
