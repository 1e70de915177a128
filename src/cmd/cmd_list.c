/* abur list [COMPONENT]: every stored generation. */
#include "cmd.h"
#include "core/json.h"

static void print_gen(struct ctx *ctx, struct json *j, const char *comp, const struct generation *g)
{
	char when[32] = "-", size[32];

	if (ctx->json) {
		json_obj_begin(j, NULL);
		json_str(j, "component", comp);
		json_uint(j, "generation", g->seq);
		json_bool(j, "valid", g->valid);
		if (g->valid) {
			json_int(j, "time", g->m.time);
			json_str(j, "trigger", g->m.trigger);
			json_uint(j, "payload_bytes", generation_bytes(g));
			json_bool(j, "pinned", g->m.pinned);
			json_str(j, "content_digest", g->m.content_digest);
		} else {
			json_str(j, "problem", g->problem);
		}
		json_obj_end(j);
		return;
	}
	if (g->valid)
		fmt_time(g->m.time, when, sizeof(when));
	printf("%-10s g%06llu  %-19s  %-8s %10s  %s%s\n", comp, (unsigned long long)g->seq, when,
	       g->valid ? g->m.trigger : "-", g->valid ? fmt_bytes(generation_bytes(g), size, sizeof(size)) : "-",
	       g->valid && g->m.pinned ? "pinned " : "", g->valid ? "" : g->problem);
}

int cmd_list(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("list");
	struct store *s;
	struct json j;
	char **names;
	size_t n;
	int r;

	if (argc > 2)
		return cmd_usage_error(self, "too many arguments");
	if ((r = ctx_store(ctx, STORE_READ, &s)))
		return r;
	r = store_components(s, &names, &n);
	json_init(&j, stdout, false);
	if (ctx->json)
		json_arr_begin(&j, NULL);
	else
		printf("%-10s %-7s  %-19s  %-8s %10s  %s\n", "COMPONENT", "GEN", "TIME", "TRIGGER", "SIZE", "NOTES");
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct gen_list l;
		if (argc == 2 && !streq(argv[1], names[i]))
			continue;
		r = store_list(s, names[i], &l);
		for (size_t k = 0; r == 0 && k < l.n; k++)
			print_gen(ctx, &j, names[i], &l.g[k]);
		gen_list_free(&l);
	}
	if (ctx->json) {
		json_arr_end(&j);
		json_end(&j);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r < 0)
		fprintf(stderr, "abur list: %s\n", abur_errmsg(r));
	else
		warn_foreign(s, "list");
	store_close(s);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
