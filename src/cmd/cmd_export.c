/* abur export COMPONENT [--generation N] -o FILE: any generation as one
 * standard pax tar.zst (GNU tar extracts it). */
#include <getopt.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/json.h"
#include "core/log.h"
#include "core/progress.h"
#include "image/image.h"

/* A seal or a file component: its payload as it is; an os update: built
 * from its state and the generations it needs. */
static int export_gen(struct store *s, const struct gen_list *l, const struct generation *g, const char *out,
		      const struct progress_hook *ph, struct export_result *res)
{
	if (IS_ENABLED(CONFIG_IMAGE) && image_update_info(g, NULL))
		return image_export_update(s, l, g, out, ph, res);
	for (size_t i = 0; i < g->m.npayloads; i++) {
		const char *name = g->m.payloads[i].name;
		if (streq(name, STORE_PAYLOAD_DATA) || streq(name, STORE_PAYLOAD_DISK))
			return export_payload(s, g, name, out, ph);
	}
	return abur_fail(-ENOENT, "g%06llu holds no payload to export", (unsigned long long)g->seq);
}

static void report(const struct ctx *ctx, const char *comp, const struct generation *g, const char *out,
		   const struct export_result *res)
{
	struct json j;

	if (!ctx->json) {
		printf("exported %s g%06llu to %s", comp, (unsigned long long)g->seq, out);
		if (res->files || res->raw)
			printf(" (%llu %s, %u raw %s)", (unsigned long long)res->files,
			       noun(res->files, "file", "files"), res->raw, noun(res->raw, "area", "areas"));
		printf("\n");
		return;
	}
	cmd_json_begin(&j, "export");
	json_str(&j, "component", comp);
	json_gen(&j, NULL, g);
	json_str(&j, "file", out);
	json_uint(&j, "files", res->files);
	json_uint(&j, "raw_areas", res->raw);
	cmd_json_end(&j);
}

int cmd_export(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"generation", required_argument, NULL, 'g'}, {"output", required_argument, NULL, 'o'}, {}};
	const struct cmd *self = cmd_find("export");
	const struct abur_component *comp;
	const struct generation *g = NULL;
	struct export_result res = {0};
	const char *out = NULL;
	_cleanup_(gen_list_free) struct gen_list l = {0};
	struct gen_want want = {0};
	_cleanup_(store_closep) struct store *s = NULL;
	struct progress pb;
	struct progress_hook ph;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'g' && (r = ctx_generation(self, optarg, &want)))
			return r;
		else if (c == 'o')
			out = optarg;
		else if (c != 'g')
			return cmd_usage_error(self, "bad option");
	}
	if (optind + 1 != argc || !out)
		return cmd_usage_error(self, "need COMPONENT and -o FILE");
	if ((r = open_component(ctx, self, argv[optind], &comp, &s)))
		return r;
	if ((r = ctx_resolve(s, comp->name, &want)))
		return r;
	r = pick_generation(s, comp->name, want.seq, &l, &g);
	ph = ctx_progress(ctx, &pb, stderr, NULL); /* --json: one document */
	if (r == 0)
		r = export_gen(s, &l, g, out, &ph, &res);
	progress_finish(&pb);
	if (r == 0)
		report(ctx, comp->name, g, out, &res);
	else
		cmd_error(r, "export %s", comp->name);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
