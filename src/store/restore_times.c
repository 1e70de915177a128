/* The restore's directory times (dt_note, dt_apply). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "restore_int.h"

static size_t path_depth(const char *p)
{
	size_t d = 1;

	for (; *p; p++)
		d += *p == '/';
	return d;
}

static void dt_add(struct dirtimes *d, const char *path, const struct timespec ts[2])
{
	d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
	d->v[d->n++] = (struct dirtime){xstrdup(path), {ts[0], ts[1]}, path_depth(path)};
}

/* Before e is written: its parent's times, when the archive does not hold
 * the parent and they are not recorded yet. */
void dt_note(struct dirtimes *d, int root, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e), *slash = strrchr(path, '/');
	_cleanup_free_ char *parent = slash ? strndup(path, (size_t)(slash - path)) : NULL;
	struct stat st;

	if (archive_entry_filetype(e) == AE_IFDIR) {
		struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
					 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
		dt_add(d, path, ts);
		strset_add(&d->dirs, path);
	}
	if (!parent || strset_has(&d->dirs, parent))
		return;
	strset_add(&d->dirs, parent); /* recorded once, before its first change */
	_cleanup_close_ int fd = io_open_beneath(root, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd >= 0 && fstat(fd, &st) == 0) /* else created by this restore: it has no times to keep */
		dt_add(d, parent, (struct timespec[2]){st.st_atim, st.st_mtim});
}

static int cmp_deeper(const void *a, const void *b)
{
	size_t x = ((const struct dirtime *)a)->depth, y = ((const struct dirtime *)b)->depth;

	return x > y ? -1 : x < y;
}

int dt_apply(struct dirtimes *d, int root)
{
	int r = 0;

	if (d->n)
		qsort(d->v, d->n, sizeof(*d->v), cmp_deeper);
	for (size_t i = 0; i < d->n; i++) {
		_cleanup_close_ int fd = io_open_beneath(root, d->v[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (r == 0 && fd >= 0 && futimens(fd, d->v[i].ts) < 0)
			r = abur_fail(-errno, "restore %s: setting its times: %m", d->v[i].path);
		/* fd < 0: not a directory we restored (a link on the way) */
		free(d->v[i].path);
	}
	free(d->v);
	strset_free(&d->dirs);
	return r;
}
