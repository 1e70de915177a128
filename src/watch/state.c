#include "state.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"

#define STATE_MAX (1 << 20)

enum ftype { F_TIME, F_UINT, F_U64, F_BOOL, F_PID, F_HEX, F_TEXT };

struct field {
	const char *key;
	enum ftype type;
	size_t off;
};

#define G(k, t, m)                                                                                                     \
	{                                                                                                              \
		k, t, offsetof(struct daemon_state, m)                                                                 \
	}
static const struct field global_fields[] = {
    G("last_slot", F_TIME, last_slot),
    G("deferrals", F_UINT, deferrals),
    G("deferred_until", F_TIME, deferred_until),
    G("defer_reason", F_TEXT, defer_reason),
    G("next_run", F_TIME, next_run),
    G("flash_missing", F_TIME, flash_missing),
    G("updated", F_TIME, updated),
    G("started", F_TIME, started),
    G("pid", F_PID, pid),
};
#define C(k, t, m)                                                                                                     \
	{                                                                                                              \
		k, t, offsetof(struct comp_state, m)                                                                   \
	}
static const struct field comp_fields[] = {
    C("dirty", F_BOOL, dirty),
    C("retry", F_BOOL, retry),
    C("last_change", F_TIME, last_change),
    C("last_backup", F_TIME, last_backup),
    C("last_seq", F_U64, last_seq),
    C("next_run", F_TIME, next_run),
    C("seen", F_HEX, seen),
    C("backed", F_HEX, backed),
    C("result", F_TEXT, result),
};

void state_set_text(char **field, const char *text)
{
	free(*field);
	*field = text ? xstrdup(text) : NULL;
	for (char *p = *field; p && *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static void put_field(FILE *f, const struct field *fd, const void *base)
{
	const char *p = (const char *)base + fd->off;

	switch (fd->type) {
	case F_TIME:
		fprintf(f, "%s %lld\n", fd->key, (long long)*(const time_t *)p);
		break;
	case F_UINT:
		fprintf(f, "%s %u\n", fd->key, *(const unsigned *)p);
		break;
	case F_U64:
		fprintf(f, "%s %" PRIu64 "\n", fd->key, *(const uint64_t *)p);
		break;
	case F_BOOL:
		fprintf(f, "%s %d\n", fd->key, *(const bool *)p ? 1 : 0);
		break;
	case F_PID:
		fprintf(f, "%s %d\n", fd->key, (int)*(const pid_t *)p);
		break;
	case F_HEX:
		if (*p)
			fprintf(f, "%s %s\n", fd->key, p);
		break;
	case F_TEXT:
		if (*(char *const *)p)
			fprintf(f, "%s %s\n", fd->key, *(char *const *)p);
		break;
	}
}

static int get_field(const struct field *fd, void *base, const char *val)
{
	char *p = (char *)base + fd->off, *end = NULL;
	long long v = 0;

	if (fd->type == F_TEXT) {
		state_set_text((char **)p, val);
		return 0;
	}
	if (fd->type == F_HEX) {
		if (strlen(val) != SHA256_HEX_LEN - 1 || strspn(val, "0123456789abcdef") != SHA256_HEX_LEN - 1)
			return -EINVAL;
		memcpy(p, val, SHA256_HEX_LEN);
		return 0;
	}
	errno = 0;
	v = strtoll(val, &end, 10);
	if (errno || end == val || *end || v < 0)
		return -EINVAL;
	if (fd->type == F_TIME)
		*(time_t *)p = (time_t)v;
	else if (fd->type == F_UINT)
		*(unsigned *)p = (unsigned)v;
	else if (fd->type == F_U64)
		*(uint64_t *)p = (uint64_t)v;
	else if (fd->type == F_BOOL)
		*(bool *)p = v != 0;
	else
		*(pid_t *)p = (pid_t)v;
	return 0;
}

static const struct field *lookup(const struct field *tab, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (streq(tab[i].key, key))
			return &tab[i];
	return NULL;
}

struct comp_state *state_comp(struct daemon_state *st, const char *name)
{
	for (size_t i = 0; i < st->ncomps; i++)
		if (streq(st->comps[i].name, name))
			return &st->comps[i];
	st->comps = xrealloc(st->comps, (st->ncomps + 1) * sizeof(*st->comps));
	st->comps[st->ncomps] = (struct comp_state){.name = xstrdup(name)};
	return &st->comps[st->ncomps++];
}

const struct comp_state *state_find(const struct daemon_state *st, const char *name)
{
	for (size_t i = 0; i < st->ncomps; i++)
		if (streq(st->comps[i].name, name))
			return &st->comps[i];
	return NULL;
}

/* One "key value" line; "[component NAME]" switches *comp. */
static int parse_line(struct daemon_state *st, struct comp_state **comp, char *line)
{
	const struct field *fd;
	char *val;

	if (*line == '#' || *line == '\0')
		return 0;
	if (startswith(line, "[component ") && line[strlen(line) - 1] == ']') {
		line[strlen(line) - 1] = '\0';
		*comp = state_comp(st, line + strlen("[component "));
		return 0;
	}
	val = strchr(line, ' ');
	if (!val)
		return -EINVAL;
	*val++ = '\0';
	if (*comp) {
		fd = lookup(comp_fields, ARRAY_SIZE(comp_fields), line);
		return fd ? get_field(fd, *comp, val) : 0;
	}
	fd = lookup(global_fields, ARRAY_SIZE(global_fields), line);
	return fd ? get_field(fd, st, val) : 0;
}

int state_parse(const char *text, size_t len, const char *name, struct daemon_state *st)
{
	_cleanup_free_ char *copy = NULL;
	struct comp_state *comp = NULL;
	char *line, *save = NULL;
	int lineno = 0;

	memset(st, 0, sizeof(*st));
	if (len > STATE_MAX || memchr(text, '\0', len))
		return abur_fail(-EINVAL, "%s: not a state file", name);
	copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (parse_line(st, &comp, line) < 0) {
			state_free(st);
			return abur_fail(-EINVAL, "%s: damaged near line %d", name, lineno);
		}
	}
	return 0;
}

int state_load(const char *dir, struct daemon_state *st)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, STATE_FILE);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	memset(st, 0, sizeof(*st));
	r = read_file(path, STATE_MAX, &text, &len);
	if (r < 0)
		return abur_fail(r, "%s: %s", path, strerror(-r));
	return state_parse(text, len, path, st);
}

int state_save(const char *dir, const struct daemon_state *st)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, STATE_FILE);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	r = mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	f = open_memstream(&buf, &len);
	if (!f)
		return abur_fail(-errno, "open_memstream: %s", strerror(errno));
	fprintf(f, "# abur daemon state (replaced atomically; see abur status)\n");
	for (size_t i = 0; i < ARRAY_SIZE(global_fields); i++)
		put_field(f, &global_fields[i], st);
	for (size_t c = 0; c < st->ncomps; c++) {
		fprintf(f, "[component %s]\n", st->comps[c].name);
		for (size_t i = 0; i < ARRAY_SIZE(comp_fields); i++)
			put_field(f, &comp_fields[i], &st->comps[c]);
	}
	if (fclose(f) != 0)
		return abur_fail(-ENOMEM, "state: out of memory");
	return io_write_file_atomic(path, buf, len, 0644);
}

void state_free(struct daemon_state *st)
{
	for (size_t i = 0; i < st->ncomps; i++) {
		free(st->comps[i].name);
		free(st->comps[i].result);
	}
	free(st->comps);
	free(st->defer_reason);
	memset(st, 0, sizeof(*st));
}
