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

/* What every component of one run shares. */
struct run {
	struct ctx *ctx;
	struct store *s;
	struct json j;
	const char *root, *trigger;
	const char *tag; /* --tag: a restore point */
	struct progress pb;
	struct progress_hook ph; /* ctx_progress() */
	struct outcome o;
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

	json_arr_begin(j, "removed_generations");
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
			const struct store *s, const char *tag)
{
	json_obj_begin(j, NULL);
	json_str(j, "component", c->name);
	json_str(j, "result", result_name(r, res));
	if (r < 0)
		json_str(j, "problem", abur_errmsg(r));
	if (res->busy)
		json_str(j, "busy", res->busy);
	if (r == 0 && !res->unchanged) {
		json_uint(j, "generation", res->seq);
		json_uint(j, "payload_bytes", res->payload_bytes);
		json_uint(j, "files", res->files);
	}
	json_str(j, "tag", r == 0 ? tag : NULL);
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

/* ", tagged before-9.2" after a result line. */
static void tag_line(const char *tag)
{
	if (tag)
		printf(", tagged %s", tag);
	printf("\n");
}

static void report(struct run *run, const struct abur_component *c, int r, const struct backup_result *res)
{
	char b[32];

	backup_result_warnings(res, warn_line, (void *)c->name); /* stderr, with --json too */
	if (r == -EAGAIN && res->busy)
		log_warn_errno(r, "%s: backup deferred", c->name);
	else if (r < 0)
		cmd_error(r, "%s: backup failed", c->name);
	if (run->ctx->json)
		return report_json(&run->j, c, r, res, run->s, run->tag);
	if (r >= 0 && res->unchanged)
		printf("%s: unchanged, nothing written\n", c->name);
	else if (r >= 0) {
		printf("%s: g%06llu written (%llu %s, %s)", c->name, (unsigned long long)res->seq,
		       (unsigned long long)res->files, noun(res->files, "entry", "entries"),
		       fmt_bytes(res->payload_bytes, b, sizeof(b)));
		tag_line(run->tag);
	}
	removed_line(c->name, run->s);
}

static void backup_one(struct run *run, const struct abur_component *c)
{
	const struct abur_config *cfg = run->ctx->cfg;
	struct restore_limits lim = {cfg->restore.max_total_size, cfg->restore.max_entries};
	struct backup_result res;
	/* The state directory's cache describes this system's /: another root
	 * neither uses nor replaces it. */
	const char *state_dir = streq(run->root, "/") ? cfg->daemon.state_dir : NULL;
	int r;

	store_removed_clear(run->s);
	r = backup_component(run->s, c, run->root, state_dir, run->trigger, run->tag, BACKUP_DEFAULT, &lim, &run->ph,
			     &res);
	progress_finish(&run->pb);
	report(run, c, r, &res);
	count(&run->o, r, res.unchanged, res.busy != NULL);
	backup_result_free(&res);
}

static void os_json(struct json *j, int r, const struct capture_result *res, const struct store *s, const char *tag)
{
	json_obj_begin(j, NULL);
	json_str(j, "component", IMAGE_COMPONENT);
	json_str(j, "result", r == -EAGAIN ? "deferred" : r < 0 ? "error" : res->unchanged ? "unchanged" : "written");
	if (r < 0)
		json_str(j, "problem", abur_errmsg(r));
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
	json_uint(j, "raw_areas", res->raw_stored);
	json_str(j, "tag", r == 0 ? tag : NULL);
	removed_json(j, s);
	json_obj_end(j);
}

/* What failed or was left out of the capture: stderr, with --json too. */
static void os_warnings(int r, const struct capture_result *res)
{
	if (r == -EAGAIN)
		log_warn_errno(r, "%s: deferred", IMAGE_COMPONENT);
	else if (r < 0)
		cmd_error(r, "%s: capture failed", IMAGE_COMPONENT);
	if (r == 0 && res->unmounted)
		log_warn("%s: %u sealed %s not mounted under the root: not captured", IMAGE_COMPONENT, res->unmounted,
			 noun(res->unmounted, "filesystem", "filesystems"));
	if (r == 0 && res->skipped_updates)
		log_warn("%s: %llu newer update %s not read back; compared with an older one", IMAGE_COMPONENT,
			 (unsigned long long)res->skipped_updates,
			 noun(res->skipped_updates, "generation did", "generations did"));
}

static void report_os(struct run *run, int r, const struct capture_result *res)
{
	char b[32];

	os_warnings(r, res);
	if (run->ctx->json)
		return os_json(&run->j, r, res, run->s, run->tag);
	if (r >= 0 && res->unchanged)
		printf("%s: unchanged since the last capture of seal g%06llu, nothing written\n", IMAGE_COMPONENT,
		       (unsigned long long)res->base);
	else if (r >= 0)
		printf("%s: g%06llu written: update of seal g%06llu (%llu added, %llu changed, %llu deleted, %llu "
		       "metadata only; %s new, %u raw areas; %s stored)",
		       IMAGE_COMPONENT, (unsigned long long)res->seq, (unsigned long long)res->base,
		       (unsigned long long)res->added, (unsigned long long)res->changed,
		       (unsigned long long)res->deleted, (unsigned long long)res->metadata,
		       fmt_bytes(res->new_bytes, b, sizeof(b)), res->raw_stored,
		       fmt_bytes(res->payload_bytes, (char[32]){0}, 32));
	if (r >= 0 && !res->unchanged)
		tag_line(run->tag);
	removed_line(IMAGE_COMPONENT, run->s);
}

static void capture_os(struct run *run)
{
	struct capture_result res;
	int r;

	store_removed_clear(run->s);
	r = image_capture(run->ctx->cfg, run->s, run->root, run->trigger, run->tag, &run->ph, &res);
	progress_finish(&run->pb);
	report_os(run, r, &res);
	count(&run->o, r, res.unchanged, true);
}

/* Without names, os is captured when its policy asks for it and there is a
 * seal to capture against. */
static bool os_due(struct store *s, const struct abur_component *k)
{
	if (!IS_ENABLED(CONFIG_IMAGE) || k->policy == POLICY_MANUAL)
		return false;
	return image_sealed_info(s, NULL, NULL, NULL) == 0;
}

/* What this run backs up: the named components, or without names every
 * file component and os when os_due(). */
static bool selected(struct run *run, const struct abur_component *k, int argc, char **argv)
{
	bool named = ctx_named(argv + optind, argc - optind, k->name);

	if (component_is(k, CT_FILE_TREE))
		return named;
	return component_is(k, CT_DISK_IMAGE) && IS_ENABLED(CONFIG_IMAGE) &&
	       (optind < argc ? named : os_due(run->s, k));
}

/* --tag names one generation per component: refused before anything is
 * written when a component to back up has it already. */
static int tag_free(struct run *run, int argc, char **argv)
{
	for (size_t i = 0; run->tag && i < run->ctx->cfg->ncomps; i++) {
		const struct abur_component *k = &run->ctx->cfg->comps[i];
		_cleanup_(gen_list_free) struct gen_list l = {0};
		const struct generation *g;
		int r;
		if (!selected(run, k, argc, argv))
			continue;
		if ((r = store_list(run->s, k->name, &l)) < 0)
			return cmd_error(r, "backup --tag %s", run->tag);
		if ((g = gen_list_find_tag(&l, run->tag)))
			return cmd_error(abur_fail(-EEXIST,
						   "%s already names %s: nothing written; forget it first (abur forget "
						   "%s --generation %s) or choose another name",
						   run->tag, g->rel, k->name, run->tag),
					 "backup --tag");
	}
	return 0;
}

static int parse(const struct cmd *self, int argc, char **argv, struct run *run)
{
	static const struct option opts[] = {{"trigger", required_argument, NULL, 't'},
					     {"root", required_argument, NULL, 'r'},
					     {"tag", required_argument, NULL, 'T'},
					     {}};
	char esc[160];
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't' && (r = ctx_check_value(self, "--trigger", optarg, TRIGGER_MAX)))
			return r;
		else if (c == 't')
			run->trigger = optarg;
		else if (c == 'r')
			run->root = optarg;
		else if (c == 'T' && !store_tag_valid(optarg))
			return cmd_usage_error(self,
					       "--tag '%s': 1 to %d letters, digits, '.', '_' or '-', starting with a "
					       "letter or digit, and not a generation number",
					       cli_escape(optarg, esc, sizeof(esc)), STORE_TAG_MAX);
		else if (c == 'T')
			run->tag = optarg;
		else
			return cmd_usage_error(self, "bad option");
	}
	return 0;
}

int cmd_backup(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("backup");
	_cleanup_(store_closep) struct store *s = NULL;
	struct run run = {.ctx = ctx, .root = "/", .trigger = "manual"};
	int r;

	if ((r = parse(self, argc, argv, &run)) || (r = ctx_config(ctx)))
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
	run.s = s;
	if ((r = tag_free(&run, argc, argv)))
		return r;
	run.ph = ctx_progress(ctx, &run.pb, stderr, NULL); /* --json: one document */
	if (ctx->json) {
		cmd_json_begin(&run.j, self->name);
		json_arr_begin(&run.j, "components");
	}
	for (size_t i = 0; i < ctx->cfg->ncomps; i++) {
		const struct abur_component *k = &ctx->cfg->comps[i];
		if (!selected(&run, k, argc, argv))
			continue;
		if (component_is(k, CT_FILE_TREE))
			backup_one(&run, k);
		else if (IS_ENABLED(CONFIG_IMAGE)) /* selected() says so; a build without imaging links no capture */
			capture_os(&run);
	}
	if (ctx->json) {
		json_arr_end(&run.j);
		cmd_json_end(&run.j);
	}
	if (run.o.failed)
		return EXIT_FAIL;
	if (run.o.deferred) /* a file kept changing: the next run tries again */
		return EXIT_DEFERRED;
	return run.o.written ? EXIT_OK : EXIT_NOTHING;
}
