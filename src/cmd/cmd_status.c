/* abur status: per component, what the store holds (and, with the daemon
 * built in, what the daemon knows: dirty, last change, next run). */
#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/json.h"
#include "image/image.h"
#include "watch/status.h"

struct comp_summary {
	const struct generation *newest;        /* newest valid, cheap checks */
	const struct generation *seal, *update; /* os: the effective seal and its newest update */
	size_t count;
	unsigned invalid;
	uint64_t bytes;
};

/* Lists c into l (an empty list when it cannot be listed). */
static void summarise(struct store *s, const struct abur_component *c, struct gen_list *l, struct comp_summary *cs)
{
	memset(cs, 0, sizeof(*cs));
	if (store_newest(s, c->name, GEN_CHECK_VALID, GEN_SEQ_ANY, l, &cs->newest) < 0)
		cs->newest = NULL;
	cs->count = l->n;
	for (size_t i = 0; i < l->n; i++)
		cs->invalid += !l->g[i].valid;
	cs->bytes = cs->newest ? gen_bytes(cs->newest) : 0;
	if (IS_ENABLED(CONFIG_IMAGE) && component_is(c, CT_DISK_IMAGE)) {
		cs->seal = image_newest_seal(s, l);
		cs->update = image_newest_update(l, cs->seal);
	}
}

static void print_os_text(const struct comp_summary *cs)
{
	char when[32];
	struct update_info u;

	if (!IS_ENABLED(CONFIG_IMAGE) || !cs->seal)
		return;
	printf("  seal: g%06llu at %s\n", (unsigned long long)cs->seal->seq,
	       fmt_time(cs->seal->m.time, when, sizeof(when)));
	if (!cs->update || !image_update_info(cs->update, &u)) {
		printf("  updates: none captured since the seal: a reimage brings the server back as sealed\n");
		return;
	}
	printf("  newest update: g%06llu at %s: %llu added, %llu changed, %llu deleted, %llu metadata only since the "
	       "seal\n",
	       (unsigned long long)cs->update->seq, fmt_time(cs->update->m.time, when, sizeof(when)),
	       (unsigned long long)u.added, (unsigned long long)u.changed, (unsigned long long)u.deleted,
	       (unsigned long long)u.metadata);
}

static void print_text(const struct abur_component *c, const struct comp_summary *cs)
{
	char when[32], size[32];
	const struct generation *g = cs->newest;

	printf("%s (%s, policy %s, keep %u)\n", c->name, comp_type_name(c->type), policy_name(c->policy), c->keep);
	if (!g) {
		printf("  no backup yet%s\n", cs->invalid ? " (only invalid generations)" : "");
		return;
	}
	printf("  newest: g%06llu at %s, trigger %s, %s%s\n", (unsigned long long)g->seq,
	       fmt_time(g->m.time, when, sizeof(when)), g->m.trigger, fmt_bytes(cs->bytes, size, sizeof(size)),
	       g->m.pinned ? ", pinned" : "");
	printf("  generations: %zu%s\n", cs->count, cs->invalid ? " (some invalid: run 'abur verify')" : "");
	print_os_text(cs);
}

static void print_json(struct json *j, const struct abur_component *c, const struct comp_summary *cs)
{
	json_str(j, "component", c->name);
	json_str(j, "type", comp_type_name(c->type));
	json_str(j, "policy", policy_name(c->policy));
	json_uint(j, "generations", cs->count);
	json_uint(j, "invalid", cs->invalid);
	if (!cs->newest) {
		json_str(j, "newest", NULL);
		return;
	}
	json_obj_begin(j, "newest");
	json_uint(j, "generation", cs->newest->seq);
	json_int(j, "time", cs->newest->m.time);
	json_str(j, "trigger", cs->newest->m.trigger);
	json_uint(j, "payload_bytes", cs->bytes);
	json_bool(j, "pinned", cs->newest->m.pinned);
	json_obj_end(j);
	if (cs->seal)
		json_uint(j, "seal", cs->seal->seq);
	if (cs->update)
		json_uint(j, "update", cs->update->seq);
}

/* Without the store, the daemon's view is all there is to show. */
static void daemon_view_only(struct ctx *ctx)
{
	struct watch_status *ws = watch_status_load(ctx->cfg);
	struct json j;

	json_init(&j, stdout, true);
	if (ctx->json)
		json_obj_begin(&j, NULL), json_str(&j, "store", NULL), watch_status_json(ws, &j), json_obj_end(&j),
		    json_end(&j);
	else
		watch_status_text(ws, stdout);
	for (size_t i = 0; !ctx->json && i < ctx->cfg->ncomps; i++) {
		printf("%s\n", ctx->cfg->comps[i].name);
		watch_status_comp_text(ws, &ctx->cfg->comps[i], stdout);
	}
	watch_status_free(ws);
}

int cmd_status(struct ctx *ctx, int argc, char **argv)
{
	_cleanup_(store_closep) struct store *s = NULL;
	struct json j;
	struct watch_status *ws = NULL;
	int r;

	(void)argv;
	if (argc > 1)
		return cmd_usage_error(cmd_find("status"), "no arguments expected");
	if ((r = ctx_store(ctx, STORE_READ, &s))) {
		if (IS_ENABLED(CONFIG_DAEMON) && ctx->cfg)
			daemon_view_only(ctx); /* e.g. how long the flash has been missing */
		return r;
	}
	json_init(&j, stdout, true);
	if (IS_ENABLED(CONFIG_DAEMON))
		ws = watch_status_load(ctx->cfg);
	if (ctx->json) {
		json_obj_begin(&j, NULL), json_str(&j, "store", store_device(s) ? store_device(s) : store_root(s));
		if (ws)
			watch_status_json(ws, &j);
		json_arr_begin(&j, "components");
	} else {
		printf("store: %s\n", store_device(s) ? store_device(s) : store_root(s));
		if (ws)
			watch_status_text(ws, stdout);
		printf("\n");
	}
	for (size_t i = 0; i < ctx->cfg->ncomps; i++) {
		const struct abur_component *c = &ctx->cfg->comps[i];
		struct comp_summary cs;
		_cleanup_(gen_list_free) struct gen_list l = {0};
		summarise(s, c, &l, &cs);
		if (ctx->json) {
			json_obj_begin(&j, NULL);
			print_json(&j, c, &cs);
			if (ws)
				watch_status_comp_json(ws, c, &j);
			json_obj_end(&j);
		} else {
			print_text(c, &cs);
			if (ws)
				watch_status_comp_text(ws, c, stdout);
		}
	}
	if (ctx->json)
		json_arr_end(&j), json_obj_end(&j), json_end(&j);
	if (ws)
		watch_status_free(ws);
	return EXIT_OK;
}
