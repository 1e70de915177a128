/* abur verify [COMPONENT] [--generation N]: re-read every payload. */
#include <getopt.h>

#include "cmd.h"
#include "core/json.h"
#include "core/progress.h"

struct verify_out {
	struct ctx *ctx;
	struct json *j;
	struct progress *pb;
};

static void print_outcome(void *arg, const char *comp, const struct generation *g, int k)
{
	struct verify_out *o = arg;

	if (o->ctx->json) {
		json_obj_begin(o->j, NULL);
		json_str(o->j, "component", comp);
		json_uint(o->j, "generation", g->seq);
		json_bool(o->j, "valid", k == 0);
		json_str(o->j, "problem", k < 0 ? abur_errmsg(k) : NULL);
		json_obj_end(o->j);
		return;
	}
	progress_interrupt(o->pb); /* the bar and these lines share the terminal */
	if (k < 0)
		printf("%-10s g%06llu  FAILED  %s\n", comp, (unsigned long long)g->seq, abur_errmsg(k));
	else
		printf("%-10s g%06llu  ok\n", comp, (unsigned long long)g->seq);
}

int cmd_verify(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"generation", required_argument, NULL, 'g'}, {}};
	const struct cmd *self = cmd_find("verify");
	struct gen_want only = {0};
	unsigned checked = 0;
	int bad = 0, r = 0, c;
	_cleanup_(store_closep) struct store *s = NULL;
	struct progress pb;
	struct progress_hook ph;
	struct json j;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c != 'g')
			return cmd_usage_error(self, "bad option");
		else if ((r = ctx_generation(self, optarg, &only)))
			return r;
	if (argc - optind > 1)
		return cmd_usage_error(self, "too many arguments");
	if ((r = ctx_store(ctx, STORE_READ, &s)))
		return r;
	if (optind < argc && !ctx_stored_component(ctx, s, argv[optind], self))
		return EXIT_USAGE;
	if (only.tag && optind == argc)
		return cmd_usage_error(self, "--generation %s: a tag names a generation of one COMPONENT", only.tag);
	if (optind < argc && (r = ctx_resolve(s, argv[optind], &only)))
		return r;
	ph = ctx_progress(ctx, &pb, stderr, NULL); /* --json: one document */
	if (ctx->json) {
		cmd_json_begin(&j, self->name);
		json_arr_begin(&j, "generations");
	}
	r = store_verify_all(s, optind < argc ? argv[optind] : NULL, only.seq, print_outcome,
			     &(struct verify_out){ctx, &j, &pb}, &ph, &checked);
	progress_finish(&pb);
	bad = r > 0 ? r : 0;
	if (r >= 0)
		warn_foreign(s, "verify");
	store_closep(&s); /* synced and unmounted before the summary */
	if (r < 0)
		return cmd_error(r, "verify");
	if (!ctx->json)
		printf("%u generation%s checked, %d failed\n", checked, checked == 1 ? "" : "s", bad);
	if (checked == 0 && (only.seq || optind < argc))
		return cmd_error(abur_fail(-ENOENT, "no such generation"), "verify");
	if (ctx->json) {
		json_arr_end(&j);
		json_uint(&j, "checked", checked);
		json_uint(&j, "failed", (uint64_t)bad);
		cmd_json_end(&j);
	}
	return bad ? EXIT_FAIL : EXIT_OK;
}
