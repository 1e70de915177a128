#include "cmd.h"

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
