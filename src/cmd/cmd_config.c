#include <string.h>

#include "cmd.h"

int cmd_config(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("config");
	int r;

	if (argc != 2 || !streq(argv[1], "check"))
		return cmd_usage_error(self, "expected 'check'");
	r = ctx_config(ctx);
	if (r)
		return r;
	config_print(ctx->cfg, stdout, ctx->json);
	return EXIT_OK;
}
