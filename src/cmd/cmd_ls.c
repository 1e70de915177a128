/* abur ls COMPONENT [--generation N] [PATH...]: the entries of a generation. */
#include <getopt.h>

#include "cmd.h"
#include "core/json.h"
#include "core/osidx.h"

static void entry_json(struct json *j, const struct osidx_ent *e)
{
	char mode[8];

	snprintf(mode, sizeof(mode), "%04o", e->mode);
	json_obj_begin(j, NULL);
	json_str(j, "path", e->path);
	json_str(j, "type", entry_type_name(e->type));
	json_str(j, "mode", mode);
	json_uint(j, "uid", e->uid);
	json_uint(j, "gid", e->gid);
	json_uint(j, "size", e->size);
	json_time(j, "mtime", e->mtime_ns / 1000000000);
	json_str(j, "target", e->target);
	json_str(j, "sha256", e->type == OSIDX_FILE && *e->sha ? e->sha : NULL);
	json_obj_end(j);
}

/* "-rw-r--r--  0/0  1.2 KiB  2026-12-03 11:59:58  etc/vms/a.conf" */
static void entry_text(const struct osidx_ent *e)
{
	char mode[11], owner[24], size[32] = "-", when[32];

	snprintf(owner, sizeof(owner), "%u/%u", e->uid, e->gid);
	if (e->type == OSIDX_FILE)
		fmt_bytes(e->size, size, sizeof(size));
	printf("%s  %-9s %10s  %s  %s", entry_mode(e, mode), owner, size,
	       fmt_time(e->mtime_ns / 1000000000, when, sizeof(when)), e->path);
	if (e->type == OSIDX_SYMLINK)
		printf(" -> %s", e->target);
	else if (e->type == OSIDX_HARDLINK)
		printf(" link to %s", e->target);
	printf("\n");
}

static int print_entries(struct ctx *ctx, const char *comp, const struct generation *g, const struct osidx *x,
			 struct path_filter *f)
{
	char head[160];
	struct json j;
	int r;

	for (size_t i = 0; i < x->n; i++)
		filter_match(f, x->e[i].path);
	if ((r = entries_missed(f, comp)))
		return r;
	if (ctx->json) {
		cmd_json_begin(&j, "ls");
		json_str(&j, "component", comp);
		json_gen(&j, NULL, g);
		json_arr_begin(&j, "entries");
	} else {
		printf("%s\n", entry_line_gen(comp, g, head, sizeof(head)));
	}
	for (size_t i = 0; i < x->n; i++)
		if (filter_match(f, x->e[i].path)) {
			if (ctx->json)
				entry_json(&j, &x->e[i]);
			else
				entry_text(&x->e[i]);
		}
	if (ctx->json) {
		json_arr_end(&j);
		cmd_json_end(&j);
	}
	return 0;
}

int cmd_ls(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"generation", required_argument, NULL, 'g'}, {}};
	const struct cmd *self = cmd_find("ls");
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct abur_component *comp;
	const struct generation *g = NULL;
	struct path_filter f = {0};
	struct osidx x = {0};
	struct gen_want want = {0};
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c != 'g')
			return cmd_usage_error(self, "bad option");
		else if ((r = ctx_generation(self, optarg, &want)))
			return r;
	if (optind >= argc)
		return cmd_usage_error(self, "need COMPONENT");
	if ((r = open_component(ctx, self, argv[optind], &comp, &s)))
		return r;
	if ((r = ctx_resolve(s, comp->name, &want))) {
		store_close(s);
		return r;
	}
	r = pick_generation(s, comp->name, want.seq, &l, &g);
	if (r == 0)
		r = entries_load(s, comp, &l, g, &x);
	if (r == 0) {
		filter_init(&f, argv + optind + 1, (size_t)(argc - optind - 1));
		r = print_entries(ctx, comp->name, g, &x, &f);
		filter_free(&f);
	}
	osidx_free(&x);
	store_close(s);
	return r < 0 ? cmd_error(r, "ls %s", comp->name) : EXIT_OK;
}
