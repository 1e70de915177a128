#include "osupd.h"

#include <archive_entry.h>
#include <string.h>

#include "core/parse.h"
#include "imgint.h"

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
	struct archive *a;
	struct archive_entry *e;
	int k, r;

	memset(u, 0, sizeof(*u));
	r = payload_read_open(s, g, OSUPD_STATE, &a);
	if (r < 0)
		return r;
	while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		r = take_state(a, archive_entry_pathname(e), u, g->seq);
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "%s", archive_error_string(a));
	if (r < 0)
		payload_read_discard(a);
	else
		r = payload_read_close(a);
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
