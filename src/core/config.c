#include "config.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

#include "abur/kconfig.h"
#include "fields.h"
#include "ini.h"
#include "json.h"
#include "parse.h"

static const char *const policy_names[] = {"nightly", "change", "manual"};

/* STR: not empty; PATH: absolute, not empty; OPT_PATH: absolute or empty (none). */
#define STR .type = FT_STR, .flags = FF_NONEMPTY
#define PATH .type = FT_STR, .flags = FF_NONEMPTY | FF_PATH
#define OPT_PATH .type = FT_STR, .flags = FF_PATH
#define NUM(t) .type = t
#define G(name, type, field, min, max)                                                                                 \
	{                                                                                                              \
		.key = name, type, .off = offsetof(struct abur_config, field), .lo = min, .hi = max                    \
	}
#define C(name, type, field, min, max)                                                                                 \
	{                                                                                                              \
		.key = name, type, .off = offsetof(struct abur_component, field), .lo = min, .hi = max                 \
	}
#define C_ENUM(name, field, values)                                                                                    \
	{                                                                                                              \
		name, FT_ENUM, offsetof(struct abur_component, field), .names = values, .nnames = ARRAY_SIZE(values)   \
	}
#define C_LIST(name, field)                                                                                            \
	{                                                                                                              \
		name, FT_LIST, offsetof(struct abur_component, field),                                                 \
		    .noff = offsetof(struct abur_component, n##field)                                                  \
	}

static const struct field flash_keys[] = {
    G("store", STR, flash.store, 0, 0),
    G("boot", STR, flash.boot, 0, 0),
    G("mount", PATH, flash.mount, 0, 0),
};
static const struct field disk_keys[] = {
    G("system", STR, disk.system, 0, 0),
    G("grow_last_partition", NUM(FT_BOOL), disk.grow_last_partition, 0, 0),
    G("raw_encrypted", NUM(FT_BOOL), disk.raw_encrypted, 0, 0),
};
static const struct field schedule_keys[] = {
    G("nightly", NUM(FT_HHMM), schedule.nightly, 0, 0),
    G("defer_if_changed_within", NUM(FT_DURATION), schedule.defer_within, 0, 86399),
    G("max_deferrals", NUM(FT_UINT), schedule.max_deferrals, 0, 365),
    G("catch_up_after", NUM(FT_DURATION), schedule.catch_up_after, 0, 86400),
};
static const struct field daemon_keys[] = {
    G("state_dir", PATH, daemon.state_dir, 0, 0),
    G("event_log", PATH, daemon.event_log, 0, 0),
    G("event_log_max", NUM(FT_SIZE), daemon.event_log_max, 4096, 1ULL << 30),
    G("metrics", OPT_PATH, daemon.metrics, 0, 0),
};
static const struct field restore_keys[] = {
    G("max_total_size", NUM(FT_SIZE), restore.max_total_size, 1 << 20, 1ULL << 50),
    G("max_entries", NUM(FT_U64), restore.max_entries, 1, 100000000),
};
static const struct field comp_keys[] = {
    C_ENUM("type", type, comp_type_names),
    C_LIST("paths", paths),
    C_LIST("exclude", excludes),
    C_LIST("busy_lock", busy_locks),
    C_LIST("changed_by", changed_by),
    C_ENUM("policy", policy, policy_names),
    C("quiet", NUM(FT_DURATION), quiet, 0, 86400),
    C("keep", NUM(FT_UINT), keep, 1, 1000),
};

#define KEYS_MAX 8 /* in one section */
#define SECTION(name, keys)                                                                                            \
	{                                                                                                              \
		name, keys, ARRAY_SIZE(keys)                                                                           \
	}
static const struct section {
	const char *name;
	const struct field *keys;
	size_t nkeys;
} sections[] = {
    SECTION("flash", flash_keys),   SECTION("disk", disk_keys),       SECTION("schedule", schedule_keys),
    SECTION("daemon", daemon_keys), SECTION("restore", restore_keys),
};
static const struct section component = SECTION("component", comp_keys);
_Static_assert(ARRAY_SIZE(flash_keys) <= KEYS_MAX && ARRAY_SIZE(disk_keys) <= KEYS_MAX &&
		   ARRAY_SIZE(schedule_keys) <= KEYS_MAX && ARRAY_SIZE(daemon_keys) <= KEYS_MAX &&
		   ARRAY_SIZE(restore_keys) <= KEYS_MAX && ARRAY_SIZE(comp_keys) <= KEYS_MAX,
	       "a section has more keys than pstate counts");

struct pstate {
	struct abur_config *cfg;
	const char *name;
	char *errors;
	size_t errlen;
	int nerrors;
	const struct section *section; /* NULL when unknown */
	bool headed;                   /* a [section] line was seen */
	struct abur_component *comp;
	int gseen[ARRAY_SIZE(sections)][KEYS_MAX]; /* line of each key's first value */
	int (*cseen)[KEYS_MAX];
};

static void perr(struct pstate *ps, int line, const char *fmt, ...) PRINTF(3, 4);
static void perr(struct pstate *ps, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	char *add;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	add = xasprintf("%s:%d: %s\n", ps->name, line, msg);
	ps->errors = xrealloc(ps->errors, ps->errlen + strlen(add) + 1);
	strcpy(ps->errors + ps->errlen, add);
	ps->errlen += strlen(add);
	ps->nerrors++;
	free(add);
}

static void syntax_err(void *user, int line, const char *what)
{
	perr(user, line, "%s", what);
}

bool config_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

static int open_component(struct pstate *ps, const char *name, int line)
{
	struct abur_config *cfg = ps->cfg;

	if (!config_valid_name(name)) {
		perr(ps, line, "bad component name '%s' (expected 1-32 of a-z, 0-9, '-', '_')", name);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->ncomps; i++) {
		if (streq(cfg->comps[i].name, name)) {
			perr(ps, line, "duplicate component '%s' (first defined at line %d)", name, cfg->comps[i].line);
			return -EINVAL;
		}
	}
	cfg->comps = xrealloc(cfg->comps, (cfg->ncomps + 1) * sizeof(*cfg->comps));
	ps->cseen = xrealloc(ps->cseen, (cfg->ncomps + 1) * sizeof(*ps->cseen));
	memset(ps->cseen[cfg->ncomps], 0, sizeof(*ps->cseen));
	ps->comp = &cfg->comps[cfg->ncomps++];
	*ps->comp = (struct abur_component){
	    .name = xstrdup(name), .policy = POLICY_NIGHTLY, .quiet = 30, .keep = 7, .line = line};
	ps->section = &component;
	return 0;
}

static int on_section(struct pstate *ps, const char *sec, int line)
{
	ps->section = NULL;
	ps->comp = NULL;
	ps->headed = true;
	if (startswith(sec, "component")) {
		const char *rest = sec + strlen("component");
		_cleanup_free_ char *name = xstrdup(rest);
		if (*rest && !isspace((unsigned char)*rest))
			goto unknown;
		if (!*strstrip(name)) {
			perr(ps, line, "[component] needs a name: [component NAME]");
			return -EINVAL;
		}
		return open_component(ps, strstrip(name), line);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		if (streq(sec, sections[i].name)) {
			ps->section = &sections[i];
			return 0;
		}
	}
unknown:
	perr(ps, line,
	     "unknown section [%s] (expected [flash], [disk], [schedule], [daemon], [restore] or [component NAME])",
	     sec);
	return -EINVAL;
}

static int on_key(struct pstate *ps, const char *key, const char *value, int line)
{
	const struct field *k;
	int *seen, r;

	if (!ps->section && !ps->headed) {
		perr(ps, line, "'%s' before any [section]", key);
		return -EINVAL;
	}
	if (!ps->section)
		return 0; /* the section header was already reported */
	k = field_find(ps->section->keys, ps->section->nkeys, key);
	if (!k) {
		perr(ps, line, "unknown key '%s' in [%s%s%s]", key, ps->section->name, ps->comp ? " " : "",
		     ps->comp ? ps->comp->name : "");
		return -EINVAL;
	}
	seen = ps->comp ? &ps->cseen[ps->comp - ps->cfg->comps][k - comp_keys]
			: &ps->gseen[ps->section - sections][k - ps->section->keys];
	if (*seen && k->type != FT_LIST) {
		perr(ps, line, "duplicate key '%s' in [%s] (first at line %d)", key, ps->section->name, *seen);
		return -EINVAL;
	}
	*seen = line;
	r = field_parse(k, ps->comp ? (void *)ps->comp : (void *)ps->cfg, value);
	if (r < 0)
		perr(ps, line, "%s", abur_errmsg(r));
	return r;
}

static int on_line(void *user, const char *section, const char *key, const char *value, int line)
{
	struct pstate *ps = user;

	if (!key)
		return on_section(ps, section, line);
	return on_key(ps, key, value, line);
}

/* What an os update capture leaves out unless the board says otherwise:
 * volatile data that a restored server recreates. */
static const char *const os_excludes[] = {"/tmp",     "/var/tmp",    "/var/cache/apt/archives",
					  "/var/log", "/lost+found", "/var/lib/abur"};

/* Debian's package manager: apt and dpkg hold these while they work, and
 * change these when they are done. */
static const char *const os_busy_locks[] = {"/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"};
static const char *const os_changed_by[] = {"/var/lib/dpkg/status", "/boot"};

static void set_list(char ***list, size_t *n, const char *const *v, size_t nv)
{
	*list = xcalloc(nv, sizeof(char *));
	for (size_t i = 0; i < nv; i++)
		(*list)[(*n)++] = xstrdup(v[i]);
}

/* What a disk component (os) takes unless the board says otherwise. */
static void set_disk_defaults(struct abur_component *c)
{
	if (!c->nexcludes)
		set_list(&c->excludes, &c->nexcludes, os_excludes, ARRAY_SIZE(os_excludes));
	if (!c->nbusy_locks)
		set_list(&c->busy_locks, &c->nbusy_locks, os_busy_locks, ARRAY_SIZE(os_busy_locks));
	if (!c->nchanged_by)
		set_list(&c->changed_by, &c->nchanged_by, os_changed_by, ARRAY_SIZE(os_changed_by));
}

static void absolute_list(struct pstate *ps, const struct abur_component *c, const char *key, char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (l[i][0] != '/')
			perr(ps, c->line, "component '%s': %s path '%s' must be absolute", c->name, key, l[i]);
}

static void validate_component(struct pstate *ps, struct abur_component *c, int *ndisk)
{
	absolute_list(ps, c, "busy_lock", c->busy_locks, c->nbusy_locks);
	absolute_list(ps, c, "changed_by", c->changed_by, c->nchanged_by);
	if (component_is(c, CT_DISK_IMAGE)) {
		if (c->npaths)
			perr(ps, c->line, "component '%s' is type = disk and takes no 'paths'", c->name);
		if (++*ndisk > 1)
			perr(ps, c->line, "component '%s': only one component may be type = disk", c->name);
		if (c->policy == POLICY_CHANGE)
			perr(ps, c->line,
			     "component '%s': a disk image is sealed by 'abur seal' and its updates are captured "
			     "nightly; set policy = nightly or manual",
			     c->name);
		set_disk_defaults(c);
		return;
	}
	if (!c->npaths)
		perr(ps, c->line, "component '%s' has no 'paths' (expected the absolute paths to back up)", c->name);
	for (size_t i = 0; i < c->npaths; i++)
		if (c->paths[i][0] != '/' || strstr(c->paths[i], "/../") || strstr(c->paths[i], "/./"))
			perr(ps, c->line, "component '%s': path '%s' must be absolute and normalised", c->name,
			     c->paths[i]);
}

static void set_defaults(struct abur_config *cfg)
{
	cfg->flash.store = xstrdup("LABEL=ABUR-STORE");
	cfg->flash.boot = xstrdup("LABEL=ABUR-BOOT");
	cfg->flash.mount = xstrdup(CONFIG_DEFAULT_STORE_MOUNT);
	cfg->disk.system = xstrdup("auto");
	cfg->schedule.defer_within = 3600;
	cfg->schedule.max_deferrals = 3;
	cfg->schedule.catch_up_after = 120;
	cfg->daemon.state_dir = xstrdup(CONFIG_DEFAULT_STATE_DIR);
	cfg->daemon.event_log = xstrdup("/var/log/abur/events.jsonl");
	cfg->daemon.event_log_max = 1 << 20;
	cfg->restore.max_total_size = 16ULL << 30;
	cfg->restore.max_entries = 200000;
}

int config_parse(const char *text, size_t len, const char *name, struct abur_config **out, char **errors)
{
	struct pstate ps = {.name = name};
	int ndisk = 0;
	int r;

	*out = NULL;
	*errors = NULL;
	ps.cfg = xcalloc(1, sizeof(*ps.cfg));
	ps.cfg->path = xstrdup(name);
	set_defaults(ps.cfg);
	r = ini_walk(text, len, on_line, syntax_err, &ps);
	for (size_t i = 0; i < ps.cfg->ncomps; i++)
		validate_component(&ps, &ps.cfg->comps[i], &ndisk);
	free(ps.cseen);
	if (r < 0 || ps.nerrors) {
		config_free(ps.cfg);
		*errors = ps.errors ? ps.errors : xasprintf("%s: invalid configuration\n", name);
		return -EINVAL;
	}
	*out = ps.cfg;
	return 0;
}

int config_load(const char *path, struct abur_config **out, char **errors)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	*out = NULL;
	*errors = NULL;
	r = read_file(path, 1 << 20, &text, &len);
	if (r < 0) {
		*errors = xasprintf("%s\n", abur_errmsg(r));
		return r;
	}
	return config_parse(text, len, path, out, errors);
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void config_free(struct abur_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->ncomps; i++) {
		free(cfg->comps[i].name);
		free_list(cfg->comps[i].paths, cfg->comps[i].npaths);
		free_list(cfg->comps[i].excludes, cfg->comps[i].nexcludes);
		free_list(cfg->comps[i].busy_locks, cfg->comps[i].nbusy_locks);
		free_list(cfg->comps[i].changed_by, cfg->comps[i].nchanged_by);
	}
	free(cfg->comps);
	free(cfg->path);
	free(cfg->flash.store);
	free(cfg->flash.boot);
	free(cfg->flash.mount);
	free(cfg->disk.system);
	free(cfg->daemon.state_dir);
	free(cfg->daemon.event_log);
	free(cfg->daemon.metrics);
	free(cfg);
}

const struct abur_component *config_component(const struct abur_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ncomps; i++)
		if (streq(cfg->comps[i].name, name))
			return &cfg->comps[i];
	return NULL;
}

const char *policy_name(enum comp_policy p)
{
	return policy_names[p];
}

bool component_excludes(const struct abur_component *c, const char *path)
{
	for (size_t i = 0; i < c->nexcludes; i++) {
		const char *x = c->excludes[i];
		size_t n = strlen(x);
		if (fnmatch(x, path, FNM_PATHNAME) == 0)
			return true;
		if (strchr(x, '/') == NULL) {
			const char *base = strrchr(path, '/');
			if (fnmatch(x, base ? base + 1 : path, 0) == 0)
				return true;
		}
		if (strncmp(path, x, n) == 0 && path[n] == '/')
			return true;
	}
	return false;
}

static void print_ini(const struct abur_config *c, FILE *f)
{
	fprintf(f, "; effective configuration from %s\n", c->path);
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		fprintf(f, "%s[%s]\n", i ? "\n" : "", sections[i].name);
		field_write(f, sections[i].keys, sections[i].nkeys, c, " = ");
	}
	for (size_t i = 0; i < c->ncomps; i++) {
		const struct abur_component *k = &c->comps[i];
		fprintf(f, "\n[component %s]\n", k->name);
		for (size_t n = 0; n < ARRAY_SIZE(comp_keys); n++)
			if (k->policy == POLICY_CHANGE || !streq(comp_keys[n].key, "quiet"))
				field_write(f, &comp_keys[n], 1, k, " = ");
	}
}

int config_get(const struct abur_config *cfg, const char *name, char **value)
{
	const char *dot = strchr(name, '.');
	const struct field *k = NULL;
	size_t i;

	*value = NULL;
	for (i = 0; dot && i < ARRAY_SIZE(sections); i++)
		if (strlen(sections[i].name) == (size_t)(dot - name) && !strncmp(name, sections[i].name, dot - name))
			break;
	if (dot && i < ARRAY_SIZE(sections))
		k = field_find(sections[i].keys, sections[i].nkeys, dot + 1);
	if (!k)
		return abur_fail(-ENOENT,
				 "no key '%s' (expected SECTION.KEY of [flash], [disk], [schedule], [daemon] "
				 "or [restore], e.g. flash.store)",
				 name);
	*value = field_format(k, cfg);
	return 0;
}

static void json_list(struct json *j, const char *key, char **l, size_t n)
{
	json_arr_begin(j, key);
	for (size_t i = 0; i < n; i++)
		json_str(j, NULL, l[i]);
	json_arr_end(j);
}

void config_json(const struct abur_config *c, struct json *j)
{
	char hhmm[8];

	json_str(j, "file", c->path);
	json_obj_begin(j, "flash");
	json_str(j, "store", c->flash.store);
	json_str(j, "boot", c->flash.boot);
	json_str(j, "mount", c->flash.mount);
	json_obj_end(j);
	json_obj_begin(j, "disk");
	json_str(j, "system", c->disk.system);
	json_bool(j, "grow_last_partition", c->disk.grow_last_partition);
	json_bool(j, "raw_encrypted", c->disk.raw_encrypted);
	json_obj_end(j);
	json_obj_begin(j, "schedule");
	snprintf(hhmm, sizeof(hhmm), "%02u:%02u", c->schedule.nightly / 60 % 24, c->schedule.nightly % 60);
	json_str(j, "nightly", hhmm);
	json_uint(j, "defer_if_changed_within_s", c->schedule.defer_within);
	json_uint(j, "max_deferrals", c->schedule.max_deferrals);
	json_uint(j, "catch_up_after_s", c->schedule.catch_up_after);
	json_obj_end(j);
	json_obj_begin(j, "daemon");
	json_str(j, "state_dir", c->daemon.state_dir);
	json_str(j, "event_log", c->daemon.event_log);
	json_uint(j, "event_log_max", c->daemon.event_log_max);
	json_str(j, "metrics", c->daemon.metrics);
	json_obj_end(j);
	json_obj_begin(j, "restore");
	json_uint(j, "max_total_size", c->restore.max_total_size);
	json_uint(j, "max_entries", c->restore.max_entries);
	json_obj_end(j);
	json_arr_begin(j, "components");
	for (size_t i = 0; i < c->ncomps; i++) {
		const struct abur_component *k = &c->comps[i];
		json_obj_begin(j, NULL);
		json_str(j, "name", k->name);
		json_str(j, "type", comp_type_name(k->type));
		json_list(j, "paths", k->paths, k->npaths);
		json_list(j, "exclude", k->excludes, k->nexcludes);
		json_list(j, "busy_lock", k->busy_locks, k->nbusy_locks);
		json_list(j, "changed_by", k->changed_by, k->nchanged_by);
		json_str(j, "policy", policy_name(k->policy));
		json_uint(j, "quiet_s", k->quiet);
		json_uint(j, "keep", k->keep);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void config_print(const struct abur_config *cfg, FILE *f)
{
	print_ini(cfg, f);
}
