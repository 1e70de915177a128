/* The os scanner: one mounted filesystem into an index.  Stat first; the
 * content is read only when the reference index cannot vouch for it. */
#include "osscan.h"

#include "core/mounts.h"
#include "store/store.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct inomap {
	uint64_t *ino;
	size_t *idx;
	size_t cap, n;
};

struct scan {
	const struct osscan_opts *o;
	struct osidx *out, *skipped;
	struct osscan_stats st;
	dev_t dev;
	struct osidx mounts; /* mount points below root, relative */
	struct inomap links;
	struct archive *disk;
};

/* ---- hard links: the first path seen of each inode ---- */

static size_t *ino_slot(struct inomap *m, uint64_t ino, bool *found)
{
	size_t i = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (m->cap - 1);

	while (m->ino[i] && m->ino[i] != ino)
		i = (i + 1) & (m->cap - 1);
	*found = m->ino[i] == ino;
	m->ino[i] = ino;
	return &m->idx[i];
}

static void ino_grow(struct inomap *m)
{
	struct inomap b = {xcalloc(m->cap ? m->cap * 2 : 256, sizeof(uint64_t)),
			   xcalloc(m->cap ? m->cap * 2 : 256, sizeof(size_t)), m->cap ? m->cap * 2 : 256, m->n};
	bool found;

	for (size_t i = 0; i < m->cap; i++)
		if (m->ino[i])
			*ino_slot(&b, m->ino[i], &found) = m->idx[i];
	free(m->ino);
	free(m->idx);
	*m = b;
}

/* Index of the entry already holding ino, or (size_t)-1 after recording idx. */
static size_t ino_first(struct inomap *m, uint64_t ino, size_t idx)
{
	bool found;
	size_t *slot;

	if ((m->n + 1) * 2 > m->cap)
		ino_grow(m);
	slot = ino_slot(m, ino ? ino : 1, &found);
	if (found)
		return *slot;
	*slot = idx;
	m->n++;
	return (size_t)-1;
}

/* ---- mount points below the root ---- */

static int load_mounts(struct scan *sc, const char *root)
{
	_cleanup_free_ char *real = realpath(root, NULL);
	struct mount_list ml;
	size_t n;
	int r;

	if (!real)
		return abur_fail(-errno, "%s: %m", root);
	n = streq(real, "/") ? 0 : strlen(real);
	r = mounts_read(&ml);
	for (size_t i = 0; r == 0 && i < ml.n; i++) {
		const char *mnt = ml.e[i].dir;
		if (strncmp(mnt, real, n) != 0 || mnt[n] != '/' || !mnt[n + 1])
			continue;
		bool dup = false; /* stacked mounts list a mount point twice */
		for (size_t k = 0; k < sc->mounts.n && !dup; k++)
			dup = streq(sc->mounts.e[k].path, mnt + n + 1);
		if (!dup)
			osidx_add(&sc->mounts, mnt + n + 1);
	}
	mounts_free(&ml);
	return r < 0 ? r : osidx_sort(&sc->mounts);
}

bool osscan_under(const struct osidx *set, const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);

	if (!set || !set->n)
		return false;
	for (char *s = p + strlen(p);; *s = '\0') {
		if (osidx_find(set, p))
			return true;
		s = strrchr(p, '/');
		if (!s)
			return false;
	}
}

/* ---- one entry ---- */

static void left_out(struct scan *sc, const char *rel)
{
	sc->st.skipped++;
	if (sc->skipped)
		osidx_add(sc->skipped, rel)->op = OSIDX_SAME;
}

static char *syspath(const struct scan *sc, const char *rel)
{
	const char *pre = sc->o->sysprefix ? sc->o->sysprefix : "/";

	return xasprintf("%s%s%s", pre, streq(pre, "/") || pre[strlen(pre) - 1] == '/' ? "" : "/", rel);
}

static bool leave_out(struct scan *sc, const char *rel, const struct stat *st)
{
	_cleanup_free_ char *sys = syspath(sc, rel);

	if (sc->o->skip && sc->o->skip(sc->o->skip_arg, sys))
		return true;
	if (S_ISDIR(st->st_mode) && (st->st_dev != sc->dev || osidx_find(&sc->mounts, rel)))
		return true; /* another filesystem mounted here */
	return !S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode);
}

/* The xattrs of ae into h, and (keep) as "HEXNAME=HEXVAL;" text. */
static bool xattrs_of(struct archive_entry *ae, struct sha256 *h, bool keep, char **text)
{
	size_t tlen = 0, size;
	FILE *tf = keep ? open_memstream(text, &tlen) : NULL;
	const char *name;
	const void *val;
	bool any = false;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &name, &val, &size) == ARCHIVE_OK) {
		sha256_update(h, name, strlen(name) + 1);
		sha256_update(h, val, size);
		for (size_t i = 0; tf && name[i]; i++)
			fprintf(tf, "%02x", (unsigned char)name[i]);
		if (tf)
			fputc('=', tf);
		for (size_t i = 0; tf && i < size; i++)
			fprintf(tf, "%02x", ((const unsigned char *)val)[i]);
		if (tf)
			fputc(';', tf);
		any = true;
	}
	if (tf)
		fclose(tf);
	return any;
}

/* e's meta digest (and, keep_meta_text, its texts) from what libarchive read. */
static void meta_of(struct scan *sc, struct osidx_ent *e, struct archive_entry *ae)
{
	_cleanup_free_ char *text = NULL;
	struct sha256 h;
	char *acl;
	bool any;

	sha256_init(&h);
	any = xattrs_of(ae, &h, sc->o->keep_meta_text, &text);
	/* Only extended ACLs: the three entries a mode implies are the mode. */
	acl = archive_entry_acl_count(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) > 0
		  ? archive_entry_acl_to_text(ae, NULL, ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT)
		  : NULL;
	if (acl && *acl) {
		sha256_update(&h, "\0acl", 4);
		sha256_update(&h, acl, strlen(acl) + 1);
		any = true;
		if (sc->o->keep_meta_text)
			e->acl = xstrdup(acl);
	}
	free(acl);
	if (any)
		sha256_final_hex(&h, e->meta);
	if (any && text && *text)
		e->xattrs = xstrdup(text);
}

/* xattrs (security.capability among them) and ACLs, as libarchive reads
 * them for an archive, so a capture and its payload agree. */
static int read_meta(struct scan *sc, struct osidx_ent *e, const char *abs, int fd, const struct stat *st)
{
	struct archive_entry *ae = archive_entry_new();
	int r = 0;

	archive_entry_copy_sourcepath(ae, abs);
	if (archive_read_disk_entry_from_file(sc->disk, ae, fd, st) < ARCHIVE_WARN)
		r = abur_fail(archive_r(sc->disk), "%s: %s", abs, archive_error_string(sc->disk));
	else
		meta_of(sc, e, ae);
	archive_entry_free(ae);
	return r;
}

static int read_content(struct scan *sc, int dfd, const char *name, const char *abs, struct osidx_ent *e,
			const struct stat *st)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (e->type == OSIDX_SYMLINK) {
		char target[4097];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return abur_fail(-errno, "%s: %m", abs);
		target[n] = '\0';
		e->target = xstrdup(target);
		sha256_hex(target, (size_t)n, e->sha);
		return read_meta(sc, e, abs, -1, st);
	}
	if (e->type == OSIDX_FILE) {
		fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME | O_NONBLOCK);
		if (fd < 0 && errno == EPERM)
			fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			return errno == ENOENT ? abur_fail(-EAGAIN, "%s vanished while being read", abs)
					       : abur_fail(-errno, "%s: %m", abs);
		bool steady;
		r = osidx_hash_file(fd, abs, st, e->sha, &sc->st.hashed_bytes, &steady);
		if (r < 0)
			return r;
		if (!steady)
			return abur_fail(-EAGAIN, "%s changed while being read", abs);
		sc->st.hashed++;
		progress_tell(sc->o->progress, sc->o->stage, sc->o->progress_base + sc->st.hashed_bytes, 0);
	}
	return read_meta(sc, e, abs, fd, st);
}

/* Hashes from the reference when its stat vouches for them. */
static bool take_ref(struct scan *sc, struct osidx_ent *e)
{
	const struct osidx_ent *ref = sc->o->ref ? osidx_find(sc->o->ref, e->path) : NULL, *src = ref;

	if (ref && ref->type == OSIDX_HARDLINK) /* its hashes are its first path's */
		src = osidx_find(sc->o->ref, ref->target);
	if (!ref || !src || ref->racy || !osidx_same_stat(ref, e))
		return false;
	memcpy(e->sha, src->sha, sizeof(e->sha));
	memcpy(e->meta, src->meta, sizeof(e->meta));
	if (src->type == OSIDX_SYMLINK && src->target)
		e->target = xstrdup(src->target);
	if (sc->o->keep_meta_text) {
		e->xattrs = src->xattrs ? xstrdup(src->xattrs) : NULL;
		e->acl = src->acl ? xstrdup(src->acl) : NULL;
	}
	return true;
}

static int walk_dir(struct scan *sc, int dfd, const char *rel);

static int visit(struct scan *sc, int dfd, const char *name, const char *rel)
{
	_cleanup_free_ char *abs = xasprintf("%s/%s", sc->o->root, rel);
	struct osidx_ent *e;
	struct stat st;
	int r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", abs); /* vanished: not there now */
	if (strlen(rel) > OSIDX_MAX_PATH)
		return abur_fail(-ENAMETOOLONG, "%s: path longer than %d bytes", abs, OSIDX_MAX_PATH);
	if (leave_out(sc, rel, &st)) {
		left_out(sc, rel);
		return 0;
	}
	e = osidx_add(sc->out, rel);
	osidx_set_stat(e, &st, osidx_now_ns(), sc->o->racy_ns ? sc->o->racy_ns : OSIDX_RACY_NS);
	sc->st.entries++;
	size_t me = sc->out->n - 1;
	if (e->type == OSIDX_FILE && e->nlink > 1) {
		size_t first = ino_first(&sc->links, e->ino, me);
		if (first != (size_t)-1) {
			/* Same inode: the hashes of its first path. */
			memcpy(e->sha, sc->out->e[first].sha, sizeof(e->sha));
			memcpy(e->meta, sc->out->e[first].meta, sizeof(e->meta));
			return 0;
		}
	}
	if (!take_ref(sc, e))
		r = read_content(sc, dfd, name, abs, &sc->out->e[me], &st);
	if (r == 0 && S_ISDIR(st.st_mode)) {
		_cleanup_close_ int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", abs);
		r = walk_dir(sc, sub, rel);
	}
	return r;
}

static int walk_dir(struct scan *sc, int dfd, const char *rel)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return abur_fail(-errno, "%s/%s: %m", sc->o->root, rel);
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		r = visit(sc, dfd, de->d_name, child);
	}
	if (r == 0 && errno)
		r = abur_fail(-errno, "%s/%s: %m", sc->o->root, rel);
	closedir(d);
	return r;
}

/* The root directory itself ("."): its mode, owner, times and xattrs. */
static int visit_root(struct scan *sc, int fd, const struct stat *st)
{
	struct osidx_ent *e = osidx_add(sc->out, OSIDX_ROOT);

	osidx_set_stat(e, st, osidx_now_ns(), sc->o->racy_ns ? sc->o->racy_ns : OSIDX_RACY_NS);
	sc->st.entries++;
	return take_ref(sc, e) ? 0 : read_meta(sc, e, sc->o->root, fd, st);
}

/* After sorting: every later path of a multiply linked inode becomes a
 * hard link to the first (in path order, so the result is repeatable). */
static void mark_links(struct osidx *x)
{
	struct inomap m = {0};

	for (size_t i = 0; i < x->n; i++) {
		struct osidx_ent *e = &x->e[i];
		if (e->type != OSIDX_FILE || e->nlink < 2)
			continue;
		size_t first = ino_first(&m, e->ino, i);
		if (first == (size_t)-1)
			continue;
		e->type = OSIDX_HARDLINK;
		e->target = xstrdup(x->e[first].path);
		e->sha[0] = e->meta[0] = '\0';
		free(e->xattrs);
		free(e->acl);
		e->xattrs = e->acl = NULL;
	}
	free(m.ino);
	free(m.idx);
}

int osscan_run(const struct osscan_opts *o, struct osidx *out, struct osidx *skipped, struct osscan_stats *st)
{
	struct scan sc = {.o = o, .out = out, .skipped = skipped};
	_cleanup_close_ int root = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat rs;
	int r;

	memset(out, 0, sizeof(*out));
	out->kind = OSIDX_BASE;
	if (root < 0 || fstat(root, &rs) < 0)
		return abur_fail(-errno, "%s: %m", o->root);
	sc.dev = rs.st_dev;
	r = load_mounts(&sc, o->root);
	sc.disk = archive_read_disk_new();
	if (r == 0)
		r = visit_root(&sc, root, &rs);
	if (r == 0)
		r = walk_dir(&sc, root, "");
	archive_read_free(sc.disk);
	osidx_free(&sc.mounts);
	free(sc.links.ino);
	free(sc.links.idx);
	if (r == 0)
		r = osidx_sort(out);
	if (r == 0 && skipped)
		r = osidx_sort(skipped);
	if (r == 0)
		mark_links(out);
	if (r < 0)
		osidx_free(out);
	if (st)
		*st = sc.st;
	return r;
}
