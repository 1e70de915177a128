/* abur backup [COMPONENT...]: snapshot file-level components now. */
#include <getopt.h>
#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "image/image.h"

/* --trigger: one manifest value. */
#define TRIGGER_MAX 64

struct outcome {
	int written, unchanged, failed, deferred;
};

/* deferred: a file kept changing (the result says which). */
static void count(struct outcome *o, int r, bool unchanged, bool deferred)
{
	if (r == -EAGAIN && deferred)
		o->deferred++;
	else if (r < 0)
		o->failed++;
	else if (unchanged)
		o->unchanged++;
	else
		o->written++;
}

static const char *result_name(int r, const struct backup_result *res)
{
	if (r == -EAGAIN && res->busy)
		return "deferred";
	return r < 0 ? "error" : res->unchanged ? "unchanged" : "written";
}

/* What the backup's space planning and retention removed: every
 * component's result says so. */
static void removed_json(struct json *j, const struct store *s)
{
	char *const *names;
	size_t n = store_removed(s, &names);

	json_arr_begin(j, "removed");
	for (size_t i = 0; i < n; i++)
		json_str(j, NULL, names[i]);
	json_arr_end(j);
}

static void removed_line(const char *component, const struct store *s)
{
	_cleanup_free_ char *text = store_removed_text(s);

	if (text)
		printf("%s: removed old generations: %s\n", component, text);
}

static void report_json(struct json *j, const struct abur_component *c, int r, const struct backup_result *res,
			const struct store *s)
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
	removed_json(j, s);
	json_obj_end(j);
}

static void warn_line(void *name, const char *line)
{
	log_warn("%s: %s", (const char *)name, line);
}

static void report(struct ctx *ctx, struct json *j, const struct abur_component *c, int r,
		   const struct backup_result *res, const struct store *s)
{
	char b[32];

	if (ctx->json)
		return report_json(j, c, r, res, s);
	backup_result_warnings(res, warn_line, (void *)c->name);
	if (r == -EAGAIN && res->busy)
		log_warn_errno(r, "%s: backup deferred", c->name);
	else if (r < 0)
		cmd_error(r, "%s: backup failed", c->name);
	else if (res->unchanged)
		printf("%s: unchanged, nothing written\n", c->name);
	else
		printf("%s: g%06llu written (%llu %s, %s)\n", c->name, (unsigned long long)res->seq,
		       (unsigned long long)res->files, noun(res->files, "entry", "entries"),
		       fmt_bytes(res->payload_bytes, b, sizeof(b)));
	removed_line(c->name, s);
}

static void backup_one(struct ctx *ctx, struct store *s, struct json *j, const struct abur_component *c,
		       const char *root, const char *trigger, const struct progress_hook *ph, struct outcome *o)
{
	struct restore_limits lim = {ctx->cfg->restore.max_total_size, ctx->cfg->restore.max_entries};
	struct backup_result res;
	/* The state directory's cache describes this system's /: another root
	 * neither uses nor replaces it. */
	const char *state_dir = streq(root, "/") ? ctx->cfg->daemon.state_dir : NULL;
	int r;

	store_removed_clear(s);
	r = backup_component(s, c, root, state_dir, trigger, BACKUP_DEFAULT, &lim, ph, &res);
	progress_finish(ph->arg);
	report(ctx, j, c, r, &res, s);
	count(o, r, res.unchanged, res.busy != NULL);
	backup_result_free(&res);
}

static void report_os(struct ctx *ctx, struct json *j, int r, const struct capture_result *res, const struct store *s)
{
	char b[32];

	if (ctx->json) {
		json_obj_begin(j, NULL);
		json_str(j, "component", IMAGE_COMPONENT);
		json_str(j, "result",
			 r == -EAGAIN     ? "deferred"
			 : r < 0          ? "error"
			 : res->unchanged ? "unchanged"
					  : "written");
		if (r < 0)
			json_str(j, "error", abur_errmsg(r));
		json_uint(j, "base", res->base);
		if (r == 0 && !res->unchanged) {
			json_uint(j, "generation", res->seq);
			json_uint(j, "payload_bytes", res->payload_bytes);
		}
		json_uint(j, "added", res->added);
		json_uint(j, "changed", res->changed);
		json_uint(j, "deleted", res->deleted);
		json_uint(j, "metadata", res->metadata);
		json_uint(j, "new_bytes", res->new_bytes);
		json_uint(j, "raw_stored", res->raw_stored);
		removed_json(j, s);
		json_obj_end(j);
		return;
	}
	if (r == -EAGAIN)
		log_warn_errno(r, "%s: deferred", IMAGE_COMPONENT);
	else if (r < 0)
		cmd_error(r, "%s: capture failed", IMAGE_COMPONENT);
	else if (res->unchanged)
		printf("%s: unchanged since the last capture of seal g%06llu, nothing written\n", IMAGE_COMPONENT,
		       (unsigned long long)res->base);
	else
		printf("%s: g%06llu written: update of seal g%06llu (%llu added, %llu changed, %llu deleted, %llu "
		       "metadata only; %s new, %u raw areas; %s stored)\n",
		       IMAGE_COMPONENT, (unsigned long long)res->seq, (unsigned long long)res->base,
		       (unsigned long long)res->added, (unsigned long long)res->changed,
		       (unsigned long long)res->deleted, (unsigned long long)res->metadata,
		       fmt_bytes(res->new_bytes, b, sizeof(b)), res->raw_stored,
		       fmt_bytes(res->payload_bytes, (char[32]){0}, 32));
	if (r == 0 && res->unmounted)
		log_warn("%s: %u sealed %s not mounted under the root: not captured", IMAGE_COMPONENT, res->unmounted,
			 noun(res->unmounted, "filesystem", "filesystems"));
	if (r == 0 && res->skipped_updates)
		log_warn("%s: %llu newer update %s not read back; compared with an older one", IMAGE_COMPONENT,
			 (unsigned long long)res->skipped_updates,
			 noun(res->skipped_updates, "generation did", "generations did"));
	removed_line(IMAGE_COMPONENT, s);
}

static void capture_os(struct ctx *ctx, struct store *s, struct json *j, const char *root, const char *trigger,
		       const struct progress_hook *ph, struct outcome *o)
{
	struct capture_result res;
	int r;

	store_removed_clear(s);
	r = image_capture(ctx->cfg, s, root, trigger, ph, &res);
	progress_finish(ph->arg);
	report_os(ctx, j, r, &res, s);
	count(o, r, res.unchanged, true);
}

/* Without names, os is captured when its policy asks for it and there is a
 * seal to capture against. */
static bool os_due(struct store *s, const struct abur_component *k)
{
	if (!IS_ENABLED(CONFIG_IMAGE) || k->policy == POLICY_MANUAL)
		return false;
	return image_sealed_info(s, NULL, NULL, NULL) == 0;
}

int cmd_backup(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"trigger", required_argument, NULL, 't'}, {"root", required_argument, NULL, 'r'}, {}};
	const struct cmd *self = cmd_find("backup");
	const char *trigger = "manual", *root = "/";
	struct outcome o = {0};
	_cleanup_(store_closep) struct store *s = NULL;
	struct progress pb;
	struct progress_hook ph;
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
		if (component_is(k, CT_DISK_IMAGE) && !IS_ENABLED(CONFIG_IMAGE))
			return cmd_usage_error(self, "'%s' is the disk image: this abur is built without imaging",
					       k->name);
	}
	if ((r = ctx_store(ctx, STORE_WRITE, &s)))
		return r;
	ph = ctx_progress(ctx, &pb, stderr, NULL) /* --json: one array */;
	json_init(&j, stdout, false);
	if (ctx->json)
		json_arr_begin(&j, NULL);
	for (size_t i = 0; i < ctx->cfg->ncomps; i++) {
		const struct abur_component *k = &ctx->cfg->comps[i];
		bool named = optind == argc;
		for (int a = optind; a < argc; a++)
			named |= streq(argv[a], k->name);
		if (named && component_is(k, CT_FILE_TREE))
			backup_one(ctx, s, &j, k, root, trigger, &ph, &o);
		else if (component_is(k, CT_DISK_IMAGE) && IS_ENABLED(CONFIG_IMAGE) &&
			 (optind < argc ? named : os_due(s, k)))
			capture_os(ctx, s, &j, root, trigger, &ph, &o);
	}
	if (ctx->json) {
		json_arr_end(&j);
		json_end(&j);
	}
	if (o.failed)
		return EXIT_FAIL;
	if (o.deferred) /* a file kept changing: the next run tries again */
		return EXIT_DEFERRED;
	return o.written ? EXIT_OK : EXIT_NOTHING;
}
