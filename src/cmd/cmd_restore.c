/* abur restore COMPONENT [--generation N] --to ROOT */
#include <getopt.h>

#include "cmd.h"
#include "core/log.h"

/* Generation want of component (listed in l), if it verifies; otherwise
 * an error naming the newest earlier one that does. */
static int pick(struct store *s, const char *component, const struct gen_list *l, uint64_t want,
		const struct generation **g)
{
	_cleanup_(gen_list_free) struct gen_list older = {0};
	const struct generation *alt;
	char why[512];
	int r;

	*g = gen_list_find(l, want);
	if (!*g)
		return abur_fail(-ENOENT, "no generation g%06llu", (unsigned long long)want);
	r = gen_verify(s, *g);
	if (r == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", abur_errmsg(r));
	if (want > 1 && store_newest(s, component, GEN_CHECK_VERIFY, want - 1, &older, &alt) == 0)
		return abur_fail(r, "%s; g%06llu is the newest earlier valid generation", why,
				 (unsigned long long)alt->seq);
	return abur_fail(r, "%s; no earlier valid generation", why);
}

/* Generation want of component into root. */
static int restore_one(struct store *s, const char *component, uint64_t want, const char *root,
		       const struct restore_limits *lim)
{
	const struct generation *g = NULL;
	_cleanup_(gen_list_free) struct gen_list l = {0};
	int r = store_list(s, component, &l);

	if (r == 0)
		r = pick(s, component, &l, want, &g);
	if (r == 0)
		r = restore_component(s, g, root, lim);
	return r;
}

int cmd_restore(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"generation", required_argument, NULL, 'g'}, {"to", required_argument, NULL, 't'}, {}};
	const struct cmd *self = cmd_find("restore");
	const char *to = NULL;
	const struct abur_component *comp;
	uint64_t want = 0, seq = 0;
	unsigned skipped = 0;
	struct restore_limits lim;
	_cleanup_(store_closep) struct store *s = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'g' && (r = ctx_generation(self, optarg, &want)))
			return r;
		else if (c == 'g')
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
	if (!component_is(comp, CT_FILE_TREE))
		return cmd_usage_error(self, "'%s' is the disk image: use 'abur reimage'", comp->name);
	if ((r = ctx_store(ctx, STORE_READ, &s)))
		return r;
	lim = (struct restore_limits){ctx->cfg->restore.max_total_size, ctx->cfg->restore.max_entries};
	if (want) {
		r = restore_one(s, comp->name, want, to, &lim);
		seq = want;
	} else {
		r = restore_newest(s, comp->name, to, &lim, &seq, &skipped);
		if (r == 0 && skipped)
			log_warn("%u newer generation%s failed verification; using g%06llu", skipped,
				 skipped > 1 ? "s" : "", (unsigned long long)seq);
	}
	if (r < 0)
		cmd_error(r, "restore %s", comp->name);
	else
		printf("%s: g%06llu restored into %s\n", comp->name, (unsigned long long)seq, to);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
