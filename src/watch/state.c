#include "state.h"

#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/fields.h"
#include "core/io.h"

#define STATE_MAX (1 << 20)

/* The state file is outside input (anyone with the state dir can edit it):
 * every number is bounded here, by type, before the daemon sees it. */
#define TIME(k, base, m)                                                                                               \
	{                                                                                                              \
		.key = k, .type = FT_TIME, .off = offsetof(struct base, m), .hi = STATE_TIME_MAX                       \
	}
#define F(k, t, base, m, max)                                                                                          \
	{                                                                                                              \
		.key = k, .type = t, .off = offsetof(struct base, m), .hi = max                                        \
	}
#define TEXT(k, base, m)                                                                                               \
	{                                                                                                              \
		.key = k, .type = FT_STR, .off = offsetof(struct base, m), .hi = STATE_TEXT_MAX, .flags = FF_TEXT      \
	}
static const struct field global_fields[] = {
    TIME("last_slot", daemon_state, last_slot),
    F("deferrals", FT_UINT, daemon_state, deferrals, STATE_COUNT_MAX),
    TIME("deferred_until", daemon_state, deferred_until),
    TEXT("defer_reason", daemon_state, defer_reason),
    TIME("next_run", daemon_state, next_run),
    TIME("flash_missing", daemon_state, flash_missing),
    TIME("updated", daemon_state, updated),
    TIME("started", daemon_state, started),
    F("pid", FT_PID, daemon_state, pid, STATE_PID_MAX),
};
static const struct field comp_fields[] = {
    F("dirty", FT_FLAG, comp_state, dirty, 1),
    F("retry", FT_FLAG, comp_state, retry, 1),
    TIME("last_change", comp_state, last_change),
    TIME("last_backup", comp_state, last_backup),
    F("last_seq", FT_U64, comp_state, last_seq, STATE_SEQ_MAX),
    TIME("next_run", comp_state, next_run),
    F("seen", FT_HEX, comp_state, seen, SHA256_HEX_LEN - 1),
    F("backed", FT_HEX, comp_state, backed, SHA256_HEX_LEN - 1),
    TEXT("result", comp_state, result),
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

/* The field engine's value, with this file's messages. */
static int get_field(const struct field *fd, void *base, const char *val)
{
	int r = field_parse(fd, base, val);

	if (r == 0 || fd->type == FT_STR)
		return r;
	if (fd->type == FT_HEX)
		return abur_fail(-EINVAL, "%s: not a sha256 digest", fd->key);
	return abur_fail(-EINVAL, "%s: '%.32s' is not a number from 0 to %llu", fd->key, val,
			 (unsigned long long)fd->hi);
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
		fd = field_find(comp_fields, ARRAY_SIZE(comp_fields), line);
		return fd ? get_field(fd, *comp, val) : 0;
	}
	fd = field_find(global_fields, ARRAY_SIZE(global_fields), line);
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
	field_write(f, global_fields, ARRAY_SIZE(global_fields), st, " ");
	for (size_t c = 0; c < st->ncomps; c++) {
		fprintf(f, "[component %s]\n", st->comps[c].name);
		field_write(f, comp_fields, ARRAY_SIZE(comp_fields), &st->comps[c], " ");
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
