/* abur ls and abur diff of an os generation (doc/design.md "Seeing and
 * getting updates"): a seal's base indexes, an update's effective tree (its
 * seal with its state laid over, osdiff_overlay()), as one index whose
 * paths are "pN/PATH" ("pN" for filesystem N's root). */
#include <string.h>

#include "image.h"
#include "osbase.h"
#include "osdiff.h"
#include "osupd.h"

static char *part_path(unsigned part, const char *path)
{
	return streq(path, OSIDX_ROOT) ? xasprintf("p%u", part) : xasprintf("p%u/%s", part, path);
}

/* Moves the entries of x (filesystem part) to out, renamed; x is left
 * without entries (a listing of a large filesystem is held once). */
static void move_part(struct osidx *out, unsigned part, struct osidx *x)
{
	for (size_t i = 0; i < x->n; i++) {
		struct osidx_ent *e = osidx_add(out, "");
		free(e->path);
		*e = x->e[i];
		e->path = part_path(part, x->e[i].path);
		free(x->e[i].path);
		if (e->type == OSIDX_HARDLINK && e->target) {
			char *t = part_path(part, e->target);
			free(e->target);
			e->target = t;
		}
	}
	x->n = 0;
}

static int add_seal(const struct osbase_loaded *b, const struct osupd *u, struct osidx *out)
{
	for (size_t i = 0; i < b->n; i++) {
		struct osidx eff;
		osdiff_overlay(&b->idx[i], u ? osupd_state(u, b->parts[i]) : NULL, &eff);
		move_part(out, b->parts[i], &eff);
		osidx_free(&eff);
	}
	return osidx_sort(out);
}

int image_os_entries(struct store *s, const struct gen_list *l, const struct generation *g, struct osidx *out)
{
	bool upd = osupd_is_update(g);
	struct osbase_loaded b;
	struct osupd u = {0};
	int r;

	memset(out, 0, sizeof(*out));
	out->kind = OSIDX_BASE;
	r = osbase_load_of(s, l, g, &b);
	if (r < 0)
		return r;
	if (upd)
		r = osupd_load(s, g, &u);
	if (r == 0)
		r = add_seal(&b, upd ? &u : NULL, out);
	osupd_free(&u);
	osbase_loaded_free(&b);
	if (r < 0)
		osidx_free(out);
	return r;
}
