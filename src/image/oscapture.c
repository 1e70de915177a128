/* abur backup os: an update generation of the effective seal, holding what
 * changed on the sealed filesystems and raw areas since the seal (doc/
 * design.md "A capture").  One capture: reference (seal's base index, the
 * newest readable update's state, the local stat cache), scan, diff, and
 * one commit with the store's recipe. */
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "core/pkgmgr.h"
#include "image.h"
#include "osbase.h"
#include "osdiff.h"
#include "osraw.h"
#include "osrun.h"
#include "osscan.h"
#include "osupd.h"

/* A night references at most this many earlier update generations. */
#define MAX_CHAIN 8
/* A file that changes while it is read: tries, and the first wait (doubling). */
#define BUSY_TRIES 4
#define BUSY_WAIT_MS 250

struct fsrun {
	unsigned part;
	const struct osidx *base;
	const struct osidx *prev; /* the previous capture's state, or NULL */
	const char *mnt, *sys;
	struct osidx cur, skipped, state;
	char cache_sha[SHA256_HEX_LEN]; /* of the stat cache as loaded, "" none */
};

struct cap {
	const struct abur_config *cfg;
	struct store *s;
	const char *root;
	const char *tag; /* a restore point: committed even when unchanged */
	struct gen_list gl;
	const struct generation *seal, *prev;
	struct osbase_loaded base;
	struct osupd prev_upd;
	struct osrun run;
	struct fsrun *fs;
	size_t nfs;
	struct osraw *raw;
	size_t nraw;
	bool *raw_store; /* raw[i] is stored tonight */
	char **raw_src;  /* raw[i]'s bytes are in: NULL (as sealed), "." (tonight) or a seq */
	uint64_t skipped_updates;
	struct osdiff_stats st;
	char digest[SHA256_HEX_LEN];
	struct archive *disk; /* archive_read_disk, for the files payload */
	const struct progress_hook *progress;
	uint64_t scanned;           /* bytes hashed by the scans so far ("scan os") */
	uint64_t written, to_write; /* tonight's content archived, of its size ("backup os") */
};

/* ---- the reference ---- */

static int find_seal(struct cap *c)
{
	int r = store_list(c->s, IMAGE_COMPONENT, &c->gl);

	if (r < 0)
		return r;
	c->seal = osupd_newest_seal(&c->gl, store_os_base_max(c->s));
	if (!c->seal)
		return abur_fail(-ENOENT, "the store holds no os seal (run abur seal first)");
	return osbase_load(c->s, c->seal, &c->base);
}

/* The newest update of this seal whose state reads back; older ones when
 * a newer one is damaged (counted: the result says so). */
static void find_prev(struct cap *c)
{
	for (size_t i = c->gl.n; i-- > 0;) {
		const struct generation *g = &c->gl.g[i];
		if (!osupd_is_update(g) || osupd_base(g) != c->seal->seq)
			continue;
		if (osupd_load(c->s, g, &c->prev_upd) == 0) {
			c->prev = g;
			return;
		}
		c->skipped_updates++;
	}
}

static const char *raw_key(const struct generation *g, const char *prefix, const char *name)
{
	_cleanup_free_ char *key = xasprintf("%s_%s", prefix, name);

	return g ? manifest_extra(&g->m, key) : NULL;
}

/* ---- the local stat cache (doc/design.md: an optimisation only) ---- */

static char *cache_path(const struct cap *c, unsigned part)
{
	return xasprintf("%s/os-cache/s%06llu-p%u.idx", c->cfg->daemon.state_dir, (unsigned long long)c->seal->seq,
			 part);
}

static bool cache_load(const struct cap *c, struct fsrun *f, struct osidx *x)
{
	_cleanup_free_ char *path = cache_path(c, f->part), *text = NULL;
	size_t len;

	if (!c->cfg->daemon.state_dir || read_file(path, OSBASE_INDEX_MAX, &text, &len) < 0 ||
	    osidx_parse(text, len, x) < 0 || x->kind != OSIDX_BASE)
		return false;
	sha256_hex(text, len, f->cache_sha);
	return true;
}

static void cache_save(const struct cap *c, const struct fsrun *f)
{
	_cleanup_free_ char *path = cache_path(c, f->part), *dir = NULL;
	size_t len;
	_cleanup_free_ char *text = osidx_format(&f->cur, &len);
	char sha[SHA256_HEX_LEN];

	sha256_hex(text, len, sha);
	if (!c->cfg->daemon.state_dir || streq(sha, f->cache_sha))
		return; /* a quiet night: the same stats, nothing to write */
	dir = xasprintf("%s/os-cache", c->cfg->daemon.state_dir);
	if (mkdir_p(dir, 0700) == 0) /* else the next capture reads more content, nothing worse */
		abur_ignore(io_write_file_atomic(path, text, len, 0600));
}

/* ---- scanning ---- */

static int scan_fs(struct cap *c, struct fsrun *f)
{
	struct osidx cache, overlay;
	bool cached = cache_load(c, f, &cache);
	struct osscan_opts o = {.root = f->mnt,
				.sysprefix = f->sys,
				.skip = osrun_skip,
				.skip_arg = &c->run,
				.keep_meta_text = true,
				.progress = c->progress,
				.stage = "scan " IMAGE_COMPONENT,
				.progress_base = c->scanned};
	struct osscan_stats st = {0};
	int r;

	if (!cached)
		osdiff_overlay(f->base, f->prev, &overlay);
	o.ref = cached ? &cache : &overlay;
	r = osscan_run(&o, &f->cur, &f->skipped, &st);
	c->scanned += st.hashed_bytes;
	osidx_free(cached ? &cache : &overlay);
	if (r < 0)
		return abur_fail_wrap(r, "scanning partition %u (%s)", f->part, f->sys);
	return 0;
}

/* ---- the chain bound ---- */

static size_t count_refs(const struct cap *c, uint64_t **all)
{
	size_t n = 0;

	*all = NULL;
	for (size_t i = 0; i < c->nfs; i++) {
		size_t k;
		_cleanup_free_ uint64_t *v = osdiff_refs(&c->fs[i].state, &k);
		for (size_t j = 0; j < k; j++) {
			bool have = false;
			for (size_t m = 0; m < n && !have; m++)
				have = (*all)[m] == v[j];
			if (!have) {
				*all = xrealloc(*all, (n + 1) * sizeof(**all));
				(*all)[n++] = v[j];
			}
		}
	}
	return n;
}

static uint64_t live_bytes(const struct cap *c, uint64_t ref)
{
	uint64_t b = 0;

	for (size_t i = 0; i < c->nfs; i++)
		for (size_t k = 0; k < c->fs[i].state.n; k++)
			if (c->fs[i].state.e[k].ref == ref)
				b += c->fs[i].state.e[k].size;
	return b;
}

/* Tonight takes over the content of the needed generation with the fewest
 * live bytes (read again from the live files), until few enough remain. */
static void bound_chain(struct cap *c)
{
	uint64_t *refs;
	size_t n;

	while ((n = count_refs(c, &refs)) > MAX_CHAIN - 1) {
		uint64_t pick = refs[0];
		for (size_t i = 1; i < n; i++)
			if (live_bytes(c, refs[i]) < live_bytes(c, pick))
				pick = refs[i];
		for (size_t i = 0; i < c->nfs; i++)
			for (size_t k = 0; k < c->fs[i].state.n; k++) {
				struct osidx_ent *e = &c->fs[i].state.e[k];
				if (e->ref != pick)
					continue;
				e->ref = OSIDX_REF_SELF;
				free(e->ref_name);
				e->ref_name = xstrdup(e->path);
				c->st.new_files++;
				c->st.new_bytes += e->size;
			}
		free(refs);
	}
	free(refs);
}

/* ---- raw areas ---- */

static int scan_raw(struct cap *c)
{
	_cleanup_close_ int fd = open(c->run.disk, O_RDONLY | O_CLOEXEC);
	int r;

	c->raw = osraw_list(&c->base.l, &c->nraw);
	c->raw_store = xcalloc(c->nraw ? c->nraw : 1, sizeof(bool));
	c->raw_src = xcalloc(c->nraw ? c->nraw : 1, sizeof(char *));
	if (fd < 0)
		return abur_fail(-errno, "%s: %m", c->run.disk);
	sync(); /* what a boot loader wrote through a partition, onto the media */
	r = osraw_hash(fd, c->run.disk, c->raw, c->nraw);
	for (size_t i = 0; r == 0 && i < c->nraw; i++) {
		const char *sealed = raw_key(c->seal, "raw", c->raw[i].name);
		const char *last = c->prev ? raw_key(c->prev, "raw", c->raw[i].name) : sealed;
		const char *src = c->prev ? raw_key(c->prev, "rawsrc", c->raw[i].name) : NULL;
		if (sealed && streq(sealed, c->raw[i].sha))
			continue; /* as sealed: the base has it */
		if (last && streq(last, c->raw[i].sha) && src) {
			c->raw_src[i] =
			    streq(src, ".") ? xasprintf("%llu", (unsigned long long)c->prev->seq) : xstrdup(src);
			continue;
		}
		c->raw_store[i] = true;
		c->raw_src[i] = xstrdup(".");
	}
	return r;
}

/* ---- digest and verdict ---- */

static void make_digest(struct cap *c)
{
	struct sha256 h;

	sha256_init(&h);
	sha256_update(&h, "abur-os-update-1", 17);
	for (size_t i = 0; i < c->nfs; i++) {
		char tag[16];
		snprintf(tag, sizeof(tag), "p%u", c->fs[i].part);
		sha256_update(&h, tag, strlen(tag) + 1);
		osidx_digest(&c->fs[i].state, &h);
	}
	for (size_t i = 0; i < c->nraw; i++)
		if (c->raw_src[i]) { /* differs from the seal */
			sha256_update(&h, c->raw[i].name, strlen(c->raw[i].name) + 1);
			sha256_update(&h, c->raw[i].sha, SHA256_HEX_LEN);
		}
	sha256_final_hex(&h, c->digest);
}

/* Nothing differs from what the newest update (or the bare seal) holds. */
static bool unchanged(const struct cap *c)
{
	bool empty = true;

	if (c->prev)
		return c->prev->m.content_digest && streq(c->prev->m.content_digest, c->digest);
	for (size_t i = 0; i < c->nfs; i++)
		empty &= c->fs[i].state.n == 0;
	for (size_t i = 0; i < c->nraw; i++)
		empty &= !c->raw_src[i];
	return empty;
}

/* ---- payloads ---- */

static int fill_state(struct archive *a, void *arg)
{
	const struct cap *c = arg;
	int r = 0;

	for (size_t i = 0; r == 0 && i < c->nfs; i++) {
		char name[32];
		size_t len;
		_cleanup_free_ char *text = osidx_format(&c->fs[i].state, &len);
		snprintf(name, sizeof(name), "p%u.state", c->fs[i].part);
		r = diskimg_put_blob(a, name, text, len);
	}
	return r;
}

static bool same_file(const struct stat *st, const struct osidx_ent *e)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_size == e->size && st->st_ino == e->ino &&
	       (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec == e->mtime_ns &&
	       (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec == e->ctime_ns;
}

static int copy_file(struct cap *c, struct archive *a, int fd, const char *abs, const struct osidx_ent *e)
{
	char buf[128 * 1024];
	char hex[SHA256_HEX_LEN];
	struct sha256 h;
	uint64_t left = e->size;
	struct stat st;

	sha256_init(&h);
	while (left > 0) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n <= 0)
			return n < 0 ? abur_fail(-errno, "read %s: %m", abs)
				     : abur_fail(-EAGAIN, "%s changed while being captured", abs);
		sha256_update(&h, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return abur_fail(archive_r(a), "archive %s: %s", abs, archive_error_string(a));
		left -= (uint64_t)n;
		c->written += (uint64_t)n;
		progress_tell(c->progress, "backup " IMAGE_COMPONENT, c->written, c->to_write);
	}
	sha256_final_hex(&h, hex);
	if (fstat(fd, &st) < 0)
		return abur_fail(-errno, "%s: %m", abs);
	if (!streq(hex, e->sha) || !same_file(&st, e))
		return abur_fail(-EAGAIN, "%s changed while being captured", abs);
	return 0;
}

/* One file of tonight's content, with the metadata GNU tar restores. */
static int put_live(struct cap *c, const struct fsrun *f, const struct osidx_ent *e, struct archive *a)
{
	_cleanup_free_ char *abs = xasprintf("%s/%s", f->mnt, e->path);
	_cleanup_close_ int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME | O_NONBLOCK);
	struct archive_entry *ae;
	struct stat st;
	int r = 0;

	if (fd < 0 && errno == EPERM)
		fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return abur_fail(errno == ENOENT ? -EAGAIN : -errno, "%s: %m", abs);
	if (fstat(fd, &st) < 0 || !same_file(&st, e))
		return abur_fail(-EAGAIN, "%s changed while being captured", abs);
	ae = archive_entry_new();
	archive_entry_copy_sourcepath(ae, abs);
	if (archive_read_disk_entry_from_file(c->disk, ae, fd, &st) < ARCHIVE_WARN)
		r = abur_fail(archive_r(c->disk), "%s: %s", abs, archive_error_string(c->disk));
	if (r == 0) {
		_cleanup_free_ char *name = xasprintf("p%u/%s", f->part, e->ref_name);
		archive_entry_copy_pathname(ae, name);
		if (archive_write_header(a, ae) < ARCHIVE_WARN)
			r = abur_fail(archive_r(a), "archive %s: %s", abs, archive_error_string(a));
	}
	if (r == 0 && e->size)
		r = copy_file(c, a, fd, abs, e);
	archive_entry_free(ae);
	return r;
}

static bool tonights(const struct osidx_ent *e)
{
	return e->op == OSIDX_ADD && e->type == OSIDX_FILE && e->ref == OSIDX_REF_SELF;
}

static int fill_files(struct archive *a, void *arg)
{
	struct cap *c = arg;
	int r = 0;

	c->written = c->to_write = 0; /* space planning fills again */
	for (size_t i = 0; i < c->nfs; i++)
		for (size_t k = 0; k < c->fs[i].state.n; k++)
			c->to_write += tonights(&c->fs[i].state.e[k]) ? c->fs[i].state.e[k].size : 0;
	progress_tell(c->progress, "backup " IMAGE_COMPONENT, 0, c->to_write);
	for (size_t i = 0; r == 0 && i < c->nfs; i++)
		for (size_t k = 0; r == 0 && k < c->fs[i].state.n; k++)
			if (tonights(&c->fs[i].state.e[k]))
				r = put_live(c, &c->fs[i], &c->fs[i].state.e[k], a);
	return r;
}

static int fill_raw(struct archive *a, void *arg)
{
	const struct cap *c = arg;
	_cleanup_close_ int fd = open(c->run.disk, O_RDONLY | O_CLOEXEC);
	int r = fd < 0 ? abur_fail(-errno, "%s: %m", c->run.disk) : 0;

	for (size_t i = 0; r == 0 && i < c->nraw; i++)
		if (c->raw_store[i])
			r = osraw_put(a, fd, c->run.disk, &c->raw[i]);
	return r;
}

/* ---- the commit ---- */

static char *needs_text(const struct cap *c)
{
	uint64_t *refs;
	size_t n = count_refs(c, &refs);
	char *t = xasprintf("%llu", (unsigned long long)c->seal->seq);

	for (size_t i = 0; i < c->nraw; i++) /* raw areas kept by an earlier night */
		if (c->raw_src[i] && !streq(c->raw_src[i], ".")) {
			bool have = false;
			uint64_t seq = strtoull(c->raw_src[i], NULL, 10);
			for (size_t k = 0; k < n && !have; k++)
				have = refs[k] == seq;
			if (!have) {
				refs = xrealloc(refs, (n + 1) * sizeof(*refs));
				refs[n++] = seq;
			}
		}
	for (size_t i = 0; i < n; i++) {
		char *more = xasprintf("%s %llu", t, (unsigned long long)refs[i]);
		free(t);
		t = more;
	}
	free(refs);
	return t;
}

static void add_u64(struct manifest *m, const char *key, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	manifest_add_extra(m, key, buf);
}

static void update_extra(const struct cap *c, struct manifest *m)
{
	_cleanup_free_ char *needs = needs_text(c);
	char seal[32];

	snprintf(seal, sizeof(seal), "%llu", (unsigned long long)c->seal->seq);
	manifest_add_extra(m, "kind", "update");
	manifest_add_extra(m, "base", seal);
	manifest_add_extra(m, "needs", needs);
	add_u64(m, "added", c->st.added);
	add_u64(m, "changed", c->st.changed);
	add_u64(m, "deleted", c->st.deleted);
	add_u64(m, "metadata", c->st.metadata);
	add_u64(m, "new_files", c->st.new_files);
	add_u64(m, "new_bytes", c->st.new_bytes);
	for (size_t i = 0; i < c->nraw; i++) {
		_cleanup_free_ char *k1 = xasprintf("raw_%s", c->raw[i].name);
		manifest_add_extra(m, k1, c->raw[i].sha);
		if (c->raw_src[i]) {
			_cleanup_free_ char *k2 = xasprintf("rawsrc_%s", c->raw[i].name);
			manifest_add_extra(m, k2, c->raw_src[i]);
		}
	}
}

static int commit(struct cap *c, const char *trigger, struct capture_result *res)
{
	const struct abur_component *os = config_component(c->cfg, IMAGE_COMPONENT);
	struct payload_spec ps[3] = {{OSUPD_STATE, fill_state, c}, {OSUPD_FILES, fill_files, c}};
	size_t nps = 2;
	const char *sources[] = {c->root};
	_cleanup_(manifest_clear) struct manifest m = {0};
	int r;

	for (size_t i = 0; i < c->nraw; i++)
		if (c->raw_store[i]) {
			ps[nps++] = (struct payload_spec){OSUPD_RAW, fill_raw, c};
			res->raw_stored++;
			for (size_t k = i + 1; k < c->nraw; k++)
				res->raw_stored += c->raw_store[k];
			break;
		}
	update_extra(c, &m);
	struct commit_info ci = {.component = IMAGE_COMPONENT,
				 .trigger = trigger,
				 .content_digest = c->digest,
				 .sources = sources,
				 .nsources = 1,
				 .keep = os ? os->keep : 2,
				 .tag = c->tag,
				 .extra = &m};
	c->disk = archive_read_disk_new();
	r = store_commit(c->s, &ci, ps, nps, &res->seq);
	archive_read_free(c->disk);
	c->disk = NULL;
	if (r == 0)
		res->payload_bytes = store_generation_bytes(c->s, IMAGE_COMPONENT, res->seq);
	return r;
}

/* ---- one attempt, and the busy-file rule ---- */

static void cap_free(struct cap *c)
{
	for (size_t i = 0; i < c->nfs; i++) {
		osidx_free(&c->fs[i].cur);
		osidx_free(&c->fs[i].skipped);
		osidx_free(&c->fs[i].state);
	}
	free(c->fs);
	for (size_t i = 0; i < c->nraw; i++)
		free(c->raw_src[i]);
	free(c->raw_src);
	free(c->raw_store);
	free(c->raw);
	osrun_close(&c->run);
	osupd_free(&c->prev_upd);
	osbase_loaded_free(&c->base);
	gen_list_free(&c->gl);
	memset(c, 0, sizeof(*c));
}

static int prepare(struct cap *c)
{
	int r = find_seal(c);

	if (r < 0)
		return r;
	find_prev(c);
	r = osrun_open(c->cfg, c->root, &c->base.l, c->base.parts, c->base.n, &c->run);
	if (r < 0)
		return r;
	c->fs = xcalloc(c->base.n ? c->base.n : 1, sizeof(*c->fs));
	for (size_t i = 0; i < c->base.n; i++) {
		if (!c->run.mnt[i])
			continue; /* not mounted: not captured tonight, said in the result */
		struct fsrun *f = &c->fs[c->nfs++];
		f->part = c->base.parts[i];
		f->base = &c->base.idx[i];
		f->prev = c->prev ? osupd_state(&c->prev_upd, f->part) : NULL;
		f->mnt = c->run.mnt[i];
		f->sys = c->run.sys[i];
	}
	return 0;
}

/* Files the package manager is rewriting would be captured half old, half
 * new: wait while it holds its lock (the busy-file rule's tries). */
static int pkgmgr_idle(const struct cap *c)
{
	const struct abur_component *os = config_component(c->cfg, IMAGE_COMPONENT);
	_cleanup_free_ char *lock = os ? pkgmgr_locked(os, c->root) : NULL;

	return lock ? abur_fail(-EAGAIN, "the package manager is at work (%s is locked)", lock) : 0;
}

static int attempt(struct cap *c, const char *trigger, struct capture_result *res)
{
	int r = pkgmgr_idle(c);

	if (r == 0)
		r = prepare(c);

	for (size_t i = 0; r == 0 && i < c->nfs; i++) {
		struct fsrun *f = &c->fs[i];
		struct osdiff_stats st = {0};
		r = scan_fs(c, f);
		if (r == 0)
			r = osdiff_state(f->base, f->prev, &f->cur, &f->skipped, OSIDX_REF_SELF, &f->state, &st);
		c->st.added += st.added, c->st.changed += st.changed, c->st.deleted += st.deleted;
		c->st.metadata += st.metadata, c->st.new_files += st.new_files, c->st.new_bytes += st.new_bytes;
	}
	if (r == 0)
		r = scan_raw(c);
	if (r < 0)
		return r;
	bound_chain(c);
	make_digest(c);
	res->base = c->seal->seq;
	res->filesystems = (unsigned)c->nfs;
	res->unmounted = (unsigned)(c->base.n - c->nfs);
	res->skipped_updates = c->skipped_updates;
	res->added = c->st.added, res->changed = c->st.changed, res->deleted = c->st.deleted;
	res->metadata = c->st.metadata, res->new_bytes = c->st.new_bytes;
	res->unchanged = unchanged(c) && !c->tag;
	for (size_t i = 0; i < c->nfs; i++)
		cache_save(c, &c->fs[i]);
	return res->unchanged ? 0 : commit(c, trigger, res);
}

int image_capture(const struct abur_config *cfg, struct store *s, const char *root, const char *trigger,
		  const char *tag, const struct progress_hook *progress, struct capture_result *res)
{
	unsigned wait = BUSY_WAIT_MS;
	int r = -EAGAIN;

	for (int i = 0; i < BUSY_TRIES && r == -EAGAIN; i++, wait *= 2) {
		struct cap c = {.cfg = cfg, .s = s, .root = root, .tag = tag, .progress = progress};
		if (i)
			usleep(wait * 1000);
		memset(res, 0, sizeof(*res));
		r = attempt(&c, trigger, res);
		cap_free(&c);
	}
	if (r == -EAGAIN)
		r = abur_fail_wrap(r, "os capture deferred after %d tries", BUSY_TRIES);
	return r;
}
