/* The stray scan of a restore: what lies under the restored paths in the
 * root that the generation does not hold.  Counted always (the result says
 * how many were left in place); removed with --exact.  The walk never
 * follows a symlink (a link is an entry like any other: a stray link is
 * removed as the link), never leaves the root's filesystem and never
 * touches an excluded path. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "restore_int.h"

static int visit(struct stray_scan *st, int dfd, const char *name, const char *rel, bool stray);

static int visit_children(struct stray_scan *st, int dfd, const char *name, const char *rel, bool stray)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", rel);
	if (!(d = fdopendir(fd))) {
		r = abur_fail(-errno, "%s: %m", rel);
		close(fd);
		return r;
	}
	while (r == 0 && (de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", rel, de->d_name);
		r = visit(st, dirfd(d), de->d_name, sub, stray);
	}
	closedir(d);
	return r;
}

/* A directory that still holds an excluded entry stays (ENOTEMPTY). */
static int remove_entry(int dfd, const char *name, const char *rel, bool dir)
{
	if (unlinkat(dfd, name, dir ? AT_REMOVEDIR : 0) == 0 || errno == ENOENT || (dir && errno == ENOTEMPTY))
		return 0;
	return abur_fail(-errno, "remove %s: %m", rel);
}

/* rel (relative to the root) is name in dfd; stray: an ancestor is. */
static int visit(struct stray_scan *st, int dfd, const char *name, const char *rel, bool stray)
{
	_cleanup_free_ char *abs = xasprintf("/%s", rel);
	struct stat sb;
	int r = 0;

	if (component_excludes(st->comp, abs))
		return 0;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", rel);
	if (sb.st_dev != st->dev)
		return 0; /* another filesystem mounted there: not the restore's to judge */
	stray = stray || !st->held(st->arg, rel);
	if (S_ISDIR(sb.st_mode))
		r = visit_children(st, dfd, name, rel, stray);
	if (r < 0 || !stray)
		return r;
	st->n++;
	return st->remove ? remove_entry(dfd, name, rel, S_ISDIR(sb.st_mode)) : 0;
}

int stray_scan(struct stray_scan *st, const char *top)
{
	_cleanup_free_ char *parent = xstrdup(top);
	char *slash = strrchr(parent, '/');
	_cleanup_close_ int pfd = -1;

	if (slash)
		*slash = '\0';
	pfd = slash ? io_open_beneath(st->root, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) : dup(st->root);
	if (pfd < 0) /* nothing there, or a symlink on the way: nothing beneath the root to judge */
		return 0;
	return visit(st, pfd, slash ? slash + 1 : top, top, false);
}
