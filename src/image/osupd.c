#include "osupd.h"

#include <archive_entry.h>
#include <string.h>

#include "core/parse.h"
#include "imgint.h"
#include "osdiff.h"
#include "osraw.h"

bool osupd_is_update(const struct generation *g)
{
	const char *k = g->valid ? manifest_extra(&g->m, "kind") : NULL;

	return k && streq(k, "update");
}

uint64_t osupd_base(const struct generation *g)
{
	const char *v = osupd_is_update(g) ? manifest_extra(&g->m, "base") : NULL;
	uint64_t seq;

	return v && parse_uint(v, 1, 999999, &seq) == 0 ? seq : 0;
}

const struct generation *osupd_newest_seal(const struct gen_list *l, uint64_t max)
{
	for (size_t i = l->n; i-- > 0;)
		if (l->g[i].valid && !osupd_is_update(&l->g[i]) && (!max || l->g[i].seq <= max))
			return &l->g[i];
	return NULL;
}

static int take_state(struct archive *a, const char *name, struct osupd *u, uint64_t seq)
{
	_cleanup_free_ char *text = NULL;
	unsigned num;
	char tail;
	size_t len;
	int r;

	if (sscanf(name, "p%u.stat%c", &num, &tail) != 2 || tail != 'e' || !streq(strchr(name, '.'), ".state") ||
	    num == 0 || num > PART_NUM_MAX || osupd_state(u, num))
		return abur_fail(-EBADMSG, "unexpected entry %s", name);
	r = diskimg_read_small(a, name, OSUPD_STATE_MAX, &text, &len);
	u->parts = xrealloc(u->parts, (u->n + 1) * sizeof(*u->parts));
	u->state = xrealloc(u->state, (u->n + 1) * sizeof(*u->state));
	if (r == 0)
		r = osidx_parse(text, len, &u->state[u->n]);
	if (r == 0 && u->state[u->n].kind != OSIDX_STATE) {
		osidx_free(&u->state[u->n]);
		r = abur_fail(-EBADMSG, "not an update state");
	}
	if (r < 0)
		return abur_fail_wrap(r, "%s", name);
	osidx_resolve_self(&u->state[u->n], seq);
	u->parts[u->n++] = num;
	return 0;
}

int osupd_load(struct store *s, const struct generation *g, struct osupd *u)
{
	struct payload_reader *p;
	struct archive *a;
	struct archive_entry *e;
	int k, r;

	memset(u, 0, sizeof(*u));
	r = payload_open(s, g, OSUPD_STATE, &p);
	if (r < 0)
		return r;
	a = payload_archive(p);
	while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		r = take_state(a, archive_entry_pathname(e), u, g->seq);
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "%s", archive_error_string(a));
	r = payload_close(p, r);
	if (r < 0) {
		osupd_free(u);
		return abur_fail_wrap(r, "os update g%06llu", (unsigned long long)g->seq);
	}
	return 0;
}

void osupd_free(struct osupd *u)
{
	for (size_t i = 0; i < u->n; i++)
		osidx_free(&u->state[i]);
	free(u->state);
	free(u->parts);
	memset(u, 0, sizeof(*u));
}

const struct osidx *osupd_state(const struct osupd *u, unsigned part)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->parts[i] == part)
			return &u->state[i];
	return NULL;
}

static uint64_t extra_u64(const struct generation *g, const char *key)
{
	const char *v = manifest_extra(&g->m, key);
	uint64_t n;

	return v && parse_uint(v, 0, UINT64_MAX, &n) == 0 ? n : 0;
}

bool image_update_info(const struct generation *g, struct update_info *u)
{
	if (!osupd_is_update(g))
		return false;
	if (u) {
		u->base = osupd_base(g);
		u->added = extra_u64(g, "added");
		u->changed = extra_u64(g, "changed");
		u->deleted = extra_u64(g, "deleted");
		u->metadata = extra_u64(g, "metadata");
		u->new_bytes = extra_u64(g, "new_bytes");
		u->needs = manifest_extra(&g->m, "needs");
	}
	return true;
}

const struct generation *image_newest_seal(struct store *s, const struct gen_list *l)
{
	return osupd_newest_seal(l, store_os_base_max(s));
}

const struct generation *image_newest_update(const struct gen_list *l, const struct generation *seal)
{
	for (size_t i = l->n; seal && i-- > 0;)
		if (osupd_is_update(&l->g[i]) && osupd_base(&l->g[i]) == seal->seq)
			return &l->g[i];
	return NULL;
}

const struct generation *osupd_gen(const struct gen_list *l, uint64_t seq)
{
	const struct generation *g = gen_list_find(l, seq);

	return g && g->valid ? g : NULL;
}

/* Entries of a state whose content is in one generation, by entry name. */
struct wanted {
	const struct osidx_ent **e;
	bool *done;
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
	w->done = xcalloc(w->n ? w->n : 1, sizeof(bool));
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

static int take_content(struct archive *a, const char *name, unsigned part, struct wanted *w, osupd_content_fn fn,
			void *arg)
{
	char prefix[16];
	size_t k;
	int r = 0;

	snprintf(prefix, sizeof(prefix), "p%u/", part);
	if (!startswith(name, prefix) || (k = wanted_find(w, name + strlen(prefix))) == w->n)
		return archive_read_data_skip(a) == ARCHIVE_OK ? 0 : abur_fail(-EBADMSG, "%s", archive_error_string(a));
	for (size_t i = k; r == 0 && i < w->n && streq(w->e[i]->ref_name, w->e[k]->ref_name); i++) {
		if (w->done[i])
			return abur_fail(-EBADMSG, "%s twice in the files payload", name);
		r = fn(arg, a, w->e[i], i == k ? NULL : w->e[k]);
		w->done[i] = r == 0;
	}
	return r;
}

static int contents_of(struct store *s, const struct gen_list *gl, const struct osidx *st, unsigned part, uint64_t seq,
		       osupd_content_fn fn, void *arg)
{
	const struct generation *g = osupd_gen(gl, seq);
	struct wanted w;
	struct payload_reader *p = NULL;
	struct archive *a = NULL;
	struct archive_entry *ae;
	int k = ARCHIVE_OK, r;

	if (!g)
		return abur_fail(-ENOENT, "the os update needs g%06llu, which the store does not hold",
				 (unsigned long long)seq);
	wanted_from(st, seq, &w);
	r = payload_open(s, g, OSUPD_FILES, &p);
	if (r == 0)
		a = payload_archive(p);
	while (r == 0 && (k = archive_read_next_header(a, &ae)) == ARCHIVE_OK)
		r = take_content(a, archive_entry_pathname(ae), part, &w, fn, arg);
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)seq, archive_error_string(a));
	for (size_t i = 0; r == 0 && i < w.n; i++)
		if (!w.done[i])
			r = abur_fail(-EBADMSG, "g%06llu holds no content for %s", (unsigned long long)seq,
				      w.e[i]->path);
	if (p)
		r = payload_close(p, r);
	free(w.e);
	free(w.done);
	return r;
}

uint64_t osupd_content_bytes(const struct osidx *state)
{
	uint64_t n = 0;

	for (size_t i = 0; i < state->n; i++)
		if (state->e[i].op == OSIDX_ADD && state->e[i].type == OSIDX_FILE && state->e[i].ref)
			n += state->e[i].size;
	return n;
}

int osupd_contents(struct store *s, const struct gen_list *gl, const struct osidx *state, unsigned part,
		   osupd_content_fn fn, void *arg)
{
	size_t n;
	_cleanup_free_ uint64_t *refs = osdiff_refs(state, &n);
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = contents_of(s, gl, state, part, refs[i], fn, arg);
	return r;
}

static int raw_bytes(struct store *s, const struct generation *g, const struct osraw *area, char **out)
{
	_cleanup_free_ char *name = xasprintf("%s.bin", area->name);
	struct payload_reader *p = NULL;
	struct archive *a = NULL;
	struct archive_entry *ae;
	size_t len = 0;
	int k, r = payload_open(s, g, OSUPD_RAW, &p);

	*out = NULL;
	if (r == 0)
		a = payload_archive(p);
	while (r == 0 && (k = archive_read_next_header(a, &ae)) == ARCHIVE_OK && !*out) {
		if (streq(archive_entry_pathname(ae), name))
			r = diskimg_read_small(a, name, area->len + 1, out, &len);
	}
	if (r == 0 && (!*out || len != area->len))
		r = abur_fail(-EBADMSG, "g%06llu: %s missing or of the wrong size", (unsigned long long)g->seq, name);
	payload_discard(p); /* the area is checked by its hash below */
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

int osupd_raw(struct store *s, const struct gen_list *gl, const struct generation *upd, const struct osraw *area,
	      char **bytes)
{
	_cleanup_free_ char *key = xasprintf("rawsrc_%s", area->name);
	const char *src = manifest_extra(&upd->m, key);
	const struct generation *g = upd;

	*bytes = NULL;
	if (!src)
		return 0; /* as sealed */
	if (!streq(src, ".")) {
		g = osupd_gen(gl, strtoull(src, NULL, 10));
		if (!g)
			return abur_fail(-ENOENT, "raw area %s is in g%s, which the store does not hold", area->name,
					 src);
	}
	return raw_bytes(s, g, area, bytes);
}
