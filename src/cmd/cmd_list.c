/* abur list [COMPONENT]: every stored generation. */
#include "abur/kconfig.h"
#include "cmd.h"
#include "core/json.h"
#include "image/image.h"

static bool update_of(const struct generation *g, struct update_info *u)
{
	return IS_ENABLED(CONFIG_IMAGE) && image_update_info(g, u);
}

/* The partitions an os generation holds as raw copies of encrypted volumes. */
static const char *raw_encrypted_of(const struct generation *g)
{
	return IS_ENABLED(CONFIG_IMAGE) && g->valid ? image_raw_encrypted(g) : NULL;
}

static void update_json(struct json *j, const struct update_info *u)
{
	json_obj_begin(j, "update");
	json_uint(j, "base", u->base);
	json_uint(j, "added", u->added);
	json_uint(j, "changed", u->changed);
	json_uint(j, "deleted", u->deleted);
	json_uint(j, "metadata", u->metadata);
	json_uint(j, "new_bytes", u->new_bytes);
	json_str(j, "needs", u->needs);
	json_obj_end(j);
}

/* "update of g000001: +3 ~2 -1 m1, 1.2 MiB new" */
static char *update_note(const struct update_info *u)
{
	char b[32];

	return xasprintf("update of g%06llu: +%llu ~%llu -%llu m%llu, %s new, needs %s", (unsigned long long)u->base,
			 (unsigned long long)u->added, (unsigned long long)u->changed, (unsigned long long)u->deleted,
			 (unsigned long long)u->metadata, fmt_bytes(u->new_bytes, b, sizeof(b)),
			 u->needs ? u->needs : "-");
}

static void print_gen(struct ctx *ctx, struct json *j, const char *comp, const struct generation *g)
{
	char when[32] = "-", size[32];
	struct update_info u;
	bool upd = update_of(g, &u);

	if (ctx->json) {
		json_obj_begin(j, NULL);
		json_str(j, "component", comp);
		json_uint(j, "generation", g->seq);
		json_bool(j, "valid", g->valid);
		if (g->valid) {
			json_time(j, "time", g->m.time);
			json_str(j, "trigger", g->m.trigger);
			json_uint(j, "payload_bytes", gen_bytes(g));
			json_bool(j, "pinned", g->m.pinned);
			json_str(j, "tag", gen_tag(g));
			json_str(j, "content_digest", g->m.content_digest);
			if (upd)
				update_json(j, &u);
			if (raw_encrypted_of(g))
				json_str(j, "raw_encrypted", raw_encrypted_of(g));
		} else {
			json_time_or_never(j, "time", 0); /* unknown: its manifest did not read */
			json_str(j, "problem", g->problem);
		}
		json_obj_end(j);
		return;
	}
	if (g->valid)
		fmt_time(g->m.time, when, sizeof(when));
	_cleanup_free_ char *note = upd ? update_note(&u) : NULL;
	_cleanup_free_ char *tag = gen_tag(g) ? xasprintf("tag %s ", gen_tag(g)) : NULL;
	_cleanup_free_ char *raw =
	    raw_encrypted_of(g) ? xasprintf("raw copy of encrypted partition %s ", raw_encrypted_of(g)) : NULL;
	printf("%-10s g%06llu  %-23s  %-8s %10s  %s%s%s%s%s\n", comp, (unsigned long long)g->seq, when,
	       g->valid ? g->m.trigger : "-", g->valid ? fmt_bytes(gen_bytes(g), size, sizeof(size)) : "-",
	       g->valid && g->m.pinned ? "pinned " : "", tag ? tag : "", raw ? raw : "", g->valid ? "" : g->problem,
	       note ? note : "");
}

int cmd_list(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("list");
	_cleanup_(store_closep) struct store *s = NULL;
	struct json j;
	char **names = NULL;
	size_t n = 0;
	int r;

	if (argc > 2)
		return cmd_usage_error(self, "too many arguments");
	if ((r = ctx_store(ctx, STORE_READ, &s)))
		return r;
	if (argc == 2 && !ctx_stored_component(ctx, s, argv[1], self))
		return EXIT_USAGE;
	r = store_components(s, &names, &n);
	if (ctx->json) {
		cmd_json_begin(&j, self->name);
		json_arr_begin(&j, "generations");
	} else
		printf("%-10s %-7s  %-23s  %-8s %10s  %s\n", "COMPONENT", "GEN", "TIME", "TRIGGER", "SIZE", "NOTES");
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_(gen_list_free) struct gen_list l = {0};
		if (argc == 2 && !streq(argv[1], names[i]))
			continue;
		r = store_list(s, names[i], &l);
		for (size_t k = 0; r == 0 && k < l.n; k++)
			print_gen(ctx, &j, names[i], &l.g[k]);
	}
	if (ctx->json && r == 0) {
		json_arr_end(&j);
		cmd_json_end(&j);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r < 0)
		cmd_error(r, "list");
	else
		warn_foreign(s, "list");
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
