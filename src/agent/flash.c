#include "flash.h"

#include <blkid.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/blk.h"
#include "core/io.h"
#include "core/proc.h"
#include "image/image.h"
#include "store/store.h"

#define STORE_MIN (64ULL << 20)

/* The bytes copied are the image's own: partition 1 inside the file,
 * after sector 0 (a truncated image would fail half-way through the copy). */
static int check_image_size(const char *image, uint64_t p1_start, uint64_t end)
{
	uint64_t size;
	int r = blk_size(image, &size);

	if (r < 0)
		return r;
	if (p1_start < 512 || end <= p1_start || end > size)
		return abur_fail(
		    -EINVAL, "%s: partition 1 (bytes %llu to %llu) does not lie inside the image (%llu bytes)", image,
		    (unsigned long long)p1_start, (unsigned long long)end, (unsigned long long)size);
	return 0;
}

/* Partition 1 of the flash image: where the boot area ends. */
static int image_boot_end(const char *image, uint64_t *end, uint64_t *p1_start)
{
	blkid_probe pr = blkid_new_probe_from_filename(image);
	blkid_partlist pl;
	blkid_partition p1;
	int r = -EINVAL;

	if (!pr)
		return abur_fail(-errno ? -errno : -EIO, "%s: %m", image);
	blkid_probe_enable_partitions(pr, 1);
	if (blkid_do_fullprobe(pr) == 0 && (pl = blkid_probe_get_partitions(pr)) &&
	    streq(blkid_partlist_get_table(pl) ? blkid_parttable_get_type(blkid_partlist_get_table(pl)) : "", "dos") &&
	    (p1 = blkid_partlist_get_partition(pl, 0))) {
		*p1_start = (uint64_t)blkid_partition_get_start(p1) * 512;
		*end = *p1_start + (uint64_t)blkid_partition_get_size(p1) * 512;
		r = 0;
	}
	blkid_free_probe(pr);
	if (r < 0)
		return abur_fail(r, "%s: not an ABUR flash image (no DOS partition 1)", image);
	return check_image_size(image, *p1_start, *end);
}

static int same_device(const char *a, const char *b)
{
	struct stat x, y;
	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_rdev == y.st_rdev;
}

/* The flash image and the table written after it count 512-byte sectors. */
static int check_sector_size(const char *dev)
{
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	unsigned ss;
	int r = fd < 0 ? abur_fail(-errno, "%s: %m", dev) : blk_sector_size(fd, dev, &ss);

	if (r == 0 && ss != 512)
		r = abur_fail(-EINVAL, "%s has %u-byte logical sectors; the flash image needs 512-byte sectors", dev,
			      ss);
	return r;
}

static int check_target(const struct abur_config *cfg, const char *dev, const struct flash_install_opts *o,
			uint64_t need, uint64_t *size)
{
	_cleanup_free_ char *sys = NULL, *where = NULL;
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	char b1[32], b2[32];
	bool sys_unknown;
	int r;

	r = image_resolve_system(cfg->disk.system, &sys);
	if (r == 0 && same_device(sys, dev))
		return abur_fail(-EPERM, "%s is the system disk: refusing to turn it into a flash", dev);
	sys_unknown = r < 0;
	if ((r = blk_find_mount(dev, &where)) != 0)
		return r < 0 ? r : abur_fail(-EBUSY, "%s is in use: %s", dev, where);
	if ((r = image_probe(dev, NULL, &d)) < 0)
		return r;
	*size = d->size;
	r = check_sector_size(dev);
	if (r == 0 && d->size < need)
		r = abur_fail(-ENOSPC, "%s holds %s; the flash needs at least %s", dev, fmt_bytes(d->size, b1, 32),
			      fmt_bytes(need, b2, 32));
	else if (r == 0 && d->cls != DISK_BLANK && !streq(o->confirm, d->serial))
		r = abur_fail(-EPERM, "%s is not blank (%s: %s): give --yes=%s to overwrite it", dev,
			      disk_class_name(d->cls), d->reason, d->serial);
	else if (r == 0 && sys_unknown && !streq(o->confirm, d->serial))
		r = abur_fail(-EPERM, "cannot tell which disk is the system disk ([disk] system = %s): give --yes=%s",
			      cfg->disk.system, d->serial);
	return r;
}

static int copy_range(const char *from, const char *to, uint64_t len)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = io_open(to, O_WRONLY, 0);
	_cleanup_free_ char *buf = xmalloc(1 << 20);
	int r = 0;

	if (in < 0 || out < 0)
		return in < 0 ? abur_fail(-errno, "%s: %m", from) : out;
	while (r == 0 && len) {
		size_t n = len < (1 << 20) ? len : (1 << 20);
		ssize_t k = read(in, buf, n);
		if (k <= 0)
			return abur_fail(k < 0 ? -errno : -EIO, "read %s: %s", from, k < 0 ? strerror(errno) : "short");
		r = io_write_all(out, buf, (size_t)k, to);
		len -= (uint64_t)k;
	}
	return r ? r : io_fsync(out, to);
}

/* The DOS table: partition 1 as in the image, partition 2 the rest. */
static int write_table(const char *dev, uint64_t p1_start, uint64_t boot_end)
{
	_cleanup_free_ char *script =
	    xasprintf("label: dos\nstart=%llu, size=%llu, type=c, bootable\n"
		      "start=%llu, type=83\n",
		      (unsigned long long)(p1_start / 512), (unsigned long long)((boot_end - p1_start) / 512),
		      (unsigned long long)(boot_end / 512));
	_cleanup_free_ char *path = xstrdup("/tmp/abur-flash-XXXXXX");
	_cleanup_close_ int fd = mkstemp(path);
	const char *argv[] = {"sh", "-c", "sfdisk -q --no-reread \"$1\" < \"$2\"", "sh", dev, path, NULL};
	int r;

	if (fd < 0 || write(fd, script, strlen(script)) != (ssize_t)strlen(script))
		return abur_fail(-EIO, "cannot write the partition script");
	r = proc_run(argv, 0);
	unlink(path);
	return r;
}

static int make_store(const struct abur_config *cfg, const char *dev, uint64_t p1_start, uint64_t boot_end,
		      uint64_t size)
{
	_cleanup_free_ char *p2 = NULL;
	_cleanup_free_ char *mnt = xasprintf("%s/install-%d", cfg->flash.mount, (int)getpid());
	const struct blk_part parts[2] = {{.num = 1, .start = p1_start / 512, .size = (boot_end - p1_start) / 512},
					  {.num = 2, .start = boot_end / 512, .size = (size - boot_end) / 512}};
	_cleanup_(store_closep) struct store *s = NULL;
	int r;

	/* Tells the kernel both partitions (BLKPG), without relying on its table parsers. */
	if ((r = blk_reread_partitions(dev, parts, 2, 512)) < 0)
		return r;
	if ((r = blk_part_node(dev, 2, &p2)) < 0)
		return r;
	const char *mkfs[] = {"mkfs.ext4", "-q", "-F", "-L", "ABUR-STORE", p2, NULL};
	if ((r = proc_run(mkfs, 0)) < 0)
		return r;
	if ((r = blk_mount(p2, mnt, BLK_RW)) < 0)
		return r;
	r = store_open(cfg, mnt, STORE_WRITE, &s); /* creates abur/STORE */
	store_closep(&s);                          /* before the unmount */
	sync();
	r = abur_after(r, blk_umount(mnt));
	rmdir(mnt);
	return r;
}

int flash_install(const struct abur_config *cfg, const char *dev, const struct flash_install_opts *o)
{
	uint64_t boot_end = 0, p1_start = 0, size = 0;
	int r = image_boot_end(o->image, &boot_end, &p1_start);

	if (r == 0)
		r = check_target(cfg, dev, o, boot_end + STORE_MIN, &size);
	if (r < 0)
		return r;
	r = copy_range(o->image, dev, boot_end);
	if (r == 0)
		r = write_table(dev, p1_start, boot_end);
	if (r == 0)
		r = make_store(cfg, dev, p1_start, boot_end, size);
	return r;
}
