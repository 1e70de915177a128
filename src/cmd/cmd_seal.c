/* abur seal --disk DEV: the installation snapshot of an unmounted disk. */
#include <getopt.h>

#include "cmd.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "image/image.h"

static void seal_warn(void *arg, const char *component, const char *line)
{
	(void)arg;
	log_warn("%s: %s", component, line);
}

int cmd_seal(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"disk", required_argument, NULL, 'd'}, {}};
	const struct cmd *self = cmd_find("seal");
	const char *disk = NULL;
	struct seal_result res;
	struct progress pb;
	_cleanup_(store_closep) struct store *s = NULL;
	char b1[32];
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return cmd_usage_error(self, "bad option");
		disk = optarg;
	}
	if (optind != argc || !disk)
		return cmd_usage_error(self, "need --disk DEV");
	if ((r = ctx_store(ctx, STORE_WRITE, &s)))
		return r;
	struct progress_hook h = ctx_progress(ctx, &pb, stderr, stdout);
	struct seal_opts o = {.progress = h.fn, .progress_arg = h.arg, .warn = seal_warn};

	r = image_seal(ctx->cfg, s, disk, &o, &res);
	progress_finish(&pb);
	store_closep(&s); /* synced and unmounted before the outcome is told */
	if (r < 0)
		return cmd_error(r, "seal %s", disk);
	if (ctx->json) {
		struct json j;
		cmd_json_begin(&j, self->name);
		json_str(&j, "device", disk);
		json_uint(&j, "generation", res.seq);
		json_bool(&j, "reused", res.reused);
		json_uint(&j, "used_bytes", res.used_bytes);
		json_uint(&j, "file_components", res.components);
		cmd_json_end(&j);
	} else {
		printf("sealed %s as os g%06llu (%s of partition data%s), and %u file %s\n", disk,
		       (unsigned long long)res.seq, fmt_bytes(res.used_bytes, b1, sizeof(b1)),
		       res.reused ? "; identical to the seal stored: not stored again" : "", res.components,
		       noun(res.components, "component", "components"));
	}
	return EXIT_OK;
}
