#include <time.h>

#include "cmd.h"
#include "core/log.h"
#include "core/parse.h"

int ctx_config(struct ctx *ctx)
{
	_cleanup_free_ char *errors = NULL;
	int r;

	if (ctx->cfg)
		return 0;
	r = config_load(ctx->config_path, &ctx->cfg, &errors);
	if (r < 0) {
		fprintf(stderr, "abur: bad configuration:\n%s", errors ? errors : "");
		return EXIT_USAGE;
	}
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
	if (r < 0) {
		log_error("cannot open the flash store: %s", abur_errmsg(r));
		return EXIT_FAIL;
	}
	return 0;
}

void warn_foreign(struct store *s, const char *cmd)
{
	char **v;
	size_t n;

	if (store_foreign(s, &v, &n) < 0) {
		abur_fail_clear();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "abur %s: foreign entry %s/%s: not ABUR's, ignored (never followed or removed)\n", cmd,
			store_root(s), v[i]);
		free(v[i]);
	}
	free(v);
}

const struct abur_component *ctx_component(struct ctx *ctx, const char *name, const struct cmd *self)
{
	const struct abur_component *c = config_component(ctx->cfg, name);

	if (!c)
		cmd_usage_error(self, "no component '%s' in %s", name, ctx->cfg->path);
	return c;
}

int parse_generation(const char *s, uint64_t *seq)
{
	if (*s == 'g')
		s++;
	return parse_uint(s, 1, UINT64_MAX >> 1, seq);
}
