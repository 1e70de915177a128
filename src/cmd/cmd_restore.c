/* abur restore COMPONENT [--generation N] --to ROOT */
#include <getopt.h>

#include "cmd.h"
#include "core/log.h"

/* The generation to restore: N if it verifies, else the newest that does. */
static int pick(struct store *s, const struct gen_list *l, uint64_t want, const struct generation **g)
{
	unsigned skipped;
	const struct generation *alt;
	int r;

	if (want) {
		for (size_t i = 0; i < l->n; i++)
			if (l->g[i].seq == want)
				*g = &l->g[i];
		if (!*g)
			return abur_fail(-ENOENT, "no generation g%06llu", (unsigned long long)want);
		r = store_verify(s, *g);
		if (r == 0)
			return 0;
		char why[512];
		snprintf(why, sizeof(why), "%s", abur_errmsg(r));
		if (store_newest_valid(s, l, true, want, &alt, NULL) == 0)
			return abur_fail(r, "%s; g%06llu is the newest earlier valid generation", why,
					 (unsigned long long)alt->seq);
		return abur_fail(r, "%s; no earlier valid generation", why);
	}
	r = store_newest_valid(s, l, true, 0, g, &skipped);
	if (r < 0)
		return abur_fail(r, "no generation verifies");
	if (skipped)
		log_warn("%u newer generation%s failed verification; using g%06llu", skipped, skipped > 1 ? "s" : "",
			 (unsigned long long)(*g)->seq);
	return 0;
}

int cmd_restore(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"generation", required_argument, NULL, 'g'}, {"to", required_argument, NULL, 't'}, {}};
	const struct cmd *self = cmd_find("restore");
	const char *to = NULL;
	const struct generation *g = NULL;
	const struct abur_component *comp;
	uint64_t want = 0;
	struct gen_list l;
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'g' && parse_generation(optarg, &want) == 0)
			continue;
		if (c == 't')
			to = optarg;
		else
			return cmd_usage_error(self, "bad option");
	}
	if (optind != argc - 1 || !to)
		return cmd_usage_error(self, "need COMPONENT and --to ROOT");
	if ((r = ctx_config(ctx)))
		return r;
	if (!(comp = ctx_component(ctx, argv[optind], self)))
		return EXIT_USAGE;
	if (comp->type != COMP_FILES)
		return cmd_usage_error(self, "'%s' is the disk image: use 'abur reimage'", comp->name);
	if ((r = ctx_store(ctx, STORE_READ, &s)))
		return r;
	r = store_list(s, comp->name, &l);
	if (r == 0)
		r = pick(s, &l, want, &g);
	if (r == 0) {
		struct restore_limits lim = {ctx->cfg->restore.max_total_size, ctx->cfg->restore.max_entries};
		r = restore_component(s, g, to, &lim);
	}
	if (r < 0)
		log_error("restore %s: %s", comp->name, abur_errmsg(r));
	else
		printf("%s: g%06llu restored into %s\n", comp->name, (unsigned long long)g->seq, to);
	gen_list_free(&l);
	store_close(s);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
