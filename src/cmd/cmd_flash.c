/* abur flash install --device DEV [--image FILE] [--yes=SERIAL] */
#include <getopt.h>

#include "agent/flash.h"
#include "cmd.h"
#include "core/json.h"
#include "core/log.h"

#define DEFAULT_IMAGE "/usr/lib/abur/flash.img"

int cmd_flash(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"device", required_argument, NULL, 'd'},
					     {"image", required_argument, NULL, 'i'},
					     {"yes", required_argument, NULL, 'y'},
					     {}};
	const struct cmd *self = cmd_find("flash");
	struct flash_install_opts o = {.image = DEFAULT_IMAGE};
	const char *dev = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dev = optarg;
		else if (c == 'i')
			o.image = optarg;
		else if (c == 'y')
			o.confirm = optarg;
		else
			return cmd_usage_error(self, "bad option");
	}
	if (optind != argc - 1 || !streq(argv[optind], "install") || !dev)
		return cmd_usage_error(self, "expected 'install --device DEV'");
	if ((r = ctx_config(ctx)))
		return r;
	r = flash_install(ctx->cfg, dev, &o);
	if (r < 0)
		return cmd_error(r, "flash install %s", dev);
	if (ctx->json) {
		struct json j;
		cmd_json_begin(&j, self->name);
		json_str(&j, "device", dev);
		json_str(&j, "image", o.image);
		cmd_json_end(&j);
	} else {
		printf("%s: ABUR flash installed (ABUR-BOOT from %s, empty ABUR-STORE)\n", dev, o.image);
	}
	return EXIT_OK;
}
