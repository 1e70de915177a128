#include "state.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/io.h"
#include "core/parse.h"

#define STATE_MAX (1 << 20)

enum ftype { F_TIME, F_UINT, F_U64, F_BOOL, F_PID, F_HEX, F_TEXT };

/* The state file is outside input (anyone with the state dir can edit it):
 * every number is bounded here, by type, before the daemon sees it. */
static const uint64_t type_max[] = {
    [F_TIME] = STATE_TIME_MAX, [F_UINT] = STATE_COUNT_MAX, [F_U64] = STATE_SEQ_MAX, [F_BOOL] = 1,
    [F_PID] = STATE_PID_MAX,
};

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
	*field = text ? xasprintf("%.*s", STATE_TEXT_MAX, text) : NULL;
	/* What the parser refuses is never written: control characters
	 * (a file name in an error message may hold any) become spaces. */
	for (char *p = *field; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static void put_field(FILE *f, const struct field *fd, const void *base)
{
	const char *p = (const char *)base + fd->off;

	switch (fd->type) {
	case F_TIME: /* a clock before 1970 is saved as 0: "none" */
		fprintf(f, "%s %lld\n", fd->key, (long long)(*(const time_t *)p > 0 ? *(const time_t *)p : 0));
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

static bool text_ok(const char *v)
{
	if (strlen(v) > STATE_TEXT_MAX)
		return false;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return true;
}

static int get_field(const struct field *fd, void *base, const char *val)
{
	char *p = (char *)base + fd->off;
	uint64_t v = 0;

	if (fd->type == F_TEXT) {
		if (!text_ok(val))
			return abur_fail(-EINVAL, "%s: control characters or longer than %d bytes", fd->key,
					 STATE_TEXT_MAX);
		state_set_text((char **)p, val);
		return 0;
	}
	if (fd->type == F_HEX) {
		if (strlen(val) != SHA256_HEX_LEN - 1 || strspn(val, "0123456789abcdef") != SHA256_HEX_LEN - 1)
			return abur_fail(-EINVAL, "%s: not a sha256 digest", fd->key);
		memcpy(p, val, SHA256_HEX_LEN);
		return 0;
	}
	if (parse_uint(val, 0, type_max[fd->type], &v) < 0)
		return abur_fail(-EINVAL, "%s: '%.32s' is not a number from 0 to %llu", fd->key, val,
				 (unsigned long long)type_max[fd->type]);
	if (fd->type == F_TIME)
		*(time_t *)p = (time_t)v;
	else if (fd->type == F_UINT)
		*(unsigned *)p = (unsigned)v;
	else if (fd->type == F_U64)
		*(uint64_t *)p = v;
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
	if (*line == '[') {
		const char *name = line + strlen("[component ");
		if (!startswith(line, "[component ") || line[strlen(line) - 1] != ']')
			return abur_fail(-EINVAL, "not a [component NAME] line");
		line[strlen(line) - 1] = '\0';
		if (!config_valid_name(name))
			return abur_fail(-EINVAL, "'%.40s' is not a component name", name);
		if (!state_find(st, name) && st->ncomps >= STATE_COMPS_MAX)
			return abur_fail(-EINVAL, "more than %d components", STATE_COMPS_MAX);
		*comp = state_comp(st, name);
		return 0;
	}
	val = strchr(line, ' ');
	if (!val)
		return abur_fail(-EINVAL, "not a \"key value\" line");
	*val++ = '\0';
	if (*comp) {
		fd = lookup(comp_fields, ARRAY_SIZE(comp_fields), line);
		return fd ? get_field(fd, *comp, val) : 0;
	}
	fd = lookup(global_fields, ARRAY_SIZE(global_fields), line);
	return fd ? get_field(fd, st, val) : 0;
}

int state_parse(const char *text, size_t len, struct daemon_state *st)
{
	_cleanup_free_ char *copy = NULL;
	struct comp_state *comp = NULL;
	char *line, *save = NULL;
	int lineno = 0;

	memset(st, 0, sizeof(*st));
	if (len > STATE_MAX)
		return abur_fail(-EFBIG, "larger than %d bytes", STATE_MAX);
	if (memchr(text, '\0', len))
		return abur_fail(-EINVAL, "not a state file (NUL bytes)");
	copy = xasprintf("%.*s", (int)len, text);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		int r = parse_line(st, &comp, line);
		if (r < 0) {
			state_free(st);
			return abur_fail_wrap(r, "damaged near line %d", lineno);
		}
	}
	return 0;
}

/* Only a regular file, never through a symlink, and never blocking on a
 * FIFO put in its place. Messages without the path (the caller adds it). */
static int read_state(const char *path, char **text, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *self = NULL;
	struct stat sb;

	if (fd < 0 && errno == ELOOP)
		return abur_fail(-ELOOP, "a symlink, not a state file");
	if (fd < 0 || fstat(fd, &sb) < 0)
		return abur_fail(-errno, "%s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return abur_fail(-EINVAL, "not a regular file");
	if (sb.st_size > STATE_MAX)
		return abur_fail(-EFBIG, "larger than %d bytes", STATE_MAX);
	/* Through our own descriptor: the file checked is the file read. */
	self = xasprintf("/proc/self/fd/%d", fd);
	return read_file(self, STATE_MAX, text, len);
}

int state_load(const char *dir, struct daemon_state *st)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, STATE_FILE);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	memset(st, 0, sizeof(*st));
	r = read_state(path, &text, &len);
	if (r == 0)
		r = state_parse(text, len, st);
	return r < 0 ? abur_fail_wrap(r, "%s", path) : 0;
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
