/* abur daemon: runs the change-watcher in the foreground. */
#include "cmd.h"
#include "core/io.h"
#include "core/log.h"
#include "watch/daemon.h"

int cmd_daemon(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("daemon");
	struct daemon_opts opts = {.config_path = ctx->config_path, .store = ctx->store};
	int r;

	(void)argv;
	if (argc != 1)
		return cmd_usage_error(self, "no arguments expected");
	r = ctx_config(ctx);
	if (r)
		return r;
	log_setup("abur", true);
	log_set_timestamps(true);
	r = daemon_run(&ctx->cfg, &opts);
	if (r < 0) {
		log_error_errno(r, "daemon");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
