#include "osrun.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/mounts.h"
#include "image.h"

/* The disk and partition number holding device number dev, from sysfs. */
static int disk_of(dev_t dev, const char *root, char **disk, unsigned *partno)
{
	_cleanup_free_ char *link = xasprintf("/sys/dev/block/%u:%u", major(dev), minor(dev));
	_cleanup_free_ char *pfile = xasprintf("%s/partition", link);
	_cleanup_free_ char *text = NULL;
	char target[PATH_MAX];
	ssize_t n;
	char *slash;

	if (read_file(pfile, 64, &text, NULL) < 0)
		return abur_fail(-ENODEV, "%s is not on a disk partition (device %u:%u)", root, major(dev), minor(dev));
	*partno = (unsigned)strtoul(text, NULL, 10);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return abur_fail(-errno, "%s: %m", link);
	target[n] = '\0';
	/* ".../block/<disk>/<partition>": the disk is the parent directory. */
	slash = strrchr(target, '/');
	if (!slash)
		return abur_fail(-ENODEV, "%s: unexpected sysfs path %s", link, target);
	*slash = '\0';
	slash = strrchr(target, '/');
	*disk = xasprintf("/dev/%s", slash ? slash + 1 : target);
	return 0;
}

static int check_geometry(const struct disk_info *d, const struct layout *l)
{
	for (size_t i = 0; i < l->nparts; i++) {
		const struct part_rec *p = &l->parts[i];
		const struct probe_part *q = NULL;
		for (size_t k = 0; k < d->nparts; k++)
			if (d->parts[k].num == p->num)
				q = &d->parts[k];
		if (!q || q->start != p->start * l->sector_size || q->size != p->size * l->sector_size)
			return abur_fail(-ESTALE, "partition %u of %s has moved or changed size since the seal", p->num,
					 d->dev);
	}
	return 0;
}

static int check_disk(struct osrun *run, const char *root, const struct layout *l)
{
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	int r = image_probe(run->disk, l->id, &d);

	if (r == 0 && d->cls != DISK_OURS)
		r = abur_fail(-ESTALE, "the disk holding %s (%s) is not the sealed disk: %s", root, run->disk,
			      d->reason);
	if (r == 0 && l->root && run->rootp != l->root)
		r = abur_fail(-ESTALE, "%s is partition %u of %s; the sealed root filesystem is partition %u", root,
			      run->rootp, run->disk, l->root);
	if (r == 0)
		r = check_geometry(d, l);
	return r;
}

/* Where partition num of the disk is mounted, and what that is for the
 * system whose "/" is at rroot.  Both NULL when it is not mounted there. */
static int find_mount(struct osrun *run, const struct mount_list *ml, unsigned num, const char *rroot, char **mnt,
		      char **sys)
{
	_cleanup_free_ char *node = NULL;
	size_t n = streq(rroot, "/") ? 0 : strlen(rroot);
	struct stat st;
	int r = blk_part_node(run->disk, num, &node);

	*mnt = *sys = NULL;
	if (r < 0)
		return r;
	if (stat(node, &st) < 0)
		return abur_fail(-errno, "%s: %m", node);
	for (size_t i = 0; i < ml->n && !*mnt; i++) {
		const char *dir = ml->e[i].dir;
		if (ml->e[i].dev != st.st_rdev || strncmp(dir, rroot, n) != 0 || (dir[n] != '/' && dir[n] != '\0'))
			continue;
		*mnt = xstrdup(dir);
		*sys = xstrdup(dir[n] ? dir + n : "/");
	}
	return 0;
}

static void read_swaps(struct osrun *run)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/swaps", "re");
	char line[4096], name[4096], type[32];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%4095s %31s", name, type) == 2 && streq(type, "file")) {
			run->swaps = xrealloc(run->swaps, (run->nswaps + 1) * sizeof(char *));
			run->swaps[run->nswaps++] = xstrdup(name);
		}
}

int osrun_open(const struct abur_config *cfg, const char *root, const struct layout *l, const unsigned *parts, size_t n,
	       struct osrun *run)
{
	_cleanup_free_ char *rroot = realpath(root, NULL);
	struct mount_list ml = {0};
	struct stat st;
	int r;

	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->os = config_component(cfg, IMAGE_COMPONENT);
	run->parts = parts;
	run->n = n;
	if (!rroot || stat(rroot, &st) < 0)
		return abur_fail(-errno, "%s: %m", root);
	r = disk_of(st.st_dev, root, &run->disk, &run->rootp);
	if (r == 0)
		r = check_disk(run, root, l);
	if (r == 0)
		r = mounts_read(&ml);
	run->mnt = xcalloc(n, sizeof(char *));
	run->sys = xcalloc(n, sizeof(char *));
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (parts[i] == run->rootp) {
			run->mnt[i] = xstrdup(rroot);
			run->sys[i] = xstrdup("/");
		} else {
			r = find_mount(run, &ml, parts[i], rroot, &run->mnt[i], &run->sys[i]);
		}
	}
	mounts_free(&ml);
	if (r == 0)
		read_swaps(run);
	if (r < 0)
		osrun_close(run);
	return r;
}

void osrun_close(struct osrun *run)
{
	for (size_t i = 0; run->mnt && i < run->n; i++) {
		free(run->mnt[i]);
		free(run->sys[i]);
	}
	for (size_t i = 0; i < run->nswaps; i++)
		free(run->swaps[i]);
	free(run->swaps);
	free(run->mnt);
	free(run->sys);
	free(run->disk);
	memset(run, 0, sizeof(*run));
}

static bool at_or_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool osrun_skip(void *arg, const char *sys)
{
	const struct osrun *run = arg;
	const struct abur_config *cfg = run->cfg;

	if (run->os && component_excludes(run->os, sys))
		return true;
	/* Each file component is restored by itself, after the os stage. */
	for (size_t i = 0; i < cfg->ncomps; i++)
		for (size_t k = 0; component_is(&cfg->comps[i], CT_FILE_TREE) && k < cfg->comps[i].npaths; k++)
			if (at_or_under(sys, cfg->comps[i].paths[k]))
				return true;
	for (size_t i = 0; i < run->nswaps; i++)
		if (streq(sys, run->swaps[i]))
			return true;
	return cfg->daemon.state_dir && at_or_under(sys, cfg->daemon.state_dir);
}
