/* Update states from scans: what differs from the base, and where each
 * file's content is (doc/design.md "A capture"). */
#include "osdiff.h"

#include <string.h>

#include "osscan.h"

static void copy_as(struct osidx *out, const struct osidx_ent *e, char op)
{
	struct osidx_ent *d = osidx_add(out, e->path);

	osidx_ent_copy(d, e);
	d->op = op;
}

void osdiff_overlay(const struct osidx *base, const struct osidx *state, struct osidx *out)
{
	size_t i = 0, j = 0, ns = state ? state->n : 0;

	memset(out, 0, sizeof(*out));
	out->kind = OSIDX_BASE;
	while (i < base->n || j < ns) {
		int c = i == base->n ? 1 : j == ns ? -1 : strcmp(base->e[i].path, state->e[j].path);
		if (c < 0) {
			copy_as(out, &base->e[i++], OSIDX_SAME);
			continue;
		}
		if (state->e[j].op != OSIDX_DEL)
			copy_as(out, &state->e[j], OSIDX_SAME);
		j++;
		i += c == 0;
	}
}

/* The content hash of a base entry, through its hard link. */
static const char *base_sha(const struct osidx *base, const struct osidx_ent *b)
{
	if (b->type == OSIDX_HARDLINK) {
		const struct osidx_ent *t = osidx_find(base, b->target);
		return t ? t->sha : "";
	}
	return b->sha;
}

/* Content of the previous state, by hash (the first holder of each). */
struct content_map {
	const struct osidx_ent **e;
	size_t n;
};

static int cmp_sha(const void *a, const void *b)
{
	return strcmp((*(const struct osidx_ent *const *)a)->sha, (*(const struct osidx_ent *const *)b)->sha);
}

static void map_build(struct content_map *m, const struct osidx *prev)
{
	m->e = xcalloc(prev ? prev->n : 0, sizeof(*m->e));
	m->n = 0;
	for (size_t i = 0; prev && i < prev->n; i++)
		if (prev->e[i].op == OSIDX_ADD && prev->e[i].type == OSIDX_FILE && prev->e[i].ref)
			m->e[m->n++] = &prev->e[i];
	if (m->n)
		qsort(m->e, m->n, sizeof(*m->e), cmp_sha);
}

static const struct osidx_ent *map_find(const struct content_map *m, const char *sha)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->e[mid]->sha, sha);
		if (c == 0) {
			while (mid > 0 && streq(m->e[mid - 1]->sha, sha))
				mid--;
			return m->e[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void place_content(struct osidx_ent *e, const struct osidx *prev, const struct content_map *m, uint64_t new_seq,
			  struct osdiff_stats *st)
{
	const struct osidx_ent *p = prev ? osidx_find(prev, e->path) : NULL;

	if (!(p && p->op == OSIDX_ADD && p->type == OSIDX_FILE && streq(p->sha, e->sha) && p->size == e->size))
		p = map_find(m, e->sha);
	free(e->ref_name);
	if (p && p->size == e->size) {
		e->ref = p->ref;
		e->ref_name = xstrdup(p->ref_name);
		return;
	}
	e->ref = new_seq;
	e->ref_name = xstrdup(e->path);
	st->new_files++;
	st->new_bytes += e->size;
}

/* One path of cur: nothing (as in the base), '+', or 'm'. */
static void diff_one(const struct osidx *base, const struct osidx *prev, const struct content_map *m,
		     const struct osidx_ent *c, uint64_t new_seq, struct osidx *state, struct osdiff_stats *st)
{
	const struct osidx_ent *b = osidx_find(base, c->path);
	struct osidx_ent *e;

	if (b && osidx_same_restored(b, c))
		return;
	e = osidx_add(state, c->path);
	osidx_ent_copy(e, c);
	e->ref = 0;
	e->ref_name = NULL;
	if (!b) {
		e->op = OSIDX_ADD;
		st->added++;
	} else if (c->type == OSIDX_FILE && (b->type == OSIDX_FILE || b->type == OSIDX_HARDLINK) &&
		   streq(base_sha(base, b), c->sha) && b->size == c->size) {
		e->op = OSIDX_META;
		st->metadata++;
	} else {
		e->op = OSIDX_ADD;
		st->changed++;
	}
	if (e->op == OSIDX_ADD && e->type == OSIDX_FILE)
		place_content(e, prev, m, new_seq, st);
}

/* A restore writes a '+' file as a new inode: every other path of that
 * inode must be linked to it again, so it is listed too.  state is sorted;
 * the links are appended after it (the caller sorts again). */
static void relink(const struct osidx *cur, struct osidx *state)
{
	struct osidx sorted = *state;

	for (size_t i = 0; i < cur->n; i++) {
		const struct osidx_ent *c = &cur->e[i], *t;
		if (c->type != OSIDX_HARDLINK || osidx_find(&sorted, c->path))
			continue;
		t = osidx_find(&sorted, c->target);
		if (t && t->op == OSIDX_ADD && t->type == OSIDX_FILE) {
			copy_as(state, c, OSIDX_ADD);
			sorted.e = state->e; /* osidx_add may have moved the array */
		}
	}
}

int osdiff_state(const struct osidx *base, const struct osidx *prev, const struct osidx *cur,
		 const struct osidx *skipped, uint64_t new_seq, struct osidx *state, struct osdiff_stats *st)
{
	struct content_map m;
	size_t before;
	int r;

	memset(state, 0, sizeof(*state));
	memset(st, 0, sizeof(*st));
	state->kind = OSIDX_STATE;
	map_build(&m, prev);
	for (size_t i = 0; i < cur->n; i++)
		diff_one(base, prev, &m, &cur->e[i], new_seq, state, st);
	free(m.e);
	for (size_t i = 0; i < base->n; i++) {
		const struct osidx_ent *b = &base->e[i];
		if (osidx_find(cur, b->path) || osscan_under(skipped, b->path))
			continue;
		struct osidx_ent *e = osidx_add(state, b->path);
		e->op = OSIDX_DEL;
		e->type = b->type;
		st->deleted++;
	}
	r = osidx_sort(state); /* cur and base are sorted: a path appears once */
	before = state->n;
	if (r == 0)
		relink(cur, state);
	if (r == 0 && state->n != before) {
		st->changed += state->n - before;
		r = osidx_sort(state);
	}
	if (r < 0)
		osidx_free(state);
	return r;
}

bool osdiff_same_state(const struct osidx *a, const struct osidx *b)
{
	struct sha256 ha, hb;
	char da[SHA256_HEX_LEN], db[SHA256_HEX_LEN];

	sha256_init(&ha);
	sha256_init(&hb);
	osidx_digest(a, &ha);
	osidx_digest(b, &hb);
	sha256_final_hex(&ha, da);
	sha256_final_hex(&hb, db);
	return streq(da, db);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t *osdiff_refs(const struct osidx *state, size_t *n)
{
	uint64_t *v = xcalloc(state->n ? state->n : 1, sizeof(*v));
	size_t k = 0, u = 0;

	for (size_t i = 0; i < state->n; i++)
		if (state->e[i].ref && state->e[i].ref != OSIDX_REF_SELF)
			v[k++] = state->e[i].ref;
	if (k)
		qsort(v, k, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < k; i++)
		if (!u || v[u - 1] != v[i])
			v[u++] = v[i];
	*n = u;
	return v;
}
