/* abur probe [DEV...]: classify disks as flash, blank, ours or foreign. */
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/json.h"
#include "core/log.h"
#include "image/image.h"

/* The sealed disk id, when a configuration and a store are at hand; probe
 * works without them (then no disk is `ours`). */
static char *sealed_id(struct ctx *ctx, bool *have_store)
{
	_cleanup_(store_closep) struct store *s = NULL;
	char *id = NULL;

	*have_store = false;
	if (!ctx->store && access(ctx->config_path, R_OK) < 0)
		return NULL;
	if (ctx_config(ctx) || store_open(ctx->cfg, ctx->store, STORE_READ, &s) < 0)
		return NULL;
	*have_store = true;
	abur_ignore(image_sealed_info(s, &id, NULL, NULL)); /* none: no disk is ours */
	return id;
}

void disk_json(struct json *j, const char *key, const struct disk_info *d)
{
	json_obj_begin(j, key);
	json_str(j, "device", d->dev);
	json_str(j, "class", disk_class_name(d->cls));
	json_str(j, "reason", d->reason);
	json_str(j, "model", d->model);
	json_str(j, "serial", d->serial_is_name ? NULL : d->serial);
	json_str(j, "confirm", d->serial);
	json_uint(j, "size", d->size);
	json_bool(j, "removable", d->removable);
	json_str(j, "slot", d->slot);
	json_str(j, "label", d->pttype);
	json_str(j, "disk_id", d->ptuuid);
	json_str(j, "signature", d->pttype ? NULL : d->fstype);
	json_arr_begin(j, "partitions");
	for (size_t i = 0; i < d->nparts; i++) {
		const struct probe_part *p = &d->parts[i];
		json_obj_begin(j, NULL);
		json_uint(j, "number", p->num);
		json_uint(j, "start", p->start);
		json_uint(j, "size", p->size);
		json_str(j, "type", p->type);
		json_str(j, "type_name", p->type_name);
		json_str(j, "uuid", p->uuid);
		json_str(j, "name", p->name);
		json_str(j, "fs", p->fstype);
		json_str(j, "fs_uuid", p->fsuuid);
		json_str(j, "fs_label", p->fslabel);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void print_text(const struct disk_info *d)
{
	char sz[32], psz[32];

	printf("%s: %s (%s)\n", d->dev, disk_class_name(d->cls), d->reason);
	printf("  model %s, serial %s%s, %s (%llu bytes)%s\n", *d->model ? d->model : "-", d->serial,
	       d->serial_is_name ? " (no serial: device name)" : "", fmt_bytes(d->size, sz, sizeof(sz)),
	       (unsigned long long)d->size, d->removable ? ", removable" : "");
	printf("  slot %s\n", d->slot ? d->slot : "-");
	if (d->pttype)
		printf("  label %s, disk id %s\n", d->pttype, d->ptuuid ? d->ptuuid : "-");
	for (size_t i = 0; i < d->nparts; i++) {
		const struct probe_part *p = &d->parts[i];
		printf("  p%-3u %10s  type %s%s%s%s  uuid %s  name %s  fs %s%s%s\n", p->num,
		       fmt_bytes(p->size, psz, sizeof(psz)), p->type_name ? p->type_name : "", p->type_name ? " (" : "",
		       p->type ? p->type : "-", p->type_name ? ")" : "", p->uuid ? p->uuid : "-",
		       p->name ? p->name : "-", p->fstype ? p->fstype : "-", p->fslabel ? " label " : "",
		       p->fslabel ? p->fslabel : "");
	}
}

/* A disk that cannot be read is named in the listing (class "unreadable")
 * as well as on stderr, and the others are still probed: a failing server
 * is exactly when one cannot be read.  Returns EXIT_FAIL. */
static int unreadable(struct ctx *ctx, struct json *j, const char *dev, int r)
{
	_cleanup_free_ char *why = xstrdup(abur_errmsg(r));

	if (ctx->json) {
		json_obj_begin(j, NULL);
		json_str(j, "device", dev);
		json_str(j, "class", "unreadable");
		json_str(j, "reason", why);
		json_obj_end(j);
	} else {
		printf("%s: unreadable (%s)\n", dev, why);
	}
	return cmd_error(r, "probe %s", dev);
}

/* --system: the disk [disk] system names, as the boot agent finds it. */
static int resolve_system(struct ctx *ctx, char ***found, size_t *n)
{
	char *dev = NULL;
	int r = ctx_config(ctx);

	if (r)
		return r;
	r = image_resolve_system(ctx->cfg->disk.system, &dev);
	if (r < 0)
		return cmd_error(r, "probe");
	if (!ctx->json)
		printf("system disk ([disk] system = %s): %s\n", ctx->cfg->disk.system, dev);
	*found = xcalloc(1, sizeof(char *));
	(*found)[0] = dev;
	*n = 1;
	return 0;
}

int cmd_probe(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *self = cmd_find("probe");
	bool have_store, system = false;
	_cleanup_free_ char *id = NULL;
	char **devs = argv + 1;
	size_t n = (size_t)argc - 1;
	char **found = NULL;
	struct json j;
	int rc = EXIT_OK;

	if (n == 1 && streq(devs[0], "--system"))
		system = true, n = 0;
	for (size_t i = 0; i < n; i++)
		if (devs[i][0] == '-')
			return cmd_usage_error(self, "unknown option %s", devs[i]);
	id = sealed_id(ctx, &have_store);
	if (system) {
		rc = resolve_system(ctx, &found, &n);
		if (rc)
			return rc;
		devs = found;
	} else if (n == 0) {
		int r = image_list_disks(&found, &n);
		if (r < 0)
			return cmd_error(r, "probe");
		devs = found;
	}
	if (ctx->json) {
		cmd_json_begin(&j, self->name);
		json_str(&j, "sealed_disk_id", id);
		json_bool(&j, "store_found", have_store);
		json_arr_begin(&j, "disks");
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_(disk_info_freep) struct disk_info *d = NULL;
		int r = image_probe(devs[i], id, &d);
		if (r < 0)
			rc = unreadable(ctx, &j, devs[i], r);
		else if (ctx->json) {
			disk_json(&j, NULL, d);
		} else {
			print_text(d);
		}
	}
	if (ctx->json) {
		json_arr_end(&j);
		cmd_json_end(&j);
	}
	for (size_t i = 0; found && i < n; i++)
		free(found[i]);
	free(found);
	return rc;
}
