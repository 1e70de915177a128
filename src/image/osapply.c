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
};

static const struct generation *gen_of(const struct gen_list *gl, uint64_t seq)
{
	for (size_t i = 0; i < gl->n; i++)
		if (gl->g[i].seq == seq && gl->g[i].valid)
			return &gl->g[i];
	return NULL;
}

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

/* Entries of the state whose content is in generation seq, by name. */
struct wanted {
	const struct osidx_ent **e;
	size_t n;
};

static int cmp_wanted(const void *a, const void *b)
{
	const struct osidx_ent *x = *(const struct osidx_ent *const *)a, *y = *(const struct osidx_ent *const *)b;
	int c = strcmp(x->ref_name, y->ref_name);

	return c ? c : strcmp(x->path, y->path);
}

static void wanted_from(const struct osidx *st, uint64_t seq, struct wanted *w)
{
	w->e = xcalloc(st->n ? st->n : 1, sizeof(*w->e));
	w->n = 0;
	for (size_t i = 0; i < st->n; i++)
		if (st->e[i].op == OSIDX_ADD && st->e[i].type == OSIDX_FILE && st->e[i].ref == seq)
			w->e[w->n++] = &st->e[i];
	if (w->n)
		qsort(w->e, w->n, sizeof(*w->e), cmp_wanted);
}

/* Index of the first wanted entry named name, or w->n. */
static size_t wanted_find(const struct wanted *w, const char *name)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(w->e[mid]->ref_name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->n && streq(w->e[lo]->ref_name, name) ? lo : w->n;
}

static int take_content(struct fsapply *fa, struct archive *a, const char *name, const struct wanted *w, bool *done)
{
	char prefix[16];
	size_t k;
	int r = 0;

	snprintf(prefix, sizeof(prefix), "p%u/", fa->part);
	if (!startswith(name, prefix) || (k = wanted_find(w, name + strlen(prefix))) == w->n)
		return archive_read_data_skip(a) == ARCHIVE_OK ? 0 : abur_fail(-EBADMSG, "%s", archive_error_string(a));
	for (size_t i = k; r == 0 && i < w->n && streq(w->e[i]->ref_name, w->e[k]->ref_name); i++) {
		struct content c = {a, w->e[i], i == k ? NULL : w->e[k]->path, fa->rootfd, &fa->res->bytes};
		if (done[i])
			return abur_fail(-EBADMSG, "%s twice in the files payload", name);
		r = osmeta_clear_for(fa->rootfd, c.e->path, OSIDX_FILE);
		if (r == 0)
			r = place(fa, c.e->path, make_file, &c);
		done[i] = r == 0;
		fa->res->files += r == 0;
	}
	return r;
}

static int content_of(struct fsapply *fa, uint64_t seq)
{
	const struct generation *g = gen_of(fa->gl, seq);
	struct wanted w;
	struct archive *a = NULL;
	struct archive_entry *ae;
	int k = ARCHIVE_OK, r;

	if (!g)
		return abur_fail(-ENOENT, "os update needs g%06llu, which the store does not hold",
				 (unsigned long long)seq);
	wanted_from(fa->st, seq, &w);
	_cleanup_free_ bool *done = xcalloc(w.n ? w.n : 1, sizeof(bool));
	r = payload_read_open(fa->s, g, OSUPD_FILES, &a);
	while (r == 0 && (k = archive_read_next_header(a, &ae)) == ARCHIVE_OK)
		r = take_content(fa, a, archive_entry_pathname(ae), &w, done);
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)seq, archive_error_string(a));
	for (size_t i = 0; r == 0 && i < w.n; i++)
		if (!done[i])
			r = abur_fail(-EBADMSG, "g%06llu holds no content for %s", (unsigned long long)seq,
				      w.e[i]->path);
	if (a && r < 0)
		payload_read_discard(a);
	else if (a)
		r = payload_read_close(a);
	free(w.e);
	return r;
}

static int contents(struct fsapply *fa)
{
	size_t n;
	_cleanup_free_ uint64_t *refs = osdiff_refs(fa->st, &n);
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = content_of(fa, refs[i]);
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

static int apply_fs(struct fsapply *fa, const char *dev)
{
	struct rootfs rf = {.num = fa->part};
	int r = rootfs_mount(&rf, dev, true);

	if (r == 0) {
		fa->mnt = rf.mnt;
		fa->rootfd = open(rf.mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fa->rootfd < 0)
			r = abur_fail(-errno, "%s: %m", rf.mnt);
	}
	if (r == 0)
		r = deletions(fa);
	if (r == 0)
		r = structure(fa);
	if (r == 0)
		r = contents(fa);
	if (r == 0)
		r = hardlinks(fa);
	if (r == 0)
		r = metadata(fa);
	if (r == 0 && syncfs(fa->rootfd) < 0)
		r = abur_fail(-errno, "syncing partition %u: %m", fa->part);
	if (fa->rootfd >= 0)
		close(fa->rootfd);
	int ru = rootfs_release(&rf);
	if (r == 0 && ru < 0)
		r = ru;
	return r < 0 ? abur_fail_wrap(r, "applying the update to partition %u", fa->part) : 0;
}

/* ---- raw areas ---- */

static int raw_bytes(struct store *s, const struct generation *g, const struct osraw *area, char **out)
{
	_cleanup_free_ char *name = xasprintf("%s.bin", area->name);
	struct archive *a;
	struct archive_entry *ae;
	size_t len = 0;
	int k, r = payload_read_open(s, g, OSUPD_RAW, &a);

	*out = NULL;
	while (r == 0 && (k = archive_read_next_header(a, &ae)) == ARCHIVE_OK && !*out) {
		if (streq(archive_entry_pathname(ae), name))
			r = diskimg_read_small(a, name, area->len + 1, out, &len);
	}
	if (r == 0 && (!*out || len != area->len))
		r = abur_fail(-EBADMSG, "g%06llu: %s missing or of the wrong size", (unsigned long long)g->seq, name);
	payload_read_discard(a); /* the area was checked by its hash below */
	if (r == 0) {
		char sha[SHA256_HEX_LEN];
		_cleanup_free_ char *key = xasprintf("raw_%s", area->name);
		const char *want = manifest_extra(&g->m, key);
		sha256_hex(*out, len, sha);
		if (!want || !streq(want, sha))
			r = abur_fail(-EBADMSG, "g%06llu: %s does not match its hash", (unsigned long long)g->seq,
				      name);
	}
	if (r < 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

/* Through the partition's own device: its page cache (which a probe may
 * have filled) is what a later reader of the partition sees. */
static int write_part(struct osapply_ctx *ax, const struct osraw *area, const char *bytes)
{
	_cleanup_free_ char *node = NULL;
	_cleanup_close_ int fd = -1;
	int r = part_node(ax->dev, area->part, &node);

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
	_cleanup_free_ char *key = xasprintf("rawsrc_%s", area->name), *bytes = NULL;
	const char *src = manifest_extra(&upd->m, key);
	const struct generation *g = upd;
	int r;

	if (!src)
		return 0; /* as sealed */
	if (!streq(src, ".")) {
		g = gen_of(ax->gl, strtoull(src, NULL, 10));
		if (!g)
			return abur_fail(-ENOENT, "raw area %s is in g%s, which the store does not hold", area->name,
					 src);
	}
	r = raw_bytes(ax->s, g, area, &bytes);
	if (r < 0)
		return r;
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
	for (size_t i = 0; r == 0 && i < u.n; i++) {
		struct fsapply fa = {
		    .s = ax->s, .gl = ax->gl, .part = u.parts[i], .st = &u.state[i], .rootfd = -1, .res = ax->res};
		r = apply_fs(&fa, ax->dev);
	}
	if (r == 0)
		r = raw_areas(ax, upd);
	osupd_free(&u);
	return r;
}
