/* The commit recipe, space planning and retention (doc/design.md, "Commit,
 * numbering, retention, space, sweep, lock").  Every write goes through the
 * I/O layer so tests can crash or fail each call. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/io.h"
#include "payload.h"
#include "store_int.h"

#ifndef ABUR_VERSION
#define ABUR_VERSION "0.0.0-dev"
#endif

/* Metadata a generation costs beyond its payload bytes (manifest, dirs,
 * block rounding), for space planning. */
#define GEN_OVERHEAD (64 * 1024)

/* A reader waits this long for removal to finish; make_room waits this
 * long for readers to go before it fails. */

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool store_tmp_name(const char *s)
{
	if (startswith(s, ".tmp-del-g"))
		return strlen(s) == 16 && digits(s + 10, 6);
	if (!startswith(s, ".tmp-g") || strlen(s) < 14 || !digits(s + 6, 6) || s[12] != '-')
		return false;
	return strlen(s + 13) <= 10 && digits(s + 13, strlen(s + 13));
}

/* Leftovers: real directories with exactly ABUR's temp names, never a
 * link or anything else. */
static void sweep_tmp(struct store *s, const char *comp)
{
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;

	abur_ignore(store_opendir(s, comp, &d)); /* gone: nothing to sweep */
	while (d && (de = readdir(d))) {
		if (!store_tmp_name(de->d_name) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		abur_ignore(rm_rf_at(dirfd(d), de->d_name)); /* garbage; the next sweep tries again */
	}
	if (d)
		closedir(d);
}

/* Leftovers of any component: a power cut while retention removed an os
 * generation leaves its .tmp-del-* holding space a config backup needs. */
static void sweep_all(struct store *s)
{
	char **names;
	size_t n;

	if (store_components(s, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		sweep_tmp(s, names[i]);
		free(names[i]);
	}
	free(names);
}

/* Runs fill into w (fd -1 = count only). Returns the sink's error first:
 * it is the real cause when the archive layer reports a failure. */
static int run_fill(struct pwriter *w, int fd, const char *path, const struct payload_spec *ps)
{
	struct archive *a;
	int r = pwriter_open(w, fd, path, &a);

	if (r < 0)
		return r;
	r = ps->fill(a, ps->arg);
	if (r < 0) {
		int werr = w->err;
		pwriter_abort(w, a);
		return werr ? abur_error_restore(&w->e) : r;
	}
	return pwriter_close(w, a);
}

static int write_payload(struct store *s, const char *tmp, const struct payload_spec *ps, struct payload_info *pi)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", tmp, ps->name);
	_cleanup_free_ struct pwriter *w = xcalloc(1, sizeof(*w));
	_cleanup_close_ int fd = io_openat(s->root_fd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	int r;

	if (fd < 0)
		return fd;
	r = run_fill(w, fd, path, ps);
	if (r == 0)
		r = io_fsync(fd, path);
	if (r < 0)
		return r;
	pi->name = xstrdup(ps->name);
	pi->size = w->size;
	sha256_final_hex(&w->sha, pi->sha256);
	return 0;
}

static int write_manifest(struct store *s, const char *tmp, struct manifest *m)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", tmp, STORE_MANIFEST);
	_cleanup_free_ char *text = manifest_format(m);
	_cleanup_close_ int fd = -1;
	_cleanup_(manifest_clear) struct manifest check = {0};
	int r;

	/* A manifest the reader would refuse (an over-long source path, say)
	 * would commit a generation that lists as invalid forever. */
	r = manifest_parse(text, strlen(text), &check);
	if (r < 0)
		return abur_fail_wrap(r, "refusing to commit a manifest that does not read back");
	fd = io_openat(s->root_fd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return fd;
	r = io_write_all(fd, text, strlen(text), path);
	if (r == 0)
		r = io_fsync(fd, path);
	return r;
}

static void fill_manifest(struct manifest *m, const struct commit_info *info, uint64_t seq, uint64_t parent)
{
	memset(m, 0, sizeof(*m));
	m->component = xstrdup(info->component);
	m->seq = seq;
	m->parent = parent;
	m->trigger = xstrdup(info->trigger);
	m->time = (int64_t)time(NULL);
	m->content_digest = xstrdup(info->content_digest);
	m->tool_version = xstrdup("abur " ABUR_VERSION);
	m->pinned = info->pinned;
	for (size_t i = 0; i < info->nsources; i++) {
		m->sources = xrealloc(m->sources, (i + 1) * sizeof(char *));
		m->sources[m->nsources++] = xstrdup(info->sources[i]);
	}
	for (size_t i = 0; info->extra && i < info->extra->nextra; i++)
		manifest_add_extra(m, info->extra->extra_keys[i], info->extra->extra_vals[i]);
	if (info->tag)
		manifest_add_extra(m, "tag", info->tag);
}

/* Removes comp/name (a real directory we made) after a failure. */
static void rm_quiet(struct store *s, const char *comp, const char *name)
{
	DIR *d;

	if (store_opendir(s, comp, &d) < 0)
		return;
	(void)!rm_rf_at(dirfd(d), name);
	closedir(d);
}

static uint64_t newest_valid_seq(struct store *s, const char *component)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;

	if (store_newest(s, component, GEN_CHECK_VALID, GEN_SEQ_ANY, &l, &g) == 0)
		return g->seq;
	return 0;
}

/* The next free number: past every ABUR-named entry of the store, within
 * what the six-digit name can hold. */
static int next_seq(struct store *s, const char *comp, uint64_t *seq)
{
	uint64_t max;
	int r = store_max_seq(s, &max);

	if (r < 0)
		return r;
	if (max >= STORE_SEQ_MAX)
		return abur_fail(-EOVERFLOW,
				 "the store's generation numbers are used up (an entry named g%06llu exists): "
				 "a new %s generation cannot be named; copy off what you need and re-create the store",
				 (unsigned long long)STORE_SEQ_MAX, comp);
	*seq = max + 1;
	return 0;
}

/* Generation same_as holds exactly what m would: payloads, content
 * digest and [extra], in order. */
static bool same_content(struct store *s, uint64_t same_as, const struct manifest *m)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;
	const struct manifest *o;

	if (store_list(s, m->component, &l) < 0 || !(g = gen_list_find(&l, same_as)) || !g->valid)
		return false;
	o = &g->m;
	if (o->npayloads != m->npayloads || o->nextra != m->nextra || !streq(o->content_digest, m->content_digest))
		return false;
	for (size_t i = 0; i < m->npayloads; i++)
		if (!streq(o->payloads[i].name, m->payloads[i].name) || o->payloads[i].size != m->payloads[i].size ||
		    memcmp(o->payloads[i].sha256, m->payloads[i].sha256, SHA256_HEX_LEN) != 0)
			return false;
	for (size_t i = 0; i < m->nextra; i++)
		if (!streq(o->extra_keys[i], m->extra_keys[i]) || !streq(o->extra_vals[i], m->extra_vals[i]))
			return false;
	return true;
}

/* One pass of the recipe: temp dir, payloads, manifest, fsyncs, rename. */
static int try_commit(struct store *s, const struct commit_info *info, const struct payload_spec *ps, size_t n,
		      const char *comp_dir, uint64_t *seq_out)
{
	_cleanup_(manifest_clear) struct manifest m = {0};
	_cleanup_free_ char *tmp = NULL, *final = NULL;
	uint64_t seq = 0;
	int r = next_seq(s, info->component, &seq);

	if (r < 0)
		return r;
	fill_manifest(&m, info, seq, newest_valid_seq(s, info->component));
	tmp = xasprintf("%s/.tmp-g%06llu-%d", comp_dir, (unsigned long long)m.seq, (int)getpid());
	final = xasprintf("%s/g%06llu", comp_dir, (unsigned long long)m.seq);
	r = io_mkdirat(s->root_fd, tmp, 0755);
	m.payloads = xcalloc(n, sizeof(*m.payloads));
	for (size_t i = 0; r == 0 && i < n; i++, m.npayloads++)
		r = write_payload(s, tmp, &ps[i], &m.payloads[i]);
	if (r == 0 && info->same_as && same_content(s, info->same_as, &m)) {
		rm_quiet(s, comp_dir, strrchr(tmp, '/') + 1);
		*seq_out = info->same_as;
		return 1;
	}
	if (r == 0)
		r = write_manifest(s, tmp, &m);
	if (r == 0)
		r = io_fsync_dirat(s->root_fd, tmp);
	if (r == 0)
		r = io_renameat(s->root_fd, tmp, final, RENAME_NOREPLACE);
	if (r < 0) {
		rm_quiet(s, comp_dir, strrchr(tmp, '/') + 1);
	} else if ((r = io_fsync_dirat(s->root_fd, comp_dir)) < 0) {
		/* The rename may not be durable: abort rather than leave a doubt. */
		rm_quiet(s, comp_dir, strrchr(final, '/') + 1);
	}
	if (r == 0)
		*seq_out = m.seq;
	return r;
}

/* A generation that retention or space planning may remove. */
struct victim {
	uint64_t seq;
	char *rel;
	uint64_t bytes;
};

size_t store_removed(const struct store *s, char *const **names)
{
	*names = s->removed;
	return s->nremoved;
}

char *store_removed_text(const struct store *s)
{
	char *text = NULL;

	for (size_t i = 0; i < s->nremoved; i++)
		xstrappend(&text, ", ", s->removed[i]);
	return text;
}

/* Removes a generation: first renamed out of sight (atomic), then deleted,
 * and noted for store_removed_text().  The caller holds the removal lock
 * (no reader is in the store). */
static int remove_generation(struct store *s, const char *rel, uint64_t seq)
{
	_cleanup_free_ char *comp = xstrdup(rel);
	_cleanup_free_ char *gone = NULL;
	int r;

	*strchr(comp, '/') = '\0';
	gone = xasprintf("%s/.tmp-del-g%06llu", comp, (unsigned long long)seq);
	r = io_renameat(s->root_fd, rel, gone, RENAME_NOREPLACE);
	if (r == 0)
		r = io_fsync_dirat(s->root_fd, comp);
	if (r == 0) {
		rm_quiet(s, comp, strrchr(gone, '/') + 1);
		s->removed = xrealloc(s->removed, (s->nremoved + 1) * sizeof(*s->removed));
		s->removed[s->nremoved++] = xstrdup(rel);
	}
	return r;
}

/* Index of the effective pin, or -1.  A complete seal's record names it;
 * without a record (older stores), or when the record names no
 * generation here, the newest valid pinned one (a technician's re-seal
 * supersedes the factory seal).  Pinned generations of a seal that never
 * completed are not pins. */
static ssize_t effective_pin(struct store *s, const char *component, const struct gen_list *l)
{
	const struct generation *sealed;
	uint64_t seq;

	if (store_sealed_seq(s, component, &seq) == 0 && (sealed = gen_list_find(l, seq)))
		return sealed - l->g;
	for (size_t i = l->n; i-- > 0;)
		if (l->g[i].valid && l->g[i].m.pinned)
			return (ssize_t)i;
	return -1;
}

/* Adds to keep[] every generation a kept one needs (gen_needs()).  Not
 * what those need in turn: a generation names everything a restore of it
 * reads, and one kept only for its content is no restore point.  false
 * when a kept generation's list is malformed: then nothing may go, since
 * what it needs is unknown. */
static bool keep_needed(const struct gen_list *l, bool *keep)
{
	_cleanup_free_ bool *by_policy = xcalloc(l->n ? l->n : 1, sizeof(bool));

	memcpy(by_policy, keep, l->n * sizeof(bool));
	for (size_t i = 0; i < l->n; i++) {
		uint64_t *needs;
		size_t n;
		if (!by_policy[i])
			continue;
		if (gen_needs(&l->g[i], &needs, &n) < 0)
			return false;
		for (size_t k = 0; k < n; k++)
			for (size_t j = 0; j < i; j++)
				keep[j] |= l->g[j].seq == needs[k];
		free(needs);
	}
	return true;
}

/* Generations of one component that may go, oldest first: not the pinned
 * one, not the newest valid one, nor invalid ones newer than it (kept for
 * inspection). */
static void removable(struct store *s, const char *component, struct victim **v, size_t *nv)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *newest = NULL;
	ssize_t pin;
	int r = store_newest(s, component, GEN_CHECK_VALID, GEN_SEQ_ANY, &l, &newest);

	if (r < 0 && r != -ENOENT)
		return;
	/* Older copies may go only while the newest really verifies: a
	 * bit-rotted newest one must not cost the last good copy. */
	if (r < 0 || gen_verify(s, newest) < 0)
		newest = NULL;
	pin = effective_pin(s, component, &l);
	_cleanup_free_ bool *keep = xcalloc(l.n ? l.n : 1, sizeof(bool));
	for (size_t i = 0; newest && i < l.n; i++)
		keep[i] = (ssize_t)i == pin || &l.g[i] == newest || l.g[i].seq > newest->seq || gen_tag(&l.g[i]);
	if (newest && !keep_needed(&l, keep))
		newest = NULL;
	for (size_t i = 0; newest && i < l.n; i++) {
		const struct generation *g = &l.g[i];
		if (keep[i])
			continue;
		*v = xrealloc(*v, (*nv + 1) * sizeof(**v));
		(*v)[(*nv)++] = (struct victim){g->seq, xstrdup(g->rel), dir_usage(s, g->rel)};
	}
}

static int cmp_victim(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void victims_free(struct victim *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].rel);
	free(v);
}

static int measure(const struct payload_spec *ps, size_t n, uint64_t *need)
{
	_cleanup_free_ struct pwriter *w = xcalloc(1, sizeof(*w));

	*need = GEN_OVERHEAD;
	for (size_t i = 0; i < n; i++) {
		int r = run_fill(w, -1, ps[i].name, &ps[i]);
		if (r < 0)
			return r;
		*need += (w->size + 4095) / 4096 * 4096;
	}
	/* A margin: a live tree can grow between measuring and writing, and the
	 * filesystem spends blocks on metadata.  Freeing a little more beats
	 * freeing generations and then failing anyway. */
	*need += *need / 16 + (64 << 10);
	return 0;
}

/* After ENOSPC: learn the exact size, and free the oldest unpinned
 * generations of the whole store if (and only if) that makes it fit. */
static int make_room(struct store *s, const struct commit_info *info, const struct payload_spec *ps, size_t n)
{
	struct victim *v = NULL;
	size_t nv = 0, k;
	char **names = NULL;
	size_t nn = 0;
	struct statvfs sv;
	uint64_t need, avail, freed = 0;
	char b1[32], b2[32], b3[32];
	int r = measure(ps, n, &need);

	if (r < 0)
		return r;
	if (statvfs(s->root, &sv) < 0)
		return abur_fail(-errno, "statvfs %s: %m", s->root);
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (store_components(s, &names, &nn) == 0)
		for (size_t i = 0; i < nn; i++) {
			removable(s, names[i], &v, &nv);
			free(names[i]);
		}
	free(names);
	qsort(v, nv, sizeof(*v), cmp_victim);
	for (k = 0; k < nv && avail + freed < need; k++)
		freed += v[k].bytes;
	if (avail + freed < need) {
		r = abur_fail(-ENOSPC,
			      "not enough space on the flash for %s: needs %s, %s free, %s more from old generations; "
			      "nothing stored was changed",
			      info->component, fmt_bytes(need, b1, 32), fmt_bytes(avail, b2, 32),
			      fmt_bytes(freed, b3, 32));
		victims_free(v, nv);
		return r;
	}
	/* Space is needed now: wait (bounded) for readers to finish. */
	if (k > 0 && (r = store_lock_removal(s, READERS_WAIT_S)) < 0)
		r = abur_fail_wrap(r, "not enough space on the flash for %s until old generations can go",
				   info->component);
	for (size_t i = 0; r == 0 && i < k; i++)
		r = remove_generation(s, v[i].rel, v[i].seq);
	if (k > 0)
		store_unlock_removal(s);
	victims_free(v, nv);
	return r;
}

/* What retention keeps: the pin, the newest valid one and anything newer
 * (kept for inspection), `keep` more valid ones, and what those need. */
static bool retained(struct store *s, const char *component, const struct gen_list *l, const struct generation *newest,
		     unsigned keep, bool *out)
{
	ssize_t pin = effective_pin(s, component, l);
	unsigned kept = 0;

	for (size_t i = l->n; i-- > 0;) {
		const struct generation *g = &l->g[i];
		out[i] = (ssize_t)i == pin || g->seq >= newest->seq || gen_tag(g) || (g->valid && kept < keep);
		kept += out[i] && g->seq <= newest->seq && (ssize_t)i != pin && !gen_tag(g);
	}
	return keep_needed(l, out);
}

/* The plan of retention: which of l go (go[i]), and why none may when
 * that is so.  Returns how many go. */
static size_t retention_plan(struct store *s, const char *component, unsigned keep, const struct gen_list *l,
			     const struct generation *newest, bool *go, const char **why)
{
	_cleanup_free_ bool *kept = xcalloc(l->n ? l->n : 1, sizeof(bool));
	size_t n = 0;

	*why = NULL;
	if (!newest) {
		*why = "no generation is valid";
		return 0;
	}
	if (!retained(s, component, l, newest, keep, kept)) {
		*why = "a generation's list of what it needs is malformed";
		return 0;
	}
	for (size_t i = 0; i < l->n; i++)
		n += go[i] = !kept[i];
	/* Checked once, and only when something is to go (a seal pays nothing). */
	if (n && gen_verify(s, newest) < 0) {
		*why = "the newest valid generation fails its check: every older copy stays";
		memset(go, 0, l->n * sizeof(bool));
		n = 0;
	}
	return n;
}

/* Lists component and plans its retention. */
static int plan_for(struct store *s, const char *component, unsigned keep, struct gen_list *l, bool **go,
		    const char **why)
{
	const struct generation *newest = NULL;
	int r = store_newest(s, component, GEN_CHECK_VALID, GEN_SEQ_ANY, l, &newest);

	if (r < 0 && r != -ENOENT)
		return r;
	*go = xcalloc(l->n ? l->n : 1, sizeof(bool));
	return (int)retention_plan(s, component, keep, l, r < 0 ? NULL : newest, *go, why);
}

int store_retention_plan(struct store *s, const char *component, unsigned keep, char ***names, const char **why)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	_cleanup_free_ bool *go = NULL;
	int n = plan_for(s, component, keep, &l, &go, why);

	*names = NULL;
	for (size_t i = 0, k = 0; n > 0 && i < l.n; i++)
		if (go[i]) {
			*names = xrealloc(*names, (k + 1) * sizeof(char *));
			(*names)[k++] = xstrdup(l.g[i].rel);
		}
	return n;
}

int store_apply_retention(struct store *s, const char *component, unsigned keep)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	_cleanup_free_ bool *go = NULL;
	const char *why;
	int removed = 0, r = plan_for(s, component, keep, &l, &go, &why);

	if (r <= 0)
		return r; /* nothing valid, or what is needed is unknown: remove nothing */
	/* Readers present: nothing goes now; the next commit tries again. */
	if (store_lock_removal(s, 0) < 0)
		return 0;
	r = 0;
	for (size_t i = l.n; r == 0 && i-- > 0;)
		if (go[i]) {
			r = remove_generation(s, l.g[i].rel, l.g[i].seq);
			removed += r == 0;
		}
	store_unlock_removal(s);
	return r < 0 ? r : removed;
}

/* ---- abur forget ---- */

/* The valid generation before newest g holds what g holds (a restore
 * point of unchanged content): forgetting g loses nothing, since that one
 * becomes the newest. */
static bool held_before(const struct gen_list *l, const struct generation *g)
{
	for (size_t i = (size_t)(g - l->g); i-- > 0;)
		if (l->g[i].valid)
			return streq(l->g[i].m.content_digest, g->m.content_digest);
	return false;
}

/* 0 when generation g of l may be forgotten, else why not. */
static int forget_check(struct store *s, const char *component, const struct gen_list *l, const struct generation *g,
			const struct generation *newest, bool unpin)
{
	const char *name = component;
	unsigned long long seq = g->seq;

	if (g == newest && !held_before(l, g))
		return abur_fail(
		    -EBUSY,
		    "%s g%06llu is the newest valid generation: a restore or reimage would use it; back up "
		    "again first, then forget it",
		    name, seq);
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ uint64_t *needs = NULL;
		size_t n = 0;
		if (&l->g[i] == g || !l->g[i].valid || gen_needs(&l->g[i], &needs, &n) < 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (needs[k] == g->seq)
				return abur_fail(-EBUSY, "%s g%06llu is needed by %s: forget that first", name, seq,
						 l->g[i].rel);
	}
	if (effective_pin(s, component, l) == g - l->g && !unpin)
		return abur_fail(-EPERM,
				 "%s g%06llu is the seal's pinned generation: add --unpin to forget it (a reimage then "
				 "writes the newest %s generation instead)",
				 name, seq, name);
	return 0;
}

int store_forget(struct store *s, const char *component, uint64_t seq, bool unpin)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *newest = NULL, *g;
	int r;

	if (s->mode != STORE_WRITE)
		return abur_fail(-EROFS, "store opened read-only");
	r = store_newest(s, component, GEN_CHECK_VALID, GEN_SEQ_ANY, &l, &newest);
	if (r < 0 && r != -ENOENT)
		return r;
	if (!(g = gen_list_find(&l, seq)))
		return abur_fail(-ENOENT, "%s has no generation g%06llu", component, (unsigned long long)seq);
	r = forget_check(s, component, &l, g, r < 0 ? NULL : newest, unpin);
	if (r < 0)
		return r;
	r = store_lock_removal(s, READERS_WAIT_S);
	if (r < 0)
		return abur_fail_wrap(r, "%s g%06llu cannot go while the store is read", component,
				      (unsigned long long)seq);
	r = remove_generation(s, g->rel, g->seq);
	store_unlock_removal(s);
	return r;
}

/* A tag names at most one generation of a component. */
static int check_tag(struct store *s, const struct commit_info *info)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;
	int r;

	if (!info->tag)
		return 0;
	if (!store_tag_valid(info->tag))
		return abur_fail(-EINVAL, "bad tag '%.80s'", info->tag);
	if ((r = store_list(s, info->component, &l)) < 0)
		return r;
	if ((g = gen_list_find_tag(&l, info->tag)))
		return abur_fail(-EEXIST, "the tag '%s' already names %s: forget it first or choose another name",
				 info->tag, g->rel);
	return 0;
}

int store_commit(struct store *s, const struct commit_info *info, const struct payload_spec *ps, size_t n,
		 uint64_t *seq)
{
	_cleanup_free_ char *comp_dir = NULL;
	int r;

	if (s->mode != STORE_WRITE)
		return abur_fail(-EROFS, "store opened read-only");
	if (!valid_component_name(info->component) || !info->trigger || !info->content_digest || n == 0)
		return abur_fail(-EINVAL, "bad commit request for '%s'", info->component);
	if ((r = check_tag(s, info)) < 0)
		return r;
	comp_dir = xstrdup(info->component);
	r = io_mkdirat(s->root_fd, comp_dir, 0755);
	/* A new component folder's entry in abur/ reaches the flash before
	 * anything is committed inside it. */
	if (r == 0)
		r = io_fsync_dirat(s->root_fd, ".");
	if (r < 0)
		return abur_fail_wrap(r, "%s", s->root);
	sweep_all(s);
	r = try_commit(s, info, ps, n, comp_dir, seq);
	if (r == -ENOSPC) {
		r = make_room(s, info, ps, n);
		if (r == 0) {
			r = try_commit(s, info, ps, n, comp_dir, seq);
			if (r == -ENOSPC)
				r = abur_fail_wrap(r, "flash still full after freeing old generations");
		}
	}
	if (r != 0)
		return r; /* failed, or reused: nothing new for retention */
	/* The commit stands; a failed retention runs again next time. */
	abur_ignore(store_apply_retention(s, info->component, info->keep ? info->keep : 1));
	return 0;
}
