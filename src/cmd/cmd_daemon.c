/* abur daemon: runs the change-watcher in the foreground. */
#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/io.h"
#include "core/log.h"
#include "image/image.h"
#include "watch/daemon.h"

/* The daemon's nightly capture of the os image (daemon_disk_fn). */
static int capture_os(const struct abur_config *cfg, struct store *s, const struct abur_component *c,
		      const char *trigger, struct backup_result *res)
{
	struct capture_result cr;
	int r = image_capture(cfg, s, "/", trigger, NULL, NULL, &cr);

	(void)c;
	memset(res, 0, sizeof(*res));
	res->seq = cr.seq;
	res->unchanged = cr.unchanged;
	res->payload_bytes = cr.payload_bytes;
	res->files = cr.added + cr.changed + cr.deleted + cr.metadata;
	if (r == -EAGAIN)
		res->busy = xstrdup(abur_errmsg(r));
	return r;
}

int cmd_daemon(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("daemon");
	struct daemon_opts opts = {.config_path = ctx->config_path,
				   .store = ctx->store,
				   .disk_backup = IS_ENABLED(CONFIG_IMAGE) ? capture_os : NULL};
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
	return r < 0 ? cmd_error(r, "daemon") : EXIT_OK;
}
