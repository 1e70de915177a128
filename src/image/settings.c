/* Restoring file-level components into a reimaged (or existing) disk. */
#include <string.h>

#include "image.h"
#include "imgint.h"
#include "rootfs.h"

/* What "restore settings" brings back when the disk itself is fine. */
static const char *const settings[] = {"license", "config"};

static bool wanted(const struct abur_component *c, enum image_files which)
{
	if (!component_is(c, CT_FILE_TREE))
		return false;
	for (size_t i = 0; which == IMAGE_FILES_SETTINGS && i < ARRAY_SIZE(settings); i++)
		if (streq(c->name, settings[i]))
			return true;
	return which == IMAGE_FILES_ALL;
}

/* 1 restored, 0 nothing stored for it. */
static int restore_one(const struct abur_config *cfg, struct store *s, const struct abur_component *c, const char *mnt,
		       const struct progress_hook *progress, struct files_result *fr)
{
	struct restore_limits lim = {cfg->restore.max_total_size, cfg->restore.max_entries};
	uint64_t seq;
	unsigned skipped = 0;
	struct restore_want w = {.lim = &lim, .comp = c, .progress = progress};
	int r = restore_newest(s, mnt, &w, &seq, &skipped, NULL);

	if (r == -ENODATA)
		return 0;
	if (r < 0)
		return abur_fail_wrap(r, "restoring component %s", c->name);
	if (skipped) {
		_cleanup_free_ char *why = xasprintf("%s g%06llu (%u newer %s its check)", c->name,
						     (unsigned long long)seq, skipped, skipped == 1 ? "fails" : "fail");
		xstrappend(&fr->why, "; ", why);
		fr->passed_over += skipped;
	}
	return 1;
}

int image_restore_files(const struct abur_config *cfg, struct store *s, const char *dev, unsigned root,
			enum image_files which, const struct progress_hook *progress, struct files_result *fr)
{
	struct rootfs rf = {.num = root};
	struct files_result none = {0};
	int r, n = 0;

	if (!fr)
		fr = &none;
	r = rootfs_mount(&rf, dev, BLK_RW);
	for (size_t i = 0; r == 0 && i < cfg->ncomps; i++) {
		if (!wanted(&cfg->comps[i], which))
			continue;
		r = restore_one(cfg, s, &cfg->comps[i], rf.mnt, progress, fr);
		n += r > 0;
		r = r < 0 ? r : 0;
	}
	/* What was restored is only safe once the filesystem unmounted cleanly. */
	int k = abur_after(r, rootfs_release(&rf));
	if (r == 0 && k < 0)
		r = abur_fail_wrap(k, "%s: restored files may not be on disk", dev);
	free(none.why);
	return r < 0 ? r : n;
}

int image_restore_settings(const struct abur_config *cfg, struct store *s, const char *dev, enum image_files which,
			   const struct progress_hook *progress, struct files_result *fr)
{
	struct rootfs rf = {0};
	int r = rootfs_find(cfg, dev, &rf);
	unsigned root = rf.num;

	(void)rootfs_release(&rf);
	if (r < 0)
		return r;
	if (!root)
		return abur_fail(-ENOENT, "%s: no root filesystem found (etc/fstab, etc/os-release)", dev);
	return image_restore_files(cfg, s, dev, root, which, progress, fr);
}
