#include <string.h>
#include <time.h>

#include "cmd.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/progress.h"

int ctx_config(struct ctx *ctx)
{
	_cleanup_free_ char *errors = NULL;
	int r;

	if (ctx->cfg)
		return 0;
	r = config_load(ctx->config_path, &ctx->cfg, &errors);
	if (r < 0)
		return abur_error(EXIT_USAGE, "config", "bad configuration:\n%s", errors ? errors : "");
	if (ctx->store) {
		free(ctx->cfg->flash.store);
		ctx->cfg->flash.store = xstrdup(ctx->store);
	}
	return 0;
}

int ctx_store(struct ctx *ctx, enum store_mode mode, struct store **s)
{
	int r = ctx_config(ctx);

	if (r)
		return r;
	r = store_open(ctx->cfg, ctx->store, mode, s);
	return r < 0 ? cmd_error(r, "cannot open the flash store") : 0;
}

void warn_foreign(struct store *s, const char *cmd)
{
	char **v;
	size_t n;

	if (store_foreign(s, &v, &n) < 0)
		return; /* the command reports what it read; this is a courtesy */
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "abur %s: foreign entry %s/%s: not ABUR's, ignored (never followed or removed)\n", cmd,
			store_root(s), v[i]);
		free(v[i]);
	}
	free(v);
}

const char *cli_escape(const char *v, char *buf, size_t n)
{
	size_t o = 0;

	for (; *v && o + 5 < n; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
	}
	if (*v && o + 4 < n)
		o += (size_t)snprintf(buf + o, n - o, "...");
	buf[o] = '\0';
	return buf;
}

const struct abur_component *ctx_component(struct ctx *ctx, const char *name, const struct cmd *self)
{
	const struct abur_component *c = config_component(ctx->cfg, name);
	char esc[160];

	if (!c)
		cmd_usage_error(self, "no component '%s' in %s", cli_escape(name, esc, sizeof(esc)), ctx->cfg->path);
	return c;
}

bool ctx_stored_component(struct ctx *ctx, struct store *s, const char *name, const struct cmd *self)
{
	char **names;
	size_t n;
	bool found = false;

	if (store_components(s, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			found |= streq(names[i], name);
			free(names[i]);
		}
		free(names);
	}
	return found || ctx_component(ctx, name, self) != NULL;
}

bool ctx_named(char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (streq(names[i], name))
			return true;
	return n == 0;
}

int ctx_check_value(const struct cmd *self, const char *what, const char *v, size_t max)
{
	size_t n = strlen(v);
	char esc[160];

	if (n == 0 || n > max)
		return cmd_usage_error(self, "%s '%s': must be 1 to %zu characters", what,
				       cli_escape(v, esc, sizeof(esc)), max);
	for (const char *p = v; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || strchr("=[];#\"\\", *p))
			return cmd_usage_error(self, "%s '%s': only printable ASCII, none of = [ ] ; # \" \\", what,
					       cli_escape(v, esc, sizeof(esc)));
	if (v[0] == ' ' || v[n - 1] == ' ')
		return cmd_usage_error(self, "%s '%s': no space at either end", what, cli_escape(v, esc, sizeof(esc)));
	return 0;
}

int parse_generation(const char *s, uint64_t *seq)
{
	if (*s == 'g')
		s++;
	return parse_uint(s, 1, UINT64_MAX >> 1, seq);
}

int ctx_generation(const struct cmd *self, const char *s, struct gen_want *w)
{
	char esc[160];

	*w = (struct gen_want){0};
	if (parse_generation(s, &w->seq) == 0)
		return 0;
	w->seq = 0;
	if (store_tag_valid(s)) {
		w->tag = s;
		return 0;
	}
	return cmd_usage_error(self, "--generation '%s': expected a number from 1 to %llu, gNNNNNN, or a tag",
			       cli_escape(s, esc, sizeof(esc)), (unsigned long long)(UINT64_MAX >> 1));
}

int ctx_resolve(struct store *s, const char *comp, struct gen_want *w)
{
	int r;

	if (!w->tag)
		return 0;
	r = store_find_tag(s, comp, w->tag, &w->seq);
	return r < 0 ? cmd_error(r, "--generation %s", w->tag) : 0;
}

struct progress_hook ctx_progress(const struct ctx *ctx, struct progress *pb, FILE *text, FILE *json)
{
	enum log_level lvl = log_get_level();

	if (ctx->json) {
		progress_init(pb, json ? json : stdout, PROGRESS_JSON);
		return (struct progress_hook){json ? progress_cb : NULL, pb};
	}
	progress_init(pb, text, lvl >= LOG_LVL_DEBUG ? PROGRESS_VERBOSE : PROGRESS_TEXT);
	if (lvl <= LOG_LVL_ERROR) /* -q: errors only */
		return (struct progress_hook){NULL, pb};
	return (struct progress_hook){progress_cb, pb};
}
