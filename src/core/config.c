#include "config.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

#include "abur/kconfig.h"
#include "ini.h"
#include "json.h"
#include "parse.h"

/* K_OPT_PATH: a path or empty (none); K_STR and K_PATH must not be empty. */
enum ktype { K_STR, K_PATH, K_OPT_PATH, K_DURATION, K_HHMM, K_SIZE, K_BOOL, K_UINT, K_U64, K_LIST, K_POLICY, K_CTYPE };

struct key {
	const char *section; /* "component" for [component NAME] */
	const char *name;
	enum ktype type;
	size_t off; /* into struct abur_config, or struct abur_component */
	uint64_t lo, hi;
};

#define G(sec, name, type, field, lo, hi)                                                                              \
	{                                                                                                              \
		sec, name, type, offsetof(struct abur_config, field), lo, hi                                           \
	}
#define C(name, type, field, lo, hi)                                                                                   \
	{                                                                                                              \
		"component", name, type, offsetof(struct abur_component, field), lo, hi                                \
	}

static const struct key keys[] = {
    G("flash", "store", K_STR, flash.store, 0, 0),
    G("flash", "boot", K_STR, flash.boot, 0, 0),
    G("flash", "mount", K_PATH, flash.mount, 0, 0),
    G("disk", "system", K_STR, disk.system, 0, 0),
    G("disk", "grow_last_partition", K_BOOL, disk.grow_last_partition, 0, 0),
    G("schedule", "nightly", K_HHMM, schedule.nightly, 0, 0),
    G("schedule", "defer_if_changed_within", K_DURATION, schedule.defer_within, 0, 86399),
    G("schedule", "max_deferrals", K_UINT, schedule.max_deferrals, 0, 365),
    G("schedule", "catch_up_after", K_DURATION, schedule.catch_up_after, 0, 86400),
    G("daemon", "state_dir", K_PATH, daemon.state_dir, 0, 0),
    G("daemon", "event_log", K_PATH, daemon.event_log, 0, 0),
    G("daemon", "event_log_max", K_SIZE, daemon.event_log_max, 4096, 1ULL << 30),
    G("daemon", "metrics", K_OPT_PATH, daemon.metrics, 0, 0),
    G("restore", "max_total_size", K_SIZE, restore.max_total_size, 1 << 20, 1ULL << 50),
    G("restore", "max_entries", K_U64, restore.max_entries, 1, 100000000),
    C("type", K_CTYPE, type, 0, 0),
    C("paths", K_LIST, paths, 0, 0),
    C("exclude", K_LIST, excludes, 0, 0),
    C("busy_lock", K_LIST, busy_locks, 0, 0),
    C("changed_by", K_LIST, changed_by, 0, 0),
    C("policy", K_POLICY, policy, 0, 0),
    C("quiet", K_DURATION, quiet, 0, 86400),
    C("keep", K_UINT, keep, 1, 1000),
};

static const char *const sections[] = {"flash", "disk", "schedule", "daemon", "restore"};

struct pstate {
	struct abur_config *cfg;
	const char *name;
	char *errors;
	size_t errlen;
	int nerrors;
	const char *section; /* canonical name, or NULL when unknown */
	struct abur_component *comp;
	int gseen[ARRAY_SIZE(keys)];
	int (*cseen)[ARRAY_SIZE(keys)];
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
	ps->section = "component";
	return 0;
}

static int on_section(struct pstate *ps, const char *sec, int line)
{
	ps->section = NULL;
	ps->comp = NULL;
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
		if (streq(sec, sections[i])) {
			ps->section = sections[i];
			return 0;
		}
	}
unknown:
	perr(ps, line,
	     "unknown section [%s] (expected [flash], [disk], [schedule], [daemon], [restore] or [component NAME])",
	     sec);
	return -EINVAL;
}

#define LIST_SEP " \t\n\v\f\r,"

static void split_list(const char *value, char ***list, size_t *n)
{
	_cleanup_free_ char *copy = xstrdup(value);
	char *save = NULL;

	/* Every isspace() separates, as the INI reader strips them all. */
	for (char *t = strtok_r(copy, LIST_SEP, &save); t; t = strtok_r(NULL, LIST_SEP, &save)) {
		*list = xrealloc(*list, (*n + 1) * sizeof(**list));
		(*list)[(*n)++] = xstrdup(t);
	}
}

static int set_enum(const char *value, const char *const *names, size_t n, int *out)
{
	for (size_t i = 0; i < n; i++) {
		if (streq(value, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const policy_names[] = {"nightly", "change", "manual"};

/* Converts value into the field at base + k->off; on error records it. */
static int set_value(struct pstate *ps, const struct key *k, void *base, const char *value, int line)
{
	void *f = (char *)base + k->off;
	uint64_t v;
	int r = 0, e;
	bool b;

	switch (k->type) {
	case K_OPT_PATH:
	case K_PATH:
		if (*value && value[0] != '/') {
			perr(ps, line, "%s = %s: expected an absolute path", k->name, value);
			return -EINVAL;
		}
		/* fall through */
	case K_STR:
		/* Only an optional key may be emptied: the others are used unchecked. */
		if (!*value && k->type != K_OPT_PATH) {
			perr(ps, line, "%s is empty: expected a value", k->name);
			return -EINVAL;
		}
		free(*(char **)f);
		*(char **)f = *value ? xstrdup(value) : NULL;
		return 0;
	case K_DURATION:
		r = parse_duration(value, &v);
		if (r == 0 && (v < k->lo || v > k->hi))
			r = -ERANGE;
		if (r == -EINVAL)
			perr(ps, line, "%s = %s: bad duration (expected a number with s, m, h or d, e.g. 30s, 60m, 1h)",
			     k->name, value);
		else if (r < 0)
			perr(ps, line, "%s = %s: out of range (%llus..%llus)", k->name, value,
			     (unsigned long long)k->lo, (unsigned long long)k->hi);
		else
			*(uint64_t *)f = v;
		return r;
	case K_HHMM:
		r = parse_hhmm(value, (unsigned *)f);
		if (r < 0)
			perr(ps, line, "%s = %s: bad time (expected HH:MM, 00:00 to 23:59)", k->name, value);
		return r;
	case K_SIZE:
		r = parse_size(value, &v);
		if (r == 0 && (v < k->lo || v > k->hi))
			r = -ERANGE;
		if (r == -EINVAL)
			perr(ps, line, "%s = %s: bad size (expected a number with K, M, G or T, e.g. 64M)", k->name,
			     value);
		else if (r < 0)
			perr(ps, line, "%s = %s: out of range (%llu..%llu bytes)", k->name, value,
			     (unsigned long long)k->lo, (unsigned long long)k->hi);
		else
			*(uint64_t *)f = v;
		return r;
	case K_BOOL:
		r = parse_bool(value, &b);
		if (r < 0)
			perr(ps, line, "%s = %s: expected yes or no", k->name, value);
		else
			*(bool *)f = b;
		return r;
	case K_UINT:
	case K_U64:
		r = parse_uint(value, k->lo, k->hi, &v);
		if (r == -EINVAL)
			perr(ps, line, "%s = %s: expected a whole number", k->name, value);
		else if (r < 0)
			perr(ps, line, "%s = %s: out of range (%llu..%llu)", k->name, value, (unsigned long long)k->lo,
			     (unsigned long long)k->hi);
		else if (k->type == K_U64)
			*(uint64_t *)f = v;
		else
			*(unsigned *)f = (unsigned)v;
		return r;
	case K_LIST:
		split_list(value, (char ***)f, (size_t *)((char *)f + sizeof(char **)));
		return 0;
	case K_POLICY:
	case K_CTYPE:
		r = k->type == K_POLICY ? set_enum(value, policy_names, ARRAY_SIZE(policy_names), &e)
					: comp_type_parse(value, (enum comp_type *)&e);
		if (r < 0)
			perr(ps, line, "%s = %s: expected %s", k->name, value,
			     k->type == K_POLICY ? "nightly, change or manual" : "files or disk");
		else
			*(int *)f = e;
		return r;
	}
	return 0;
}

static int on_key(struct pstate *ps, const char *key, const char *value, int line)
{
	int *seen;

	if (!ps->section)
		return 0; /* the section header was already reported */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		if (!streq(k->section, ps->section) || !streq(k->name, key))
			continue;
		seen = ps->comp ? &ps->cseen[ps->comp - ps->cfg->comps][i] : &ps->gseen[i];
		if (*seen && k->type != K_LIST) {
			perr(ps, line, "duplicate key '%s' in [%s] (first at line %d)", key,
			     ps->comp ? "component" : ps->section, *seen);
			return -EINVAL;
		}
		*seen = line;
		return set_value(ps, k, ps->comp ? (void *)ps->comp : (void *)ps->cfg, value, line);
	}
	perr(ps, line, "unknown key '%s' in [%s%s%s]", key, ps->section, ps->comp ? " " : "",
	     ps->comp ? ps->comp->name : "");
	return -EINVAL;
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

/* A list longer than a line can hold goes on more "key =" lines, so that
 * the printed configuration reads back (the lines add up). */
static void print_list(FILE *f, const char *key, char **l, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		if (col && col + 1 + strlen(l[i]) > INI_LINE_MAX) {
			fputc('\n', f);
			col = 0;
		}
		if (!col)
			col = (size_t)fprintf(f, "%s =", key);
		col += (size_t)fprintf(f, " %s", l[i]);
	}
	if (col)
		fputc('\n', f);
}

static void print_ini(const struct abur_config *c, FILE *f)
{
	char d1[32], d2[32], s1[32];

	fprintf(f, "; effective configuration from %s\n", c->path);
	fprintf(f, "[flash]\nstore = %s\nboot = %s\nmount = %s\n\n", c->flash.store, c->flash.boot, c->flash.mount);
	fprintf(f, "[disk]\nsystem = %s\ngrow_last_partition = %s\n\n", c->disk.system,
		c->disk.grow_last_partition ? "yes" : "no");
	fprintf(f,
		"[schedule]\nnightly = %02u:%02u\ndefer_if_changed_within = %s\nmax_deferrals = %u\n"
		"catch_up_after = %s\n\n",
		c->schedule.nightly / 60, c->schedule.nightly % 60, fmt_duration(c->schedule.defer_within, d1, 32),
		c->schedule.max_deferrals, fmt_duration(c->schedule.catch_up_after, d2, 32));
	fprintf(f, "[daemon]\nstate_dir = %s\nevent_log = %s\nevent_log_max = %llu\n", c->daemon.state_dir,
		c->daemon.event_log, (unsigned long long)c->daemon.event_log_max);
	if (c->daemon.metrics)
		fprintf(f, "metrics = %s\n", c->daemon.metrics);
	fprintf(f, "\n[restore]\nmax_total_size = %llu\nmax_entries = %llu\n",
		(unsigned long long)c->restore.max_total_size, (unsigned long long)c->restore.max_entries);
	for (size_t i = 0; i < c->ncomps; i++) {
		const struct abur_component *k = &c->comps[i];
		fprintf(f, "\n[component %s]\ntype = %s\n", k->name, comp_type_name(k->type));
		print_list(f, "paths", k->paths, k->npaths);
		print_list(f, "exclude", k->excludes, k->nexcludes);
		print_list(f, "busy_lock", k->busy_locks, k->nbusy_locks);
		print_list(f, "changed_by", k->changed_by, k->nchanged_by);
		fprintf(f, "policy = %s\n", policy_name(k->policy));
		if (k->policy == POLICY_CHANGE)
			fprintf(f, "quiet = %s\n", fmt_duration(k->quiet, s1, 32));
		fprintf(f, "keep = %u\n", k->keep);
	}
}

static void json_list(struct json *j, const char *key, char **l, size_t n)
{
	json_arr_begin(j, key);
	for (size_t i = 0; i < n; i++)
		json_str(j, NULL, l[i]);
	json_arr_end(j);
}

static void print_json(const struct abur_config *c, FILE *f)
{
	struct json j;
	char hhmm[8];

	json_init(&j, f, true);
	json_obj_begin(&j, NULL);
	json_str(&j, "file", c->path);
	json_obj_begin(&j, "flash");
	json_str(&j, "store", c->flash.store);
	json_str(&j, "boot", c->flash.boot);
	json_str(&j, "mount", c->flash.mount);
	json_obj_end(&j);
	json_obj_begin(&j, "disk");
	json_str(&j, "system", c->disk.system);
	json_bool(&j, "grow_last_partition", c->disk.grow_last_partition);
	json_obj_end(&j);
	json_obj_begin(&j, "schedule");
	snprintf(hhmm, sizeof(hhmm), "%02u:%02u", c->schedule.nightly / 60 % 24, c->schedule.nightly % 60);
	json_str(&j, "nightly", hhmm);
	json_uint(&j, "defer_if_changed_within_s", c->schedule.defer_within);
	json_uint(&j, "max_deferrals", c->schedule.max_deferrals);
	json_uint(&j, "catch_up_after_s", c->schedule.catch_up_after);
	json_obj_end(&j);
	json_obj_begin(&j, "daemon");
	json_str(&j, "state_dir", c->daemon.state_dir);
	json_str(&j, "event_log", c->daemon.event_log);
	json_uint(&j, "event_log_max", c->daemon.event_log_max);
	json_str(&j, "metrics", c->daemon.metrics);
	json_obj_end(&j);
	json_obj_begin(&j, "restore");
	json_uint(&j, "max_total_size", c->restore.max_total_size);
	json_uint(&j, "max_entries", c->restore.max_entries);
	json_obj_end(&j);
	json_arr_begin(&j, "components");
	for (size_t i = 0; i < c->ncomps; i++) {
		const struct abur_component *k = &c->comps[i];
		json_obj_begin(&j, NULL);
		json_str(&j, "name", k->name);
		json_str(&j, "type", comp_type_name(k->type));
		json_list(&j, "paths", k->paths, k->npaths);
		json_list(&j, "exclude", k->excludes, k->nexcludes);
		json_list(&j, "busy_lock", k->busy_locks, k->nbusy_locks);
		json_list(&j, "changed_by", k->changed_by, k->nchanged_by);
		json_str(&j, "policy", policy_name(k->policy));
		json_uint(&j, "quiet_s", k->quiet);
		json_uint(&j, "keep", k->keep);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

void config_print(const struct abur_config *cfg, FILE *f, bool json)
{
	if (json)
		print_json(cfg, f);
	else
		print_ini(cfg, f);
}
