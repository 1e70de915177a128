/* abur restore COMPONENT [--generation N] --to ROOT [--exact [--yes]] [PATH...] */
#include <getopt.h>
#include <unistd.h>

#include "cmd.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"

struct restore_args {
	const char *to;
	struct gen_want want;
	bool exact, yes;
	bool json; /* --json: the plan and question on stderr, the result as the document */
};

/* Generation want of component (listed in l), if it verifies; otherwise
 * an error naming the newest earlier one that does. */
static int pick(struct store *s, const char *component, const struct gen_list *l, uint64_t want,
		const struct progress_hook *progress, const struct generation **g)
{
	_cleanup_(gen_list_free) struct gen_list older = {0};
	const struct generation *alt;
	char why[512];
	int r;

	*g = gen_list_find(l, want);
	if (!*g)
		return abur_fail(-ENOENT, "no generation g%06llu", (unsigned long long)want);
	r = gen_verify_progress(s, *g, progress);
	progress_finish(progress->arg);
	if (r == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", abur_errmsg(r));
	if (want > 1 && store_newest(s, component, GEN_CHECK_VERIFY, want - 1, &older, &alt) == 0)
		return abur_fail(r, "%s; g%06llu is the newest earlier valid generation", why,
				 (unsigned long long)alt->seq);
	return abur_fail(r, "%s; no earlier valid generation", why);
}

/* Generation want of the component into root. */
static int restore_one(struct store *s, uint64_t want, const char *root, const struct restore_want *w,
		       struct restore_result *res)
{
	const struct generation *g = NULL;
	_cleanup_(gen_list_free) struct gen_list l = {0};
	int r = store_list(s, w->comp->name, &l);

	if (r == 0)
		r = pick(s, w->comp->name, &l, want, w->progress, &g);
	if (r == 0)
		r = restore_component(s, g, root, w, res);
	return r;
}

/* The generation asked for, else the newest that verifies (*seq its number). */
static int run(struct store *s, const struct restore_args *a, const struct restore_want *w, uint64_t *seq,
	       struct restore_result *res)
{
	unsigned skipped = 0;
	int r;

	if (a->want.seq) {
		*seq = a->want.seq;
		return restore_one(s, a->want.seq, a->to, w, res);
	}
	r = restore_newest(s, a->to, w, seq, &skipped, res);
	if (r == 0 && skipped)
		log_warn("%u newer generation%s failed verification; using g%06llu", skipped, skipped > 1 ? "s" : "",
			 (unsigned long long)*seq);
	return r;
}

/* --exact removes: the plan first, then a line from the terminal
 * ("y" goes on), or --yes.  0 to go on; EXIT_USAGE without a terminal. */
static int confirm(const struct cmd *self, const struct restore_args *a, const char *name, uint64_t seq,
		   const struct restore_result *plan)
{
	FILE *tell = a->json ? stderr : stdout;
	char line[16];

	fprintf(tell, "%s: g%06llu into %s: %llu to write, %llu to remove\n", name, (unsigned long long)seq, a->to,
		(unsigned long long)plan->written, (unsigned long long)plan->strays);
	if (a->yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return cmd_usage_error(self, "--exact removes files: confirm with --yes (no terminal to ask)");
	fprintf(tell, "Make %s exactly g%06llu? [y/N] ", a->to, (unsigned long long)seq);
	fflush(tell);
	if (fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y'))
		return 0;
	return cmd_error(abur_fail(-ECANCELED, "not confirmed: nothing changed"), "restore %s", name);
}

static void report_json(const char *name, uint64_t seq, const char *to, const struct restore_result *res)
{
	struct json j;

	cmd_json_begin(&j, "restore");
	json_str(&j, "component", name);
	json_uint(&j, "generation", seq);
	json_str(&j, "root", to);
	json_uint(&j, "written", res->written);
	json_uint(&j, "strays", res->strays);
	json_bool(&j, "strays_removed", res->removed);
	cmd_json_end(&j);
}

static void report(const struct restore_args *a, const char *name, uint64_t seq, const struct restore_result *res)
{
	const char *to = a->to;

	if (a->json)
		return report_json(name, seq, to, res);
	printf("%s: g%06llu restored into %s: %llu entr%s written", name, (unsigned long long)seq, to,
	       (unsigned long long)res->written, res->written == 1 ? "y" : "ies");
	if (res->removed)
		printf(", %llu removed\n", (unsigned long long)res->strays);
	else if (res->strays)
		printf("; %llu newer entr%s not in g%06llu left in place (--exact removes them)\n",
		       (unsigned long long)res->strays, res->strays == 1 ? "y" : "ies", (unsigned long long)seq);
	else
		printf("\n");
}

static int parse(const struct cmd *self, int argc, char **argv, struct restore_args *a)
{
	static const struct option opts[] = {{"generation", required_argument, NULL, 'g'},
					     {"to", required_argument, NULL, 't'},
					     {"exact", no_argument, NULL, 'x'},
					     {"yes", no_argument, NULL, 'y'},
					     {}};
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'g' && (r = ctx_generation(self, optarg, &a->want)))
			return r;
		if (c == 't')
			a->to = optarg;
		else if (c == 'x')
			a->exact = true;
		else if (c == 'y')
			a->yes = true;
		else if (c != 'g')
			return cmd_usage_error(self, "bad option");
	}
	if (optind >= argc || !a->to)
		return cmd_usage_error(self, "need COMPONENT and --to ROOT");
	if (a->yes && !a->exact)
		return cmd_usage_error(self, "--yes answers --exact's question: use it with --exact");
	return 0;
}

static int restore(const struct cmd *self, struct store *s, const struct restore_args *a, struct restore_want *w)
{
	struct restore_result res = {0};
	uint64_t seq = 0;
	int r = 0;

	if (a->exact) {
		w->flags = RESTORE_PLAN;
		r = run(s, a, w, &seq, &res);
		progress_finish(w->progress->arg);
		if (r < 0)
			return cmd_error(r, "restore %s", w->comp->name);
		if ((r = confirm(self, a, w->comp->name, seq, &res)))
			return r;
		w->flags = RESTORE_EXACT;
	}
	/* the generation planned, not a newer one committed while asking */
	r = a->exact ? restore_one(s, seq, a->to, w, &res) : run(s, a, w, &seq, &res);
	progress_finish(w->progress->arg);
	if (r < 0)
		return cmd_error(r, "restore %s", w->comp->name);
	report(a, w->comp->name, seq, &res);
	return EXIT_OK;
}

int cmd_restore(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("restore");
	struct restore_args a = {0};
	struct restore_want w = {0};
	struct restore_limits lim;
	struct progress pb;
	struct progress_hook ph;
	_cleanup_(store_closep) struct store *s = NULL;
	int r;

	a.json = ctx->json;
	if ((r = parse(self, argc, argv, &a)))
		return r;
	if ((r = ctx_config(ctx)))
		return r;
	if (!(w.comp = ctx_component(ctx, argv[optind], self)))
		return EXIT_USAGE;
	if (!component_is(w.comp, CT_FILE_TREE))
		return cmd_usage_error(self, "'%s' is the disk image: use 'abur reimage'", w.comp->name);
	if ((r = ctx_store(ctx, STORE_READ, &s)))
		return r;
	if ((r = ctx_resolve(s, w.comp->name, &a.want)))
		return r;
	lim = (struct restore_limits){ctx->cfg->restore.max_total_size, ctx->cfg->restore.max_entries};
	w.lim = &lim;
	w.paths = argv + optind + 1;
	w.npaths = (size_t)(argc - optind - 1);
	ph = ctx_progress(ctx, &pb, stderr, NULL); /* no JSON result to join */
	w.progress = &ph;
	return restore(self, s, &a, &w);
}
