#include "pkgmgr.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static char *under(const char *root, const char *path)
{
	return xasprintf("%s%s", streq(root, "/") ? "" : root, path);
}

static bool held(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	/* Whoever holds a lock that would conflict with a write lock over the
	 * whole file: dpkg and apt take theirs with F_SETLK. */
	return fd >= 0 && fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

char *pkgmgr_locked(const struct abur_component *c, const char *root)
{
	for (size_t i = 0; i < c->nbusy_locks; i++) {
		_cleanup_free_ char *p = under(root, c->busy_locks[i]);
		if (held(p))
			return xstrdup(c->busy_locks[i]);
	}
	return NULL;
}

static time_t newest(const struct stat *st)
{
	return st->st_mtime > st->st_ctime ? st->st_mtime : st->st_ctime;
}

/* The newest change in the tree at dfd/name, counting entries in *left. */
static time_t scan(int dfd, const char *name, dev_t dev, unsigned *left)
{
	struct stat st;
	time_t t;
	int fd;
	DIR *d;
	struct dirent *de;

	if (!*left || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	(*left)--;
	t = newest(&st);
	if (!S_ISDIR(st.st_mode) || st.st_dev != dev)
		return t;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return t;
	}
	while ((de = readdir(d)) && *left) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		time_t k = scan(dirfd(d), de->d_name, dev, left);
		if (k > t)
			t = k;
	}
	closedir(d);
	return t;
}

time_t pkgmgr_last_change(const struct abur_component *c, const char *root)
{
	time_t t = 0;
	unsigned left = PKGMGR_SCAN_MAX;

	for (size_t i = 0; i < c->nchanged_by; i++) {
		_cleanup_free_ char *p = under(root, c->changed_by[i]);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		time_t k = scan(AT_FDCWD, p, st.st_dev, &left);
		if (k > t)
			t = k;
	}
	return t;
}
