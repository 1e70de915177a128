/* File-level components: content digest, backup into data.tar.zst, and a
 * restore that checks the whole archive before it writes anything. */
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/io.h"
#include "core/osidx.h"
#include "store_int.h"
#include "tops.h"

#define DATA_PAYLOAD "data.tar.zst"
/* Starts every tree digest (with its NUL): a version for the scheme.
 * tree-2: a file's content enters as its SHA-256 (hex), not as its bytes,
 * so a stat cache can vouch for it (tree-1 took the bytes). */
#define TREE_DIGEST_TAG "abur-tree-2"
/* <state_dir>/TREE_CACHE_DIR/<component>.idx: the last digest pass's stat
 * and content hash of every file, an os index (core/osidx.h). */
#define TREE_CACHE_DIR "tree-cache"
#define TREE_CACHE_MAX (256u << 20)

/* ---- walking a component's paths under a root ---- */

/* What one backup learns across its passes (digest, archive). */
struct scan {
	const struct abur_component *c;
	const char *root;
	const struct restore_limits *lim; /* checked in the first pass; NULL: none */
	struct top *tops;                 /* the first pass's, for the manifest */
	uint64_t *fp;                     /* per entry, first pass: metadata fingerprints */
	size_t nfp;
	uint64_t entries, bytes;
	uint64_t nskipped;
	char **skipped;        /* the first BACKUP_SKIPPED_MAX */
	char *changed;         /* a file seen changing between or during the passes */
	const char *state_dir; /* the stat cache's home; NULL: no cache */
	struct osidx cache;    /* loaded for the digest pass (empty: none) */
	struct osidx seen;     /* what the digest pass learned: the next cache */
	uint64_t reused;       /* files whose hash the cache gave */
	const struct progress_hook *progress;
	uint64_t scanned;  /* digest pass: bytes read (those the cache vouched for are not) */
	uint64_t archived; /* archive pass: bytes of content archived, of bytes */
};

struct walk;
typedef int (*visit_fn)(struct walk *w, struct archive_entry *e, int fd);

struct walk {
	struct scan *scan;
	bool first;           /* the digest pass: records; later passes compare */
	struct archive *disk; /* archive_read_disk: xattrs, ACLs, names */
	struct archive_entry_linkresolver *links;
	visit_fn visit;
	void *arg;
	uint64_t files;
	struct sha256 *sha;
	const struct top *top; /* the configured path being walked */
	/* the entry being visited */
	const char *rel;
	const struct stat *st;
	int64_t seen_ns;    /* taken just before st, for the racy rule */
	const char *cached; /* its content hash, vouched for by the cache; NULL: read it */
};

static uint64_t fingerprint(const char *rel, const struct stat *st)
{
	uint64_t v[] = {st->st_ino,
			st->st_mode,
			(uint64_t)st->st_size,
			(uint64_t)st->st_mtim.tv_sec,
			(uint64_t)st->st_mtim.tv_nsec,
			(uint64_t)st->st_ctim.tv_sec,
			(uint64_t)st->st_ctim.tv_nsec};
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *b = (const unsigned char *)v;

	for (const char *c = rel; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	for (size_t i = 0; i < sizeof(v); i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* The first pass records each entry's fingerprint; a later one names the
 * first entry that differs, should the digests then disagree. */
static void note_fingerprint(struct walk *w, const char *abs, const char *rel, const struct stat *st)
{
	struct scan *sc = w->scan;
	uint64_t h = fingerprint(rel, st);

	if (w->first) {
		if ((sc->nfp & (sc->nfp + 1)) == 0 || !sc->fp)
			sc->fp = xrealloc(sc->fp, (sc->nfp * 2 + 2) * sizeof(*sc->fp));
		sc->fp[sc->nfp++] = h;
	} else if (!sc->changed && (w->files >= sc->nfp || sc->fp[w->files] != h)) {
		sc->changed = xstrdup(abs);
	}
}

/* The restore's limits, counted the way it counts: every entry, and the
 * apparent size of each regular file's data (a sparse file of 200 MiB
 * counts 200 MiB: that is what a restore writes). */
static int check_limits(struct walk *w, struct archive_entry *e, const char *abs)
{
	struct scan *sc = w->scan;
	const struct restore_limits *lim = sc->lim;
	char b[32];

	if (!w->first)
		return 0;
	if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
		sc->bytes += (uint64_t)archive_entry_size(e); /* also the archive pass's progress total */
	if (!lim)
		return 0;
	if (++sc->entries > lim->max_entries)
		return abur_fail(-EFBIG,
				 "component '%s': %s: more than %llu entries ([restore] max_entries): a restore would "
				 "refuse this backup; nothing written",
				 sc->c->name, abs, (unsigned long long)lim->max_entries);
	if (sc->bytes > lim->max_total_size)
		return abur_fail(-EFBIG,
				 "component '%s': %s: contents exceed %llu bytes, %s ([restore] max_total_size): a "
				 "restore would refuse this backup; nothing written",
				 sc->c->name, abs, (unsigned long long)lim->max_total_size,
				 fmt_bytes(lim->max_total_size, b, sizeof(b)));
	return 0;
}

/* "scan software", "backup software": the stage of what a pass read. */
static void tell(const struct scan *sc, const char *pass, uint64_t done, uint64_t total)
{
	char stage[64];

	if (!sc->progress || !sc->progress->fn)
		return;
	snprintf(stage, sizeof(stage), "%s %s", pass, sc->c->name);
	progress_tell(sc->progress, stage, done, total);
}

/* ---- the stat cache (an optimisation only: any damage costs a full read) ---- */

static char *cache_path(const struct scan *sc)
{
	return xasprintf("%s/%s/%s.idx", sc->state_dir, TREE_CACHE_DIR, sc->c->name);
}

static void cache_load(struct scan *sc)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t len;

	if (!sc->state_dir)
		return;
	path = cache_path(sc);
	if (read_file(path, TREE_CACHE_MAX, &text, &len) < 0 || osidx_parse(text, len, &sc->cache) < 0 ||
	    sc->cache.kind != OSIDX_BASE)
		osidx_free(&sc->cache);
}

/* Written only when it would say something new: an unchanged tree costs
 * the system disk no write either. */
static void cache_save(struct scan *sc)
{
	_cleanup_free_ char *path = NULL, *dir = NULL, *text = NULL;
	size_t len;

	if (!sc->state_dir || (sc->reused == sc->seen.n && sc->seen.n == sc->cache.n))
		return;
	sc->seen.kind = OSIDX_BASE;
	if (osidx_sort(&sc->seen) < 0)
		return;
	path = cache_path(sc);
	dir = xasprintf("%s/%s", sc->state_dir, TREE_CACHE_DIR);
	text = osidx_format(&sc->seen, &len);
	if (mkdir_p(dir, 0700) == 0) /* else the next pass reads more content, nothing worse */
		abur_ignore(io_write_file_atomic(path, text, len, 0600));
}

/* The content hash the cache holds for a regular file whose stat (type,
 * mode, owner, size, times, inode, link count) is the one it recorded,
 * when that record was not racy; else NULL: read the file. */
static const char *cache_vouches(const struct scan *sc, const char *rel, const struct stat *st)
{
	const struct osidx_ent *c = S_ISREG(st->st_mode) && sc->cache.n ? osidx_find(&sc->cache, rel) : NULL;
	struct osidx_ent now = {0};

	if (!c || c->racy || c->type != OSIDX_FILE || !c->sha[0])
		return NULL;
	osidx_set_stat(&now, st, 0, 0); /* its racy flag is not looked at */
	return osidx_same_stat(c, &now) ? c->sha : NULL;
}

static void cache_note(struct walk *w, const char *sha)
{
	struct osidx_ent *e;

	if (!w->scan->state_dir || strlen(w->rel) > OSIDX_MAX_PATH)
		return;
	e = osidx_add(&w->scan->seen, w->rel);
	osidx_set_stat(e, w->st, w->seen_ns, OSIDX_RACY_NS);
	memcpy(e->sha, sha, SHA256_HEX_LEN);
}

static int visit_one(struct walk *w, const char *abs, const char *rel, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new(), *spare = NULL;
	_cleanup_close_ int fd = -1;
	int r = 0;

	w->rel = rel;
	w->st = st;
	w->cached = w->first ? cache_vouches(w->scan, rel, st) : NULL;
	if (S_ISREG(st->st_mode) && !w->cached) {
		fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
		if (fd < 0 && errno == EPERM)
			fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			archive_entry_free(e);
			return abur_fail(-errno, "%s: %m", abs);
		}
	}
	archive_entry_copy_sourcepath(e, abs);
	if (archive_read_disk_entry_from_file(w->disk, e, fd, st) != ARCHIVE_OK) {
		r = abur_fail(archive_r(w->disk), "%s: %s", abs, archive_error_string(w->disk));
		archive_entry_free(e);
		return r;
	}
	archive_entry_copy_pathname(e, rel);
	archive_entry_linkify(w->links, &e, &spare);
	note_fingerprint(w, abs, rel, st);
	if (e)
		r = check_limits(w, e, abs);
	if (e && r == 0)
		r = w->visit(w, e, archive_entry_size(e) > 0 ? fd : -1);
	w->files++;
	archive_entry_free(e);
	archive_entry_free(spare);
	return r;
}

static const char *special_name(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : "a block device";
}

/* FIFOs and device nodes: a restore refuses them, so they are left out,
 * and the caller is told (the first pass counts them). Sockets are left
 * out silently: the daemons that own them recreate them. */
static void skip_special(struct walk *w, const char *abs, mode_t m)
{
	struct scan *sc = w->scan;

	if (!w->first || S_ISSOCK(m))
		return;
	if (sc->nskipped < BACKUP_SKIPPED_MAX) {
		sc->skipped = xrealloc(sc->skipped, (sc->nskipped + 1) * sizeof(char *));
		sc->skipped[sc->nskipped] = xasprintf("%s (%s)", abs, special_name(m));
	}
	sc->nskipped++;
}

static int walk_path(struct walk *w, const char *rel);

static int walk_dir(struct walk *w, const char *abs, const char *rel)
{
	struct dirent **list;
	int n = scandir(abs, &list, NULL, alphasort), r = 0;

	if (n < 0)
		return abur_fail(-errno, "%s: %m", abs);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (r == 0 && !streq(name, ".") && !streq(name, "..")) {
			_cleanup_free_ char *child = xasprintf("%s/%s", rel, name);
			r = walk_path(w, child);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

/* rel: the archive name (the configured path's namespace, no leading
 * slash); read from the top's source plus what follows its name. */
static int walk_path(struct walk *w, const char *rel)
{
	_cleanup_free_ char *sys = xasprintf("/%s", rel);
	_cleanup_free_ char *abs = xasprintf("%s%s", w->top->src, rel + strlen(w->top->conf) - 1);
	struct stat st;
	int r;

	if (component_excludes(w->scan->c, sys))
		return 0;
	w->seen_ns = osidx_now_ns();
	if (lstat(abs, &st) < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", abs); /* vanished meanwhile */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
		skip_special(w, abs, st.st_mode);
		return 0;
	}
	r = visit_one(w, abs, rel, &st);
	if (r == 0 && S_ISDIR(st.st_mode))
		r = walk_dir(w, abs, rel);
	return r;
}

/* A followed link is content too: where it points is part of the digest. */
static void digest_top(struct sha256 *sha, const struct top *t)
{
	if (!sha)
		return;
	if (t->absent) /* an absent path is content too: its appearance is a change */
		sha256_update(sha, t->conf, strlen(t->conf) + 1);
	if (t->link) {
		sha256_update(sha, "link", 5);
		sha256_update(sha, t->conf, strlen(t->conf) + 1);
		sha256_update(sha, t->link, strlen(t->link) + 1);
		sha256_update(sha, t->content, strlen(t->content) + 1);
	}
}

static int walk(struct scan *sc, bool first, visit_fn visit, void *arg, struct sha256 *sha, uint64_t *files)
{
	struct walk w = {.scan = sc, .first = first, .visit = visit, .arg = arg, .sha = sha};
	struct top *tops = NULL;
	unsigned found = 0;
	int r = find_tops(sc->c, sc->root, &tops);

	if (r < 0)
		return r;
	w.disk = archive_read_disk_new();
	w.links = archive_entry_linkresolver_new();
	archive_read_disk_set_standard_lookup(w.disk);
	/* The digest takes neither sparse maps nor file flags: without them
	 * libarchive does not open a file the cache vouches for. */
	if (first)
		archive_read_disk_set_behavior(w.disk, ARCHIVE_READDISK_NO_SPARSE | ARCHIVE_READDISK_NO_FFLAGS);
	archive_entry_linkresolver_set_strategy(w.links, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	for (size_t i = 0; r == 0 && i < sc->c->npaths; i++) {
		w.top = &tops[i];
		digest_top(sha, w.top);
		if (tops[i].absent || tops[i].nested)
			continue;
		found++;
		r = walk_path(&w, tops[i].conf + 1);
	}
	archive_entry_linkresolver_free(w.links);
	archive_read_free(w.disk);
	if (r == 0 && !found)
		r = abur_fail(-ENOENT, "component '%s': none of its paths exist under %s", sc->c->name, sc->root);
	if (r == 0 && !first && w.files != sc->nfp && !sc->changed)
		sc->changed = xasprintf("%s (entries came or went)", sc->c->paths[0]);
	if (files)
		*files = w.files;
	if (first && r == 0 && !sc->tops)
		sc->tops = tops;
	else
		tops_free(tops, sc->c->npaths);
	return r;
}

static void scan_free(struct scan *sc)
{
	if (sc->tops)
		tops_free(sc->tops, sc->c->npaths);
	free(sc->fp);
	for (size_t i = 0; i < sc->nskipped && i < BACKUP_SKIPPED_MAX; i++)
		free(sc->skipped[i]);
	free(sc->skipped);
	free(sc->changed); /* the stat cache is one digest pass's: digest_pass frees it */
}

/* ---- digest ---- */

/* A regular file with data of its own (not a hard link to an earlier
 * entry): its content enters the digest as its hash, in both passes. */
static bool has_content(struct archive_entry *e)
{
	return archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) && archive_entry_size(e) > 0;
}

/* Everything but the contents; both passes (digest, archive) use it. */
static void digest_meta(struct sha256 *sha, struct archive_entry *e)
{
	const char *name, *hl = archive_entry_hardlink(e), *sl = archive_entry_symlink(e);
	const void *val;
	size_t size;
	char *acl;
	char line[512];

	snprintf(line, sizeof(line), "%o %lld %lld %lld\n", (unsigned)archive_entry_mode(e),
		 (long long)archive_entry_uid(e), (long long)archive_entry_gid(e), (long long)archive_entry_size(e));
	sha256_update(sha, archive_entry_pathname(e), strlen(archive_entry_pathname(e)) + 1);
	sha256_update(sha, line, strlen(line));
	if (hl)
		sha256_update(sha, hl, strlen(hl) + 1);
	if (sl)
		sha256_update(sha, sl, strlen(sl) + 1);
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		sha256_update(sha, name, strlen(name) + 1);
		sha256_update(sha, val, size);
	}
	acl = archive_entry_acl_to_text(e, NULL, ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT);
	if (acl)
		sha256_update(sha, acl, strlen(acl) + 1);
	free(acl);
}

static int digest_visit(struct walk *w, struct archive_entry *e, int fd)
{
	char hex[SHA256_HEX_LEN];
	bool steady = true;
	int r = 0;

	digest_meta(w->sha, e);
	if (!has_content(e))
		return 0;
	if (w->cached) {
		memcpy(hex, w->cached, sizeof(hex));
		w->scan->reused++;
	} else if (fd < 0) {
		return abur_fail(-EIO, "%s: not opened", archive_entry_sourcepath(e));
	} else {
		/* not steady: not cached (the archive pass decides whether it matters) */
		r = osidx_hash_file(fd, archive_entry_sourcepath(e), w->st, hex, NULL, &steady);
		w->scan->scanned += (uint64_t)archive_entry_size(e);
		tell(w->scan, "scan", w->scan->scanned, 0); /* the total is what this walk finds */
	}
	if (r < 0)
		return r;
	sha256_update(w->sha, hex, SHA256_HEX_LEN - 1);
	if (steady)
		cache_note(w, hex);
	return 0;
}

static int digest_pass(struct scan *sc, char digest[SHA256_HEX_LEN])
{
	struct sha256 sha;
	int r;

	sc->reused = 0;
	cache_load(sc);
	sha256_init(&sha);
	sha256_update(&sha, TREE_DIGEST_TAG, sizeof(TREE_DIGEST_TAG));
	r = walk(sc, true, digest_visit, NULL, &sha, NULL);
	if (r == 0) {
		sha256_final_hex(&sha, digest);
		cache_save(sc);
	}
	osidx_free(&sc->cache);
	osidx_free(&sc->seen);
	return r;
}

int backup_digest(const struct abur_component *c, const char *root, const char *state_dir, char digest[SHA256_HEX_LEN])
{
	struct scan sc = {.c = c, .root = root, .state_dir = state_dir};
	int r = digest_pass(&sc, digest);

	scan_free(&sc);
	return r;
}

/* ---- backup ---- */

/* Copies exactly the size in the header, hashing as it goes, then checks
 * the file did not change meanwhile: a file being rewritten is retried
 * rather than stored cut short or padded. */
static int copy_data(struct walk *w, struct archive *a, int fd, struct archive_entry *e, int64_t size)
{
	const char *path = archive_entry_sourcepath(e);
	int64_t left = size;
	char buf[64 * 1024], hex[SHA256_HEX_LEN];
	struct sha256 h;
	struct stat st;

	sha256_init(&h);
	while (left > 0) {
		ssize_t n = read(fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0)
			return abur_fail(-errno, "read %s: %m", path);
		if (n == 0)
			break;
		sha256_update(&h, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return abur_fail(archive_r(a), "archive %s: %s", path, archive_error_string(a));
		left -= n;
		w->scan->archived += (uint64_t)n;
		tell(w->scan, "backup", w->scan->archived, w->scan->bytes);
	}
	if (fstat(fd, &st) < 0)
		return abur_fail(-errno, "%s: %m", path);
	if (left > 0 || st.st_size != size || st.st_mtime != archive_entry_mtime(e) ||
	    st.st_mtim.tv_nsec != archive_entry_mtime_nsec(e)) {
		if (!w->scan->changed)
			w->scan->changed = xstrdup(path);
		return abur_fail(-EAGAIN, "%s changed while being backed up", path);
	}
	sha256_final_hex(&h, hex);
	sha256_update(w->sha, hex, SHA256_HEX_LEN - 1);
	return 0;
}

static int archive_visit(struct walk *w, struct archive_entry *e, int fd)
{
	struct archive *a = w->arg;

	/* ARCHIVE_WARN: written, but a name could not be converted to UTF-8
	 * (any non-ASCII name in the C locale abur runs in); the pax writer
	 * then stores the name's bytes as they are (hdrcharset=BINARY),
	 * which is what a restore needs. */
	int64_t size = archive_entry_size(e);
	bool content = has_content(e) && fd >= 0;

	/* Before the header: the pax writer normalises the entry in place
	 * (a '/' after directory names, size 0 for directories and links). */
	digest_meta(w->sha, e);
	if (archive_write_header(a, e) < ARCHIVE_WARN)
		return abur_fail(archive_r(a), "archive %s: %s", archive_entry_pathname(e), archive_error_string(a));
	return content ? copy_data(w, a, fd, e, size) : 0;
}

struct tree_fill {
	struct scan *scan;
	const char *digest; /* what the manifest will say */
	uint64_t files;
};

/* Archives the tree and re-derives its digest from exactly what was
 * archived: if the tree changed since the digest pass, the commit is
 * abandoned (-EAGAIN) so a manifest never describes other content. */
static int fill_tree(struct archive *a, void *arg)
{
	struct tree_fill *f = arg;
	const struct restore_limits *lim = f->scan->lim;
	char hex[SHA256_HEX_LEN];
	struct sha256 sha;
	int r;

	sha256_init(&sha);
	sha256_update(&sha, TREE_DIGEST_TAG, sizeof(TREE_DIGEST_TAG));
	f->scan->archived = 0; /* space planning fills again */
	r = walk(f->scan, false, archive_visit, a, &sha, &f->files);
	if (r < 0)
		return r;
	sha256_final_hex(&sha, hex);
	if (!streq(hex, f->digest))
		return abur_fail(-EAGAIN, "component '%s' changed while being backed up", f->scan->c->name);
	/* The restore bounds the tar stream as well (headers: long names,
	 * xattrs, ACLs); the end-of-archive blocks follow. */
	if (lim && (uint64_t)archive_filter_bytes(a, -1) + 10240 > restore_stream_cap(lim))
		return abur_fail(-EFBIG,
				 "component '%s': the archive's headers and contents exceed what a restore reads "
				 "(%llu bytes for these [restore] limits); nothing written",
				 f->scan->c->name, (unsigned long long)restore_stream_cap(lim));
	return 0;
}

static bool unchanged(struct store *s, const char *component, const char *digest)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;
	bool same = false;

	/* Deep: a newest generation that no longer verifies must not stop the
	 * same content from being stored again, or a restore would fall back
	 * to older content while the live system still has this. */
	if (store_newest(s, component, GEN_CHECK_VERIFY, GEN_SEQ_ANY, &l, &g) == 0)
		same = streq(g->m.content_digest, digest);
	return same;
}

/* The followed links, for the manifest's [extra]: linkN = the configured
 * path, linkN_target = the link's text, linkN_content = where its content
 * was read (and goes back to), a path under root. */
static void links_extra(const struct scan *sc, struct manifest *m)
{
	unsigned k = 0;

	for (size_t i = 0; i < sc->c->npaths; i++) {
		const struct top *t = &sc->tops[i];
		char key[32];
		if (!t->link || t->absent || t->nested)
			continue;
		k++;
		snprintf(key, sizeof(key), "link%u", k);
		manifest_add_extra(m, key, t->conf);
		snprintf(key, sizeof(key), "link%u_target", k);
		manifest_add_extra(m, key, t->link);
		snprintf(key, sizeof(key), "link%u_content", k);
		manifest_add_extra(m, key, t->content);
	}
}

/* One attempt: digest, unchanged check, commit. */
static int backup_once(struct store *s, struct scan *sc, const char *trigger, const char *tag, bool pinned,
		       struct backup_result *res)
{
	char digest[SHA256_HEX_LEN];
	struct tree_fill f = {sc, digest, 0};
	struct payload_spec ps = {DATA_PAYLOAD, fill_tree, &f};
	_cleanup_(manifest_clear) struct manifest extra = {0};
	struct commit_info info = {.component = sc->c->name,
				   .trigger = trigger,
				   .content_digest = digest,
				   .pinned = pinned,
				   .sources = (const char *const *)sc->c->paths,
				   .nsources = sc->c->npaths,
				   .keep = sc->c->keep,
				   .tag = tag,
				   .extra = &extra};
	int r = digest_pass(sc, digest);

	if (r < 0)
		return r;
	/* A seal always records a pinned generation, and a restore point a
	 * tagged one, even of unchanged content. */
	if (!pinned && !tag && unchanged(s, sc->c->name, digest)) {
		res->unchanged = true;
		return 0;
	}
	links_extra(sc, &extra);
	r = store_commit(s, &info, &ps, 1, &res->seq);
	if (r < 0)
		return r;
	res->files = f.files;
	res->payload_bytes = store_generation_bytes(s, sc->c->name, res->seq);
	return 0;
}

static void take_warnings(struct scan *sc, struct backup_result *res)
{
	res->nskipped = sc->nskipped;
	res->skipped = sc->skipped;
	sc->skipped = NULL;
	sc->nskipped = 0;
}

static void scan_reset(struct scan *sc)
{
	struct scan fresh = {
	    .c = sc->c, .root = sc->root, .lim = sc->lim, .state_dir = sc->state_dir, .progress = sc->progress};

	scan_free(sc);
	*sc = fresh;
}

int backup_component(struct store *s, const struct abur_component *c, const char *root, const char *state_dir,
		     const char *trigger, const char *tag, enum backup_flags flags, const struct restore_limits *lim,
		     const struct progress_hook *progress, struct backup_result *res)
{
	struct scan sc = {.c = c, .root = root, .lim = lim, .state_dir = state_dir, .progress = progress};
	unsigned attempt = 1, delay = BACKUP_RETRY_MS;
	int r;

	memset(res, 0, sizeof(*res));
	if (!component_is(c, CT_FILE_TREE))
		return abur_fail(-EINVAL, "component '%s' is not file-level", c->name);
	/* A file written to all the time (a hot log) is met again after a
	 * growing pause; after the last attempt the backup is deferred. */
	while ((r = backup_once(s, &sc, trigger, tag, flags & BACKUP_PINNED, res)) == -EAGAIN &&
	       attempt < BACKUP_ATTEMPTS) {
		struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
		scan_reset(&sc);
		nanosleep(&ts, NULL);
		attempt++;
		delay *= 2;
	}
	if (r == -EAGAIN) {
		res->busy = xstrdup(sc.changed ? sc.changed : c->paths[0]);
		r = abur_fail(-EAGAIN, "%s kept changing while being backed up (%u attempts): deferred", res->busy,
			      attempt);
	}
	take_warnings(&sc, res);
	scan_free(&sc);
	return r;
}

void backup_result_warnings(const struct backup_result *res, void (*say)(void *arg, const char *line), void *arg)
{
	for (uint64_t i = 0; i < res->nskipped && i < BACKUP_SKIPPED_MAX; i++) {
		_cleanup_free_ char *line = xasprintf("skipped %s: a restore cannot create it", res->skipped[i]);
		say(arg, line);
	}
	if (res->nskipped > BACKUP_SKIPPED_MAX) {
		_cleanup_free_ char *line = xasprintf("skipped %llu more special files",
						      (unsigned long long)(res->nskipped - BACKUP_SKIPPED_MAX));
		say(arg, line);
	}
}

void backup_result_free(struct backup_result *res)
{
	for (uint64_t i = 0; i < res->nskipped && i < BACKUP_SKIPPED_MAX; i++)
		free(res->skipped[i]);
	free(res->skipped);
	free(res->busy);
	res->skipped = NULL;
	res->busy = NULL;
	res->nskipped = 0;
}
