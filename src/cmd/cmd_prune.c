/* abur prune [COMPONENT...] [--dry-run]: apply retention now ([component]
 * keep), or say what it would remove. */
#include <getopt.h>

#include "cmd.h"
#include "core/json.h"

struct prune {
	struct ctx *ctx;
	struct store *s;
	struct json j;
	bool dry;
	size_t total;
};

static void names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void say(struct prune *p, const char *comp, char **names, int n, const char *why)
{
	if (p->ctx->json) {
		json_obj_begin(&p->j, NULL);
		json_str(&p->j, "component", comp);
		json_arr_begin(&p->j, "removed_generations"); /* with dry_run: what would go */
		for (int i = 0; i < n; i++)
			json_str(&p->j, NULL, names[i]);
		json_arr_end(&p->j);
		json_str(&p->j, "problem", why);
		json_obj_end(&p->j);
		return;
	}
	if (n == 0) {
		printf("%s: nothing to remove%s%s\n", comp, why ? ": " : "", why ? why : "");
		return;
	}
	printf("%s: %s", comp, p->dry ? "would remove" : "removed");
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " ", names[i]);
	printf("\n");
}

/* One component: --dry-run lists retention's plan; else retention runs
 * and what it removed is what the store handle noted.  Only when nothing
 * went is the plan asked why (its deep check is then not paid twice). */
static int prune_one(struct prune *p, const struct abur_component *c)
{
	char **names = NULL;
	char *const *gone;
	const char *why = NULL;
	int n;

	if (!p->dry) {
		store_removed_clear(p->s);
		n = store_apply_retention(p->s, c->name, c->keep);
		if (n < 0)
			return cmd_error(n, "prune %s", c->name);
		if (n > 0) {
			n = (int)store_removed(p->s, &gone);
			say(p, c->name, (char **)gone, n, NULL);
			p->total += (size_t)n;
			return 0;
		}
	}
	n = store_retention_plan(p->s, c->name, c->keep, &names, &why);
	if (n < 0)
		return cmd_error(n, "prune %s", c->name);
	if (!p->dry && n > 0)
		why = "readers are in the store: nothing removed now";
	say(p, c->name, names, p->dry ? n : 0, why);
	names_free(names, n);
	p->total += p->dry ? (size_t)n : 0;
	return 0;
}

int cmd_prune(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'}, {}};
	const struct cmd *self = cmd_find("prune");
	_cleanup_(store_closep) struct store *s = NULL;
	struct prune p = {.ctx = ctx};
	int c, r, failed = 0;

	while ((c = getopt_long(argc, argv, "n", opts, NULL)) != -1)
		if (c == 'n')
			p.dry = true;
		else
			return cmd_usage_error(self, "bad option");
	if ((r = ctx_config(ctx)))
		return r;
	for (int i = optind; i < argc; i++)
		if (!ctx_component(ctx, argv[i], self))
			return EXIT_USAGE;
	if ((r = ctx_store(ctx, p.dry ? STORE_READ : STORE_WRITE, &s)))
		return r;
	p.s = s;
	if (ctx->json) {
		cmd_json_begin(&p.j, self->name);
		json_bool(&p.j, "dry_run", p.dry);
		json_arr_begin(&p.j, "components");
	}
	for (size_t i = 0; i < ctx->cfg->ncomps; i++) {
		const struct abur_component *k = &ctx->cfg->comps[i];
		if (ctx_named(argv + optind, argc - optind, k->name))
			failed += prune_one(&p, k) != 0;
	}
	if (ctx->json) {
		json_arr_end(&p.j);
		cmd_json_end(&p.j);
	}
	if (failed)
		return EXIT_FAIL;
	return p.total ? EXIT_OK : EXIT_NOTHING;
}
