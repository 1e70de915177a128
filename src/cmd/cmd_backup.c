/* abur backup [COMPONENT...]: snapshot file-level components now. */
#include <getopt.h>
#include <string.h>

#include "cmd.h"
#include "core/json.h"
#include "core/log.h"

/* --trigger: one manifest value. */
#define TRIGGER_MAX 64

struct outcome {
	int written, unchanged, failed, deferred;
};

static const char *result_name(int r, const struct backup_result *res)
{
	if (r == -EAGAIN && res->busy)
		return "deferred";
	return r < 0 ? "error" : res->unchanged ? "unchanged" : "written";
}

static void report_json(struct json *j, const struct abur_component *c, int r, const struct backup_result *res)
{
	json_obj_begin(j, NULL);
	json_str(j, "component", c->name);
	json_str(j, "result", result_name(r, res));
	if (r < 0)
		json_str(j, "error", abur_errmsg(r));
	if (res->busy)
		json_str(j, "busy", res->busy);
	if (r == 0 && !res->unchanged) {
		json_uint(j, "generation", res->seq);
		json_uint(j, "payload_bytes", res->payload_bytes);
		json_uint(j, "entries", res->files);
	}
	json_uint(j, "skipped", res->nskipped);
	json_arr_begin(j, "skipped_files");
	for (uint64_t i = 0; i < res->nskipped && i < BACKUP_SKIPPED_MAX; i++)
		json_str(j, NULL, res->skipped[i]);
	json_arr_end(j);
	json_obj_end(j);
}

static void report(struct ctx *ctx, struct json *j, const struct abur_component *c, int r,
		   const struct backup_result *res)
{
	char b[32];

	if (ctx->json)
		return report_json(j, c, r, res);
	for (uint64_t i = 0; i < res->nskipped && i < BACKUP_SKIPPED_MAX; i++)
		log_warn("%s: skipped %s: a restore cannot create it", c->name, res->skipped[i]);
	if (res->nskipped > BACKUP_SKIPPED_MAX)
		log_warn("%s: skipped %llu more special files", c->name,
			 (unsigned long long)(res->nskipped - BACKUP_SKIPPED_MAX));
	if (r == -EAGAIN && res->busy)
		log_warn("%s: backup deferred: %s", c->name, abur_errmsg(r));
	else if (r < 0)
		log_error("%s: backup failed: %s", c->name, abur_errmsg(r));
	else if (res->unchanged)
		printf("%s: unchanged, nothing written\n", c->name);
	else
		printf("%s: g%06llu written (%llu entries, %s)\n", c->name, (unsigned long long)res->seq,
		       (unsigned long long)res->files, fmt_bytes(res->payload_bytes, b, sizeof(b)));
}

static void backup_one(struct ctx *ctx, struct store *s, struct json *j, const struct abur_component *c,
		       const char *root, const char *trigger, struct outcome *o)
{
	struct restore_limits lim = {ctx->cfg->restore.max_total_size, ctx->cfg->restore.max_entries};
	struct backup_result res;
	int r = backup_component(s, c, root, trigger, false, &lim, &res);

	report(ctx, j, c, r, &res);
	if (r == -EAGAIN && res.busy)
		o->deferred++;
	else if (r < 0)
		o->failed++;
	else if (res.unchanged)
		o->unchanged++;
	else
		o->written++;
	backup_result_free(&res);
}

int cmd_backup(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"trigger", required_argument, NULL, 't'}, {"root", required_argument, NULL, 'r'}, {}};
	const struct cmd *self = cmd_find("backup");
	const char *trigger = "manual", *root = "/";
	struct outcome o = {0};
	struct store *s;
	struct json j;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't' && (r = ctx_check_value(self, "--trigger", optarg, TRIGGER_MAX)))
			return r;
		else if (c == 't')
			trigger = optarg;
		else if (c == 'r')
			root = optarg;
		else
			return cmd_usage_error(self, "bad option");
	}
	if ((r = ctx_config(ctx)))
		return r;
	for (int i = optind; i < argc; i++) {
		const struct abur_component *k = ctx_component(ctx, argv[i], self);
		if (!k)
			return EXIT_USAGE;
		if (k->type != COMP_FILES)
			return cmd_usage_error(self, "'%s' is the disk image: use 'abur seal'", k->name);
	}
	if ((r = ctx_store(ctx, STORE_WRITE, &s)))
		return r;
	json_init(&j, stdout, false);
	if (ctx->json)
		json_arr_begin(&j, NULL);
	for (size_t i = 0; i < ctx->cfg->ncomps; i++) {
		const struct abur_component *k = &ctx->cfg->comps[i];
		bool named = optind == argc;
		for (int a = optind; a < argc; a++)
			named |= streq(argv[a], k->name);
		if (named && k->type == COMP_FILES)
			backup_one(ctx, s, &j, k, root, trigger, &o);
	}
	if (ctx->json) {
		json_arr_end(&j);
		json_end(&j);
	}
	store_close(s);
	if (o.failed)
		return EXIT_FAIL;
	if (o.deferred) /* a file kept changing: the next run tries again */
		return EXIT_DEFERRED;
	return o.written ? EXIT_OK : EXIT_NOTHING;
}
