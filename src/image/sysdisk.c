/* Which disk is the system disk: [disk] system resolved against sysfs. */
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "core/blk.h"
#include "image.h"
#include "imgint.h"

/* Block devices in /sys/block that are not disks we could image. */
static bool skip_name(const char *name)
{
	static const char *const prefixes[] = {"loop", "ram", "zram", "md", "dm-", "sr", "nbd", "fd"};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (startswith(name, prefixes[i]))
			return true;
	/* eMMC hardware boot and RPMB areas appear as disks of their own. */
	return startswith(name, "mmcblk") && (strstr(name, "boot") || strstr(name, "rpmb"));
}

static bool has_device(const char *name)
{
	_cleanup_free_ char *p = xasprintf("/sys/block/%s/device", name);
	_cleanup_free_ char *sz = xasprintf("/sys/block/%s/size", name);
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct stat st;

	if (stat(p, &st) < 0)
		return false;
	return read_file(sz, 4096, &text, &len) == 0 && strtoull(text, NULL, 10) > 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int image_list_disks(char ***devs, size_t *n)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	char **v = NULL;
	size_t k = 0;

	if (!d)
		return abur_fail(-errno, "/sys/block: %m");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || skip_name(e->d_name) || !has_device(e->d_name))
			continue;
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k++] = xasprintf("/dev/%s", e->d_name);
	}
	closedir(d);
	if (k)
		qsort(v, k, sizeof(*v), cmp_str);
	*devs = v;
	*n = k;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

enum match { M_AUTO, M_SLOT, M_SERIAL };

static bool matches(const char *dev, enum match how, const char *want)
{
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	bool ok = false;

	if (how == M_SLOT) {
		_cleanup_free_ char *link = xasprintf("/sys/block/%s", strrchr(dev, '/') + 1);
		char real[PATH_MAX];
		return realpath(link, real) && strstr(real, want);
	}
	if (image_probe(dev, NULL, &d) < 0)
		return false;
	if (how == M_AUTO)
		ok = d->cls != DISK_FLASH && !d->removable;
	else
		ok = !d->serial_is_name && streq(d->serial, want);
	return ok;
}

int image_resolve_system(const char *spec, char **dev)
{
	enum match how = M_AUTO;
	const char *want = NULL;
	char **v = NULL, *found = NULL;
	size_t n = 0, hits = 0;
	int r;

	if (!spec || !*spec)
		spec = "auto";
	if (startswith(spec, "slot:"))
		how = M_SLOT, want = spec + 5;
	else if (startswith(spec, "serial:"))
		how = M_SERIAL, want = spec + 7;
	else if (!streq(spec, "auto"))
		return blk_resolve(spec, dev);
	r = image_list_disks(&v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (matches(v[i], how, want) && hits++ == 0)
			found = v[i];
	if (hits == 1)
		*dev = xstrdup(found);
	free_list(v, n);
	if (hits == 0)
		return abur_fail(-ENODEV, "no system disk found for [disk] system = %s", spec);
	if (hits > 1)
		return abur_fail(-ENOTUNIQ, "[disk] system = %s matches %zu disks; name the slot or serial", spec,
				 hits);
	return 0;
}
