/* abur.ini: config_parse() from memory; a configuration it accepts prints
 * (as INI and as JSON), and the printed INI parses back to the same. */
#include "core/config.h"
#include "core/ini.h"
#include "core/json.h"
#include "fuzz.h"

static char *print(const struct abur_config *cfg, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	FUZZ_ASSERT(f, "open_memstream");
	if (json) {
		struct json j;
		json_init(&j, f, false);
		json_obj_begin(&j, NULL);
		config_json(cfg, &j);
		json_obj_end(&j);
		json_end(&j);
	} else {
		config_print(cfg, f);
	}
	fclose(f);
	return buf;
}

static bool long_line(const char *text)
{
	for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1)
		if (nl - text > INI_LINE_MAX)
			return true;
	return false;
}

static void lookups(const struct abur_config *cfg)
{
	static const char *const paths[] = {"/", "/etc/vms", "/etc/vms/x.conf", "/opt/vms/log/a.log", "/var/x"};

	for (size_t i = 0; i < cfg->ncomps; i++) {
		const struct abur_component *c = &cfg->comps[i];
		FUZZ_ASSERT(config_component(cfg, c->name) != NULL, "component %s not found", c->name);
		for (size_t p = 0; p < ARRAY_SIZE(paths); p++)
			(void)component_excludes(c, paths[p]);
		for (size_t p = 0; p < c->npaths; p++)
			(void)component_excludes(c, c->paths[p]);
		(void)policy_name(c->policy);
		(void)comp_type_name(c->type);
	}
	(void)config_component(cfg, "no-such-component");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct abur_config *cfg = NULL, *again = NULL;
	char *errors = NULL;
	char *ini, *json, *ini2;

	if (config_parse((const char *)data, size, "abur.ini", &cfg, &errors) < 0) {
		FUZZ_ASSERT(errors && *errors, "rejected without a message");
		free(errors);
		abur_fail_clear();
		return 0;
	}
	lookups(cfg);
	ini = print(cfg, false);
	json = print(cfg, true);
	/* Not read back: a value (or list item) that starts with ';' prints as
	 * " ;...", which INI reads as a comment; a list item from a
	 * continuation line may be too long for a line with its key. */
	if (!fuzz_ini_comment(ini) && !long_line(ini)) {
		FUZZ_ASSERT(config_parse(ini, strlen(ini), "abur.ini", &again, &errors) == 0,
			    "printed configuration does not parse: %s\n%s", errors, ini);
		ini2 = print(again, false);
		FUZZ_ASSERT(streq(ini, ini2), "printed configuration changes when parsed back:\n%s\n---\n%s", ini,
			    ini2);
		free(ini2);
		config_free(again);
	}
	free(ini);
	free(json);
	config_free(cfg);
	abur_fail_clear();
	return 0;
}
