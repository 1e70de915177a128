/* abur diff COMPONENT [A [B]] [PATH...]: what changed between two
 * generations. */
#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/json.h"
#include "core/osidx.h"
#include "image/image.h"

enum change {
	CH_TYPE = 1 << 0,
	CH_CONTENT = 1 << 1,
	CH_MODE = 1 << 2,
	CH_OWNER = 1 << 3,
	CH_SIZE = 1 << 4,
	CH_MTIME = 1 << 5,
	CH_XATTRS = 1 << 6,
};

static const struct {
	enum change bit;
	const char *name;
} changes[] = {
    {CH_TYPE, "type"}, {CH_CONTENT, "content"}, {CH_MODE, "mode"},     {CH_OWNER, "owner"},
    {CH_SIZE, "size"}, {CH_MTIME, "mtime"},     {CH_XATTRS, "xattrs"},
};

static unsigned what_changed(const struct osidx_ent *a, const struct osidx_ent *b)
{
	unsigned w = 0;

	if (a->type != b->type)
		return CH_TYPE;
	if (!streq(a->sha, b->sha) || !streq(a->target ? a->target : "", b->target ? b->target : ""))
		w |= CH_CONTENT;
	if (a->mode != b->mode)
		w |= CH_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		w |= CH_OWNER;
	if (a->size != b->size)
		w |= CH_SIZE;
	if (a->type != OSIDX_DIR && a->mtime_ns / 1000000000 != b->mtime_ns / 1000000000)
		w |= CH_MTIME;
	if (!streq(a->meta, b->meta))
		w |= CH_XATTRS;
	return w;
}

struct diff_out {
	struct ctx *ctx;
	struct json j;
	uint64_t added, removed, changed;
};

static void put(struct diff_out *o, char op, const char *path, unsigned what)
{
	const char *name = op == '+' ? "added" : op == '-' ? "deleted" : "changed";

	o->added += op == '+';
	o->removed += op == '-';
	o->changed += op == 'M';
	if (o->ctx->json) {
		json_obj_begin(&o->j, NULL);
		json_str(&o->j, "path", path);
		json_str(&o->j, "change", name);
		json_arr_begin(&o->j, "what");
		for (size_t i = 0; i < ARRAY_SIZE(changes); i++)
			if (what & changes[i].bit)
				json_str(&o->j, NULL, changes[i].name);
		json_arr_end(&o->j);
		json_obj_end(&o->j);
		return;
	}
	printf("%c  %s", op, path);
	for (size_t i = 0, k = 0; i < ARRAY_SIZE(changes); i++)
		if (what & changes[i].bit)
			printf("%s%s", k++ ? ", " : "  (", changes[i].name);
	printf("%s\n", what ? ")" : "");
}

/* Walks the two sorted indexes together. */
static void diff_trees(struct diff_out *o, const struct osidx *a, const struct osidx *b, struct path_filter *f)
{
	size_t i = 0, k = 0;

	while (i < a->n || k < b->n) {
		int c = i == a->n ? 1 : k == b->n ? -1 : strcmp(a->e[i].path, b->e[k].path);
		const struct osidx_ent *ea = c <= 0 ? &a->e[i++] : NULL, *eb = c >= 0 ? &b->e[k++] : NULL;
		unsigned w = ea && eb ? what_changed(ea, eb) : 0;
		if (!filter_match(f, ea ? ea->path : eb->path))
			continue;
		if (!eb)
			put(o, '-', ea->path, 0);
		else if (!ea)
			put(o, '+', eb->path, 0);
		else if (w)
			put(o, 'M', eb->path, w);
	}
}

/* The generation before g: its seal for an os update, else the newest
 * valid one numbered below it. */
static int before(const char *comp, const struct gen_list *l, const struct generation *g, uint64_t *seq)
{
	struct update_info u;

	if (IS_ENABLED(CONFIG_IMAGE) && image_update_info(g, &u)) {
		*seq = u.base;
		return 0;
	}
	for (size_t i = l->n; i-- > 0;)
		if (l->g[i].seq < g->seq && l->g[i].valid) {
			*seq = l->g[i].seq;
			return 0;
		}
	return abur_fail(-ENOENT, "%s g%06llu has no valid generation before it: name two to compare", comp,
			 (unsigned long long)g->seq);
}

static void print_head(struct diff_out *o, const char *comp, const struct generation *ga, const struct generation *gb)
{
	char a[160], b[160];

	if (!o->ctx->json) {
		printf("from %s\n  to %s\n", entry_line_gen(comp, ga, a, sizeof(a)),
		       entry_line_gen(comp, gb, b, sizeof(b)));
		return;
	}
	cmd_json_begin(&o->j, "diff");
	json_str(&o->j, "component", comp);
	json_gen(&o->j, "from", ga);
	json_gen(&o->j, "to", gb);
	json_arr_begin(&o->j, "changes");
}

static void print_tail(struct diff_out *o)
{
	if (!o->ctx->json) {
		printf("%llu added, %llu removed, %llu changed\n", (unsigned long long)o->added,
		       (unsigned long long)o->removed, (unsigned long long)o->changed);
		return;
	}
	json_arr_end(&o->j);
	json_uint(&o->j, "added", o->added);
	json_uint(&o->j, "deleted", o->removed);
	json_uint(&o->j, "changed", o->changed);
	cmd_json_end(&o->j);
}

static int run_diff(struct ctx *ctx, struct store *s, const struct abur_component *c, const uint64_t want[2],
		    struct path_filter *f)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *ga = NULL, *gb = NULL;
	struct diff_out o = {.ctx = ctx};
	struct osidx a = {0}, b = {0};
	uint64_t seq_a = want[0];
	int r;

	r = pick_generation(s, c->name, want[1] ? want[1] : want[0], &l, &gb);
	if (r == 0 && !want[1])
		r = before(c->name, &l, gb, &seq_a);
	if (r == 0)
		r = find_generation(c->name, &l, seq_a, &ga);
	if (r == 0)
		r = entries_load(s, c, &l, ga, &a);
	if (r == 0)
		r = entries_load(s, c, &l, gb, &b);
	for (size_t i = 0; r == 0 && i < a.n; i++)
		filter_match(f, a.e[i].path);
	for (size_t i = 0; r == 0 && i < b.n; i++)
		filter_match(f, b.e[i].path);
	if (r == 0)
		r = entries_missed(f, c->name);
	if (r == 0) {
		print_head(&o, c->name, ga, gb);
		diff_trees(&o, &a, &b, f);
		print_tail(&o);
	}
	osidx_free(&a);
	osidx_free(&b);
	return r;
}

/* A and B: numbers, or tags of comp; the first argument that is neither
 * starts the PATHs.  Returns the index of the first PATH. */
static int diff_wants(struct store *s, const char *comp, int argc, char **argv, uint64_t want[2])
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;
	int i = 2;

	abur_ignore(store_list(s, comp, &l)); /* unreadable: no tags, and the diff says why */
	for (; i < 4 && i < argc; i++)
		if (parse_generation(argv[i], &want[i - 2]) == 0)
			continue;
		else if ((g = gen_list_find_tag(&l, argv[i])))
			want[i - 2] = g->seq;
		else
			break;
	return i;
}

int cmd_diff(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("diff");
	const struct abur_component *comp;
	struct path_filter f = {0};
	uint64_t want[2] = {0, 0};
	int i, r;
	struct store *s;

	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage_error(self, argc < 2 ? "need COMPONENT" : "bad option");
	if ((r = open_component(ctx, self, argv[1], &comp, &s)))
		return r;
	i = diff_wants(s, comp->name, argc, argv, want);
	filter_init(&f, argv + i, (size_t)(argc - i));
	r = run_diff(ctx, s, comp, want, &f);
	filter_free(&f);
	store_close(s);
	return r < 0 ? cmd_error(r, "diff %s", comp->name) : EXIT_OK;
}
