/* abur config check | get SECTION.KEY | resolve SECTION.KEY */
#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/blk.h"
#include "core/json.h"
#include "core/log.h"
#include "image/image.h"

/* The device a key names now: [flash] store and boot (LABEL=, UUID=, a
 * device; a directory store is itself), [disk] system as the agent finds it. */
static int resolve(const struct abur_config *cfg, const char *key, char **dev)
{
	const char *spec = streq(key, "flash.store") ? cfg->flash.store : cfg->flash.boot;

	if (streq(key, "disk.system"))
		return IS_ENABLED(CONFIG_IMAGE)
			   ? image_resolve_system(cfg->disk.system, dev)
			   : abur_fail(-EOPNOTSUPP, "system disk imaging (CONFIG_IMAGE) is not built in");
	if (!blk_is_device_spec(spec)) {
		*dev = xstrdup(spec);
		return 0;
	}
	return blk_resolve(spec, dev);
}

static int get_or_resolve(struct ctx *ctx, const char *what, const char *key)
{
	_cleanup_free_ char *value = NULL;
	bool get = streq(what, "get");
	int r;

	if (!get && !streq(key, "flash.store") && !streq(key, "flash.boot") && !streq(key, "disk.system"))
		return cmd_usage_error(cmd_find("config"),
				       "cannot resolve '%s' (expected flash.store, flash.boot or "
				       "disk.system)",
				       key);
	r = ctx_config(ctx);
	if (r)
		return r;
	r = get ? config_get(ctx->cfg, key, &value) : resolve(ctx->cfg, key, &value);
	if (r < 0) {
		int rc = cmd_error(r, "config %s %s", what, key);
		return get ? EXIT_USAGE : rc;
	}
	if (ctx->json) {
		struct json j;
		cmd_json_begin(&j, "config");
		json_str(&j, "key", key);
		json_str(&j, "value", value);
		cmd_json_end(&j);
	} else {
		printf("%s\n", value ? value : "");
	}
	return EXIT_OK;
}

int cmd_config(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("config");
	int r;

	if (argc == 3 && (streq(argv[1], "get") || streq(argv[1], "resolve")))
		return get_or_resolve(ctx, argv[1], argv[2]);
	if (argc != 2 || !streq(argv[1], "check"))
		return cmd_usage_error(self, "expected 'check', 'get SECTION.KEY' or 'resolve SECTION.KEY'");
	r = ctx_config(ctx);
	if (r)
		return r;
	if (ctx->json) {
		struct json j;
		cmd_json_begin(&j, "config");
		config_json(ctx->cfg, &j);
		cmd_json_end(&j);
	} else {
		config_print(ctx->cfg, stdout);
	}
	return EXIT_OK;
}
