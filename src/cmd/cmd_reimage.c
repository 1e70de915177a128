/* abur reimage --disk DEV [--generation N] [--no-update] [--yes=SERIAL] [--dry-run] */
#include <getopt.h>

#include "cmd.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "image/image.h"

static void print_result(const struct ctx *ctx, const char *disk, const struct reimage_result *res)
{
	struct json j;
	char b1[32];

	if (!ctx->json) {
		printf("reimaged %s from os g%06llu (%s written), restored %u file %s\n", disk,
		       (unsigned long long)res->seq, fmt_bytes(res->written, b1, sizeof(b1)), res->components,
		       noun(res->components, "component", "components"));
		if (res->update)
			printf("applied os update g%06llu: %llu %s written, %llu %s removed, %u raw %s\n",
			       (unsigned long long)res->update, (unsigned long long)res->update_files,
			       noun(res->update_files, "file", "files"), (unsigned long long)res->update_deleted,
			       noun(res->update_deleted, "path", "paths"), res->update_raw,
			       noun(res->update_raw, "area", "areas"));
		else
			printf("no os update applied: the server is as sealed\n");
		return;
	}
	cmd_json_begin(&j, "reimage");
	json_str(&j, "device", disk);
	json_uint(&j, "generation", res->seq);
	json_seq_or_null(&j, "update_generation", res->update);
	json_uint(&j, "update_skipped", res->update_skipped);
	json_uint(&j, "written_bytes", res->written);
	json_uint(&j, "file_components", res->components);
	cmd_json_end(&j);
}

/* --settings-only: license and config into the disk's root filesystem.
 * The disk must be the sealed one, or confirmed by its serial. */
static int settings(struct ctx *ctx, struct store *s, const char *disk, const char *confirm)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	struct files_result fr = {0};
	struct progress pb;
	struct progress_hook ph = ctx_progress(ctx, &pb, stderr, NULL); /* --json: one document */
	int r;

	abur_ignore(image_sealed_info(s, &id, NULL, NULL)); /* none: only a confirmed disk */
	r = image_probe(disk, id, &d);
	if (r == 0 && (d->cls == DISK_FLASH || d->cls == DISK_BLANK ||
		       (d->cls == DISK_FOREIGN && !(confirm && streq(confirm, d->serial)))))
		r = abur_fail(-EPERM, "%s is %s (%s)%s", disk, disk_class_name(d->cls), d->reason,
			      d->cls == DISK_FOREIGN ? ": confirm with --yes=SERIAL" : "");
	if (r == 0)
		r = image_restore_settings(ctx->cfg, s, disk, IMAGE_FILES_SETTINGS, &ph, &fr);
	progress_finish(&pb);
	if (fr.why)
		log_warn("passed over %u damaged %s: restored %s", fr.passed_over,
			 noun(fr.passed_over, "generation", "generations"), fr.why);
	free(fr.why);
	if (r < 0)
		return cmd_error(r, "reimage --settings-only %s", disk);
	if (ctx->json) {
		struct json j;
		cmd_json_begin(&j, "reimage");
		json_str(&j, "device", disk);
		json_bool(&j, "settings_only", true);
		json_uint(&j, "file_components", (uint64_t)r);
		cmd_json_end(&j);
	} else {
		printf("restored %d settings %s into %s\n", r, noun((uint64_t)r, "component", "components"), disk);
	}
	return EXIT_OK;
}

static void print_line(void *arg, const char *text)
{
	(void)arg;
	printf("%s\n", text);
}

static void plan_parts_json(struct json *j, const struct reimage_plan *p)
{
	json_arr_begin(j, "partitions");
	for (size_t i = 0; i < p->nparts; i++) {
		const struct reimage_plan_part *pp = &p->parts[i];
		json_obj_begin(j, NULL);
		json_uint(j, "number", pp->num);
		json_uint(j, "start", pp->start);
		json_uint(j, "size", pp->size);
		json_str(j, "method", pp->method);
		json_str(j, "type", pp->type);
		json_str(j, "fs", pp->fstype);
		json_uint(j, "stored_bytes", pp->stored);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* The plan as one document: what reimage_plan_text() says, as fields. */
static void plan_json(const struct reimage_plan *p)
{
	struct json j;

	cmd_json_begin(&j, "reimage");
	json_bool(&j, "dry_run", true);
	disk_json(&j, "disk", p->disk);
	json_bool(&j, "needs_confirm", p->needs_confirm);
	json_str(&j, "label", p->label);
	json_uint(&j, "sector_size", p->sector_size);
	plan_parts_json(&j, p);
	json_bool(&j, "grow_last_partition", p->grow);
	json_uint(&j, "generation", p->seq);
	json_time(&j, "time", p->seal_time);
	json_seq_or_null(&j, "update_generation", p->update);
	json_time_or_never(&j, "update_time", p->update ? p->update_time : 0);
	json_uint(&j, "update_skipped", p->update_skipped);
	json_str(&j, "update_problem", p->update_why);
	json_arr_begin(&j, "components");
	for (size_t i = 0; i < p->ncomps; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "component", p->comps[i].name);
		json_seq_or_null(&j, "generation", p->comps[i].seq);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_uint(&j, "bytes", p->bytes);
	cmd_json_end(&j);
}

/* --dry-run: the whole plan, and nothing written (not even the marker). */
static int dry_run(struct ctx *ctx, struct store *s, const char *disk, const struct reimage_opts *o)
{
	struct reimage_plan p;
	int r = image_reimage_plan(ctx->cfg, s, disk, o, &p);

	if (r == 0 && ctx->json) {
		plan_json(&p);
	} else if (r == 0) {
		printf("reimage %s: the plan (dry run: nothing written)\n", disk);
		reimage_plan_text(&p, print_line, NULL);
	}
	reimage_plan_free(&p);
	return r < 0 ? cmd_error(r, "reimage --dry-run %s", disk) : EXIT_OK;
}

int cmd_reimage(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"disk", required_argument, NULL, 'd'},    {"generation", required_argument, NULL, 'g'},
	    {"yes", required_argument, NULL, 'y'},     {"no-settings", no_argument, NULL, 'n'},
	    {"settings-only", no_argument, NULL, 's'}, {"no-update", no_argument, NULL, 'u'},
	    {"dry-run", no_argument, NULL, 'D'},       {}};
	const struct cmd *self = cmd_find("reimage");
	struct reimage_opts o = {0};
	struct gen_want gen = {0};
	struct reimage_result res;
	const char *disk = NULL;
	bool settings_only = false, plan = false;
	struct progress pb;
	_cleanup_(store_closep) struct store *s = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			disk = optarg;
		else if (c == 'y')
			o.confirm = optarg;
		else if (c == 'n')
			o.skip_settings = true;
		else if (c == 's')
			settings_only = true;
		else if (c == 'u')
			o.no_update = true;
		else if (c == 'D')
			plan = true;
		else if (c != 'g')
			return cmd_usage_error(self, "bad option");
		else if ((r = ctx_generation(self, optarg, &gen)))
			return r;
	}
	if (optind != argc || !disk)
		return cmd_usage_error(self, "need --disk DEV");
	if (plan && settings_only)
		return cmd_usage_error(self, "--dry-run plans a whole reimage, not --settings-only");
	if ((r = ctx_store(ctx, plan ? STORE_READ : STORE_WRITE, &s)))
		return r;
	if (settings_only)
		return settings(ctx, s, disk, o.confirm);
	if ((r = ctx_resolve(s, IMAGE_COMPONENT, &gen)))
		return r;
	o.generation = gen.seq;
	o.grow = ctx->cfg->disk.grow_last_partition;
	if (plan)
		return dry_run(ctx, s, disk, &o);
	struct progress_hook h = ctx_progress(ctx, &pb, stderr, stdout);
	o.progress = h.fn;
	o.progress_arg = h.arg;
	r = image_reimage(ctx->cfg, s, disk, &o, &res);
	progress_finish(&pb);
	if (r < 0) {
		cmd_error(r, "reimage %s", disk);
		free(res.update_why);
		free(res.files.why);
		return EXIT_FAIL;
	}
	if (res.skipped)
		log_warn("os g%06llu failed verification; wrote the newest one that verifies, g%06llu",
			 (unsigned long long)res.skipped, (unsigned long long)res.seq);
	if (res.update_skipped)
		log_warn("passed over %llu damaged os update %s (%s); %s", (unsigned long long)res.update_skipped,
			 noun(res.update_skipped, "generation", "generations"), res.update_why,
			 res.update ? "applied the newest one that verifies" : "wrote the bare seal");
	if (res.files.why)
		log_warn("passed over %u damaged file component %s: restored %s", res.files.passed_over,
			 noun(res.files.passed_over, "generation", "generations"), res.files.why);
	print_result(ctx, disk, &res);
	free(res.update_why);
	free(res.files.why);
	return EXIT_OK;
}
