/* abur verify [COMPONENT] [--generation N]: re-read every payload. */
#include <getopt.h>

#include "cmd.h"
#include "core/json.h"

static int verify_component(struct ctx *ctx, struct store *s, struct json *j, const char *comp, uint64_t only,
			    unsigned *checked)
{
	struct gen_list l;
	int bad = 0, r = store_list(s, comp, &l);

	for (size_t i = 0; r == 0 && i < l.n; i++) {
		const struct generation *g = &l.g[i];
		int k;
		if (only && g->seq != only)
			continue;
		k = store_verify(s, g);
		(*checked)++;
		bad += k < 0;
		if (ctx->json) {
			json_obj_begin(j, NULL);
			json_str(j, "component", comp);
			json_uint(j, "generation", g->seq);
			json_bool(j, "ok", k == 0);
			json_str(j, "problem", k < 0 ? abur_errmsg(k) : NULL);
			json_obj_end(j);
		} else if (k < 0) {
			printf("%-10s g%06llu  FAILED  %s\n", comp, (unsigned long long)g->seq, abur_errmsg(k));
		} else {
			printf("%-10s g%06llu  ok\n", comp, (unsigned long long)g->seq);
		}
	}
	gen_list_free(&l);
	return r < 0 ? r : bad;
}

int cmd_verify(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"generation", required_argument, NULL, 'g'}, {}};
	const struct cmd *self = cmd_find("verify");
	uint64_t only = 0;
	unsigned checked = 0;
	int bad = 0, r = 0, c;
	struct store *s;
	struct json j;
	char **names;
	size_t n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c != 'g' || parse_generation(optarg, &only) < 0)
			return cmd_usage_error(self, "bad option");
	if (argc - optind > 1)
		return cmd_usage_error(self, "too many arguments");
	if ((r = ctx_store(ctx, STORE_READ, &s)))
		return r;
	r = store_components(s, &names, &n);
	json_init(&j, stdout, false);
	if (ctx->json)
		json_arr_begin(&j, NULL);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (optind < argc && !streq(argv[optind], names[i]))
			continue;
		r = verify_component(ctx, s, &j, names[i], only, &checked);
		bad += r > 0 ? r : 0;
	}
	if (ctx->json) {
		json_arr_end(&j);
		json_end(&j);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	store_close(s);
	if (r < 0) {
		fprintf(stderr, "abur verify: %s\n", abur_errmsg(r));
		return EXIT_FAIL;
	}
	if (!ctx->json)
		printf("%u generation%s checked, %d failed\n", checked, checked == 1 ? "" : "s", bad);
	if (checked == 0 && (only || optind < argc)) {
		fprintf(stderr, "abur verify: no such generation\n");
		return EXIT_FAIL;
	}
	return bad ? EXIT_FAIL : EXIT_OK;
}
