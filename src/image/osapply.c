/* The update stage of a reimage (doc/design.md "Reimage with updates"):
 * the sealed image is on the disk; this lays the chosen update generation
 * over it.  Deletions first, then directories and symlinks, then file
 * content generation by generation (each files payload read once, in
 * order), then hard links, then metadata (directories deepest first, so
 * their mtimes stand), then the raw areas. */
#include "osapply.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "osdiff.h"
#include "osmeta.h"
#include "osraw.h"
#include "osupd.h"
#include "rootfs.h"

struct fsapply {
	struct store *s;
	const struct gen_list *gl;
	unsigned part;
	const struct osidx *st;
	int rootfd;
	const char *mnt;
	struct osapply_result *res;
	struct osapply_ctx *ax; /* its progress */
};

/* ---- placing entries ---- */

/* A new name beside rel, then renamed over it: the old entry (and the
 * inode other paths may share with it) is replaced, never written into. */
static int place(struct fsapply *fa, const char *rel, int (*make)(int dfd, const char *tmp, void *arg), void *arg)
{
	const char *leaf;
	_cleanup_close_ int dfd = osmeta_parent(fa->rootfd, rel, &leaf);
	char tmp[64];
	int r;

	if (dfd < 0)
		return dfd;
	snprintf(tmp, sizeof(tmp), ".abur-new-%d", (int)getpid());
	(void)unlinkat(dfd, tmp, 0);
	r = make(dfd, tmp, arg);
	if (r == 0 && renameat(dfd, tmp, dfd, leaf) < 0) {
		r = abur_fail(-errno, "%s: %m", rel);
		(void)unlinkat(dfd, tmp, 0);
	}
	return r;
}

static int make_symlink(int dfd, const char *tmp, void *arg)
{
	const struct osidx_ent *e = arg;

	return symlinkat(e->target, dfd, tmp) < 0 ? abur_fail(-errno, "%s: %m", e->path) : 0;
}

struct link_src {
	int rootfd;
	const struct osidx_ent *e;
};

static int make_hardlink(int dfd, const char *tmp, void *arg)
{
	const struct link_src *ls = arg;
	const char *leaf;
	_cleanup_close_ int tfd = osmeta_parent(ls->rootfd, ls->e->target, &leaf);

	if (tfd < 0)
		return tfd;
	return linkat(tfd, leaf, dfd, tmp, 0) < 0
		   ? abur_fail(-errno, "%s: linking to %s: %m", ls->e->path, ls->e->target)
		   : 0;
}

static int make_dir(struct fsapply *fa, const struct osidx_ent *e)
{
	const char *leaf;
	_cleanup_close_ int dfd = osmeta_parent(fa->rootfd, e->path, &leaf);

	if (dfd < 0)
		return dfd;
	if (mkdirat(dfd, leaf, 0700) < 0 && errno != EEXIST)
		return abur_fail(-errno, "%s: %m", e->path);
	return 0;
}

static int deletions(struct fsapply *fa)
{
	for (size_t i = fa->st->n; i-- > 0;) {
		const struct osidx_ent *e = &fa->st->e[i];
		if (e->op != OSIDX_DEL)
			continue;
		int r = osmeta_remove(fa->rootfd, e->path);
		if (r < 0)
			return r;
		fa->res->deleted++;
	}
	return 0;
}

/* Directories and symlinks, in path order (a parent before its children). */
static int structure(struct fsapply *fa)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < fa->st->n; i++) {
		const struct osidx_ent *e = &fa->st->e[i];
		if (e->op != OSIDX_ADD || (e->type != OSIDX_DIR && e->type != OSIDX_SYMLINK))
			continue;
		r = osmeta_clear_for(fa->rootfd, e->path, e->type);
		if (r == 0)
			r = e->type == OSIDX_DIR ? make_dir(fa, e) : place(fa, e->path, make_symlink, (void *)e);
	}
	return r;
}

static int hardlinks(struct fsapply *fa)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < fa->st->n; i++) {
		const struct osidx_ent *e = &fa->st->e[i];
		struct link_src ls = {fa->rootfd, e};
		if (e->op != OSIDX_ADD || e->type != OSIDX_HARDLINK)
			continue;
		r = osmeta_clear_for(fa->rootfd, e->path, OSIDX_FILE);
		if (r == 0)
			r = place(fa, e->path, make_hardlink, &ls);
		fa->res->links += r == 0;
	}
	return r;
}

/* ---- file content, one generation's files payload at a time ---- */

struct content {
	struct archive *a;
	const struct osidx_ent *e;
	const char *first; /* an earlier path with the same content, or NULL */
	int rootfd;
	uint64_t *bytes;
};

static int write_from_archive(int fd, struct content *c)
{
	char hex[SHA256_HEX_LEN];
	struct sha256 h;
	uint64_t total = 0;
	const void *buf;
	size_t n;
	la_int64_t off;
	int k;

	sha256_init(&h);
	while ((k = archive_read_data_block(c->a, &buf, &n, &off)) == ARCHIVE_OK) {
		if ((uint64_t)off != total)
			return abur_fail(-EBADMSG, "%s: content with holes in the files payload", c->e->path);
		sha256_update(&h, buf, n);
		int r = io_write_all(fd, buf, n, c->e->path);
		if (r < 0)
			return r;
		total += n;
	}
	if (k != ARCHIVE_EOF)
		return abur_fail(-EBADMSG, "%s: %s", c->e->path, archive_error_string(c->a));
	sha256_final_hex(&h, hex);
	if (total != c->e->size || !streq(hex, c->e->sha))
		return abur_fail(-EBADMSG, "%s: the files payload does not hold the content the state names",
				 c->e->path);
	*c->bytes += total;
	return 0;
}

static int copy_from_first(int fd, struct content *c)
{
	const char *leaf;
	_cleanup_close_ int dfd = osmeta_parent(c->rootfd, c->first, &leaf);
	_cleanup_close_ int src = dfd < 0 ? -1 : openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	uint64_t left = c->e->size;

	if (dfd < 0)
		return dfd;
	if (src < 0)
		return abur_fail(-errno, "%s: %m", c->first);
	while (left > 0) {
		ssize_t n = copy_file_range(src, NULL, fd, NULL, left, 0);
		if (n <= 0)
			return abur_fail(n < 0 ? -errno : -EIO, "%s: copying from %s: %m", c->e->path, c->first);
		left -= (uint64_t)n;
	}
	*c->bytes += c->e->size;
	return 0;
}

static int make_file(int dfd, const char *tmp, void *arg)
{
	struct content *c = arg;
	_cleanup_close_ int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", c->e->path);
	return c->first ? copy_from_first(fd, c) : write_from_archive(fd, c);
}

/* An osupd_contents() callback: the content of e onto the disk. */
static int put_content(void *arg, struct archive *a, const struct osidx_ent *e, const struct osidx_ent *first)
{
	struct fsapply *fa = arg;
	struct content c = {a, e, first ? first->path : NULL, fa->rootfd, &fa->res->bytes};
	int r = osmeta_clear_for(fa->rootfd, e->path, OSIDX_FILE);

	if (r == 0)
		r = place(fa, e->path, make_file, &c);
	fa->res->files += r == 0;
	progress_tell(fa->ax->progress, "update", fa->res->bytes, fa->ax->total);
	return r;
}

static size_t depth(const char *path)
{
	size_t d = 1;

	if (streq(path, OSIDX_ROOT))
		return 0;
	for (; *path; path++)
		d += *path == '/';
	return d;
}

static int cmp_deeper(const void *a, const void *b)
{
	size_t x = depth((*(const struct osidx_ent *const *)a)->path),
	       y = depth((*(const struct osidx_ent *const *)b)->path);

	return x > y ? -1 : x < y;
}

/* Metadata: everything but directories in path order, then directories
 * deepest first (placing their children changed their mtimes), the root
 * last. */
static int metadata(struct fsapply *fa)
{
	_cleanup_free_ const struct osidx_ent **dirs = xcalloc(fa->st->n ? fa->st->n : 1, sizeof(*dirs));
	size_t nd = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < fa->st->n; i++) {
		const struct osidx_ent *e = &fa->st->e[i];
		if (e->op == OSIDX_DEL || e->type == OSIDX_HARDLINK)
			continue;
		if (e->type == OSIDX_DIR)
			dirs[nd++] = e;
		else
			r = osmeta_apply(fa->rootfd, fa->mnt, e);
	}
	if (nd)
		qsort(dirs, nd, sizeof(*dirs), cmp_deeper);
	for (size_t i = 0; r == 0 && i < nd; i++)
		r = osmeta_apply(fa->rootfd, fa->mnt, dirs[i]);
	return r;
}

/* Directories the state does not list hold the base's times, which is
 * what the captured system had; placing entries in them changes their
 * mtimes, so their times are taken before and set again at the end. */
struct kept_time {
	char *path;
	struct timespec ts[2];
};

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? strndup(path, (size_t)(slash - path)) : xstrdup(OSIDX_ROOT);
}

static void keep_parent_times(struct fsapply *fa, struct kept_time **v, size_t *n)
{
	for (size_t i = 0; i < fa->st->n; i++) {
		_cleanup_free_ char *dir = streq(fa->st->e[i].path, OSIDX_ROOT) ? NULL : parent_of(fa->st->e[i].path);
		struct stat st;
		bool have = false;
		if (!dir || osidx_find(fa->st, dir))
			continue;
		for (size_t k = *n; k-- > 0 && !have;)
			have = streq((*v)[k].path, dir);
		_cleanup_close_ int fd =
		    have ? -1 : io_open_beneath(fa->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (streq(dir, OSIDX_ROOT) && !have)
			fd = dup(fa->rootfd);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue; /* not there in the base: a new directory of the state makes it */
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = (struct kept_time){xstrdup(dir), {st.st_atim, st.st_mtim}};
	}
}

static int restore_times(struct fsapply *fa, struct kept_time *v, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int fd =
		    streq(v[i].path, OSIDX_ROOT)
			? dup(fa->rootfd)
			: io_open_beneath(fa->rootfd, v[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (r == 0 && (fd < 0 || futimens(fd, v[i].ts) < 0))
			r = fd < 0 ? abur_fail_wrap(fd, "%s", v[i].path) : abur_fail(-errno, "%s: %m", v[i].path);
		free(v[i].path);
	}
	free(v);
	return r;
}

static int apply_fs(struct fsapply *fa, const char *dev)
{
	struct rootfs rf = {.num = fa->part};
	int r = rootfs_mount(&rf, dev, BLK_RW);

	if (r == 0) {
		fa->mnt = rf.mnt;
		fa->rootfd = open(rf.mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fa->rootfd < 0)
			r = abur_fail(-errno, "%s: %m", rf.mnt);
	}
	struct kept_time *kept = NULL;
	size_t nkept = 0;
	if (r == 0)
		keep_parent_times(fa, &kept, &nkept);
	if (r == 0)
		r = deletions(fa);
	if (r == 0)
		r = structure(fa);
	if (r == 0)
		r = osupd_contents(fa->s, fa->gl, fa->st, fa->part, put_content, fa);
	if (r == 0)
		r = hardlinks(fa);
	if (r == 0)
		r = metadata(fa);
	r = abur_after(r, restore_times(fa, kept, nkept));
	if (r == 0 && syncfs(fa->rootfd) < 0)
		r = abur_fail(-errno, "syncing partition %u: %m", fa->part);
	if (fa->rootfd >= 0)
		close(fa->rootfd);
	r = abur_after(r, rootfs_release(&rf));
	return r < 0 ? abur_fail_wrap(r, "applying the update to partition %u", fa->part) : 0;
}

/* ---- raw areas ---- */

/* Through the partition's own device: its page cache (which a probe may
 * have filled) is what a later reader of the partition sees. */
static int write_part(struct osapply_ctx *ax, const struct osraw *area, const char *bytes)
{
	_cleanup_free_ char *node = NULL;
	_cleanup_close_ int fd = -1;
	int r = blk_part_node(ax->dev, area->part, &node);

	if (r < 0)
		return r;
	fd = io_open(node, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = io_write_all(fd, bytes, area->len, node);
	return r < 0 ? r : io_fsync(fd, node);
}

static int apply_raw(struct osapply_ctx *ax, const struct generation *upd, const struct osraw *area)
{
	_cleanup_free_ char *bytes = NULL;
	int r = osupd_raw(ax->s, ax->gl, upd, area, &bytes);

	if (r < 0 || !bytes)
		return r;                    /* !bytes: as sealed */
	if (streq(area->name, "bootcode")) { /* written last, by the reimage's arm_boot */
		if (ax->bootarea_len < area->len)
			return abur_fail(-EBADMSG, "the sealed boot area is shorter than the boot code");
		memcpy(ax->bootarea, bytes, area->len);
	} else if (area->part) {
		r = write_part(ax, area, bytes);
	} else {
		r = diskimg_write_at(ax->dst, area->off, bytes, area->len, area->name);
	}
	ax->res->raw += r == 0;
	return r;
}

static int raw_areas(struct osapply_ctx *ax, const struct generation *upd)
{
	size_t n;
	_cleanup_free_ struct osraw *v = osraw_list(ax->l, &n);
	int r;

	ax->dst->fd = io_open(ax->dev, O_WRONLY | O_CLOEXEC, 0);
	if (ax->dst->fd < 0)
		return ax->dst->fd;
	r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = apply_raw(ax, upd, &v[i]);
	if (r == 0)
		r = io_fsync(ax->dst->fd, ax->dev);
	closep(&ax->dst->fd);
	return r;
}

int osapply_run(struct osapply_ctx *ax, const struct generation *upd)
{
	struct osupd u;
	int r = osupd_load(ax->s, upd, &u);

	memset(ax->res, 0, sizeof(*ax->res));
	ax->total = 0;
	for (size_t i = 0; r == 0 && i < u.n; i++)
		ax->total += osupd_content_bytes(&u.state[i]);
	progress_tell(ax->progress, "update", 0, ax->total);
	for (size_t i = 0; r == 0 && i < u.n; i++) {
		struct fsapply fa = {.s = ax->s,
				     .gl = ax->gl,
				     .part = u.parts[i],
				     .st = &u.state[i],
				     .rootfd = -1,
				     .res = ax->res,
				     .ax = ax};
		r = apply_fs(&fa, ax->dev);
	}
	if (r == 0)
		r = raw_areas(ax, upd);
	osupd_free(&u);
	return r;
}
