/* Generation manifests: INI, written last, read with no tolerance. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "core/ini.h"
#include "core/parse.h"
#include "store.h"

struct mparse {
	struct manifest *m;
	int bad_line;
	char why[256];
	int format;
	bool in_payload;
	bool have[6];                    /* component, seq, trigger, time, content_digest, tool */
	bool ended;                      /* saw the [end] line: the manifest is complete */
	unsigned seen_gen, seen_payload; /* keys seen so far (a second one is malformed) */
};

/* Every key a section may hold, so a second occurrence is caught. */
static const char *const known_keys[] = {"format",   "component",      "seq",  "parent", "trigger", "time",
					 "time_utc", "content_digest", "tool", "pinned", "size",    "sha256"};

static bool first_time(unsigned *seen, const char *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++) {
		if (!streq(k, known_keys[i]))
			continue;
		if (*seen & (1u << i))
			return false;
		*seen |= 1u << i;
	}
	return true;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

/* Exactly the names ABUR writes: a name off the flash becomes a path. */
static bool is_payload_name(const char *s)
{
	static const char *const known[] = {STORE_PAYLOAD_DATA,  STORE_PAYLOAD_DISK,  STORE_PAYLOAD_INDEX,
					    STORE_PAYLOAD_STATE, STORE_PAYLOAD_FILES, STORE_PAYLOAD_RAW};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (streq(s, known[i]))
			return true;
	return false;
}

static int bad(struct mparse *p, int line, const char *what, const char *v)
{
	if (!p->bad_line) {
		p->bad_line = line;
		snprintf(p->why, sizeof(p->why), "%s '%.64s'", what, v ? v : "");
	}
	return -EINVAL;
}

/* 9999-12-31T23:59:59Z: gmtime_r() and a four-digit year hold any time
 * up to it (a larger one crashed manifest_format() and abur list). */

static int parse_u64(const char *v, uint64_t *out)
{
	return parse_uint(v, 0, UINT64_MAX >> 1, out);
}

static int gen_key(struct mparse *p, const char *k, const char *v, int line)
{
	struct manifest *m = p->m;
	uint64_t u;

	if (streq(k, "format")) {
		if (parse_u64(v, &u) < 0 || u != STORE_FORMAT)
			return bad(p, line, "unsupported format", v);
		p->format = (int)u;
	} else if (streq(k, "component") && !m->component) {
		m->component = xstrdup(v);
		p->have[0] = true;
	} else if (streq(k, "seq") && parse_uint(v, 1, STORE_SEQ_MAX, &m->seq) == 0) {
		p->have[1] = true;
	} else if (streq(k, "parent") && parse_uint(v, 0, STORE_SEQ_MAX, &m->parent) == 0) {
	} else if (streq(k, "trigger") && !m->trigger && *v) {
		m->trigger = xstrdup(v);
		p->have[2] = true;
	} else if (streq(k, "time") && parse_uint(v, TIME_MIN_SANE, TIME_MAX_SANE, &u) == 0) {
		m->time = (int64_t)u;
		p->have[3] = true;
	} else if (streq(k, "time_utc")) {
		/* informational, for people reading the file */
	} else if (streq(k, "content_digest") && is_hex64(v) && !m->content_digest) {
		m->content_digest = xstrdup(v);
		p->have[4] = true;
	} else if (streq(k, "tool") && !m->tool_version) {
		m->tool_version = xstrdup(v);
		p->have[5] = true;
	} else if (streq(k, "pinned") && parse_bool(v, &m->pinned) == 0) {
	} else {
		return bad(p, line, k, v);
	}
	return 0;
}

static int payload_key(struct mparse *p, const char *name, const char *k, const char *v, int line)
{
	struct payload_info *pi = p->m->npayloads ? &p->m->payloads[p->m->npayloads - 1] : NULL;

	/* Keys under a payload header that was refused belong to no payload. */
	if (!pi || !streq(pi->name, name))
		return bad(p, line, "key in a refused payload section", k);
	if (streq(k, "size") && parse_uint(v, 0, STORE_PAYLOAD_MAX, &pi->size) == 0)
		return 0;
	if (streq(k, "sha256") && is_hex64(v) && !pi->sha256[0]) {
		memcpy(pi->sha256, v, SHA256_HEX_LEN);
		return 0;
	}
	return bad(p, line, k, v);
}

static int on_line(void *user, const char *section, const char *key, const char *value, int line)
{
	struct mparse *p = user;
	struct manifest *m = p->m;

	if (p->ended)
		return bad(p, line, "content after [end]", key ? key : section);
	/* manifest_format() writes "key = value": what it could not write on
	 * one line is refused here (an input "k=v" of a full line grew by 2). */
	if (key && strlen(key) + strlen(" = ") + strlen(value) > INI_LINE_MAX)
		return bad(p, line, "key and value too long for one line", key);
	if (key && (streq(section, "generation") || startswith(section, "payload ")) &&
	    !first_time(streq(section, "generation") ? &p->seen_gen : &p->seen_payload, key))
		return bad(p, line, "duplicate key", key);
	if (!key) {
		p->seen_payload = 0;
		if (streq(section, "end")) {
			p->ended = true;
			return 0;
		}
		if (startswith(section, "payload ")) {
			const char *name = section + 8;
			if (!is_payload_name(name))
				return bad(p, line, "bad payload name", name);
			for (size_t i = 0; i < m->npayloads; i++)
				if (streq(m->payloads[i].name, name))
					return bad(p, line, "duplicate payload", name);
			m->payloads = xrealloc(m->payloads, (m->npayloads + 1) * sizeof(*m->payloads));
			m->payloads[m->npayloads++] = (struct payload_info){.name = xstrdup(name)};
			return 0;
		}
		if (streq(section, "generation") || streq(section, "sources") || streq(section, "extra"))
			return 0;
		return bad(p, line, "unknown section", section);
	}
	if (streq(section, "generation"))
		return gen_key(p, key, value, line);
	if (startswith(section, "payload "))
		return payload_key(p, section + 8, key, value, line);
	if (streq(section, "sources") && streq(key, "path")) {
		m->sources = xrealloc(m->sources, (m->nsources + 1) * sizeof(char *));
		m->sources[m->nsources++] = xstrdup(value);
		return 0;
	}
	if (streq(section, "extra") && *key) {
		/* (an empty key would be written as " = v", which reads back as a continuation line) */
		manifest_add_extra(m, key, value);
		return 0;
	}
	return bad(p, line, key, value);
}

static void syntax(void *user, int line, const char *what)
{
	bad(user, line, what, NULL);
}

int manifest_parse(const char *text, size_t len, struct manifest *m)
{
	struct mparse p = {.m = m};
	int r;

	memset(m, 0, sizeof(*m));
	if (len > STORE_MANIFEST_MAX)
		return abur_fail(-EINVAL, "manifest larger than %d bytes", STORE_MANIFEST_MAX);
	if (len == 0 || text[len - 1] != '\n')
		return abur_fail(-EINVAL, "manifest truncated (no final newline)");
	/* manifest_format() writes none; the reader would keep its " ; comment" */
	r = ini_continuation_line(text, len);
	if (r)
		return abur_fail(-EINVAL, "manifest line %d: continuation line", r);
	r = ini_walk(text, len, on_line, syntax, &p);
	/* Written as the last line, so a manifest cut at a line boundary is caught. */
	if (r == 0 && !p.ended)
		r = bad(&p, 1, "truncated: no [end] line", NULL);
	if (r == 0 && !p.format)
		r = bad(&p, 1, "missing", "format");
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(p.have); i++)
		if (!p.have[i])
			r = bad(&p, 1, "missing required key", "component/seq/trigger/time/content_digest/tool");
	if (r == 0 && m->npayloads == 0)
		r = bad(&p, 1, "no payload", NULL);
	if (r == 0 && m->parent >= m->seq)
		r = bad(&p, 1, "parent not older than the generation", "parent");
	for (size_t i = 0; r == 0 && i < m->npayloads; i++)
		if (!m->payloads[i].sha256[0])
			r = bad(&p, 1, "payload without sha256", m->payloads[i].name);
	if (r < 0) {
		manifest_clear(m);
		return abur_fail(-EINVAL, "manifest line %d: %s", p.bad_line, p.why);
	}
	return 0;
}

static void append(char **buf, size_t *len, const char *fmt, ...) PRINTF(3, 4);
static void append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	*buf = xrealloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, s, (size_t)n + 1);
	*len += (size_t)n;
	free(s);
}

char *manifest_format(const struct manifest *m)
{
	char *buf = NULL, when[32];
	size_t len = 0;
	time_t t = (time_t)m->time;
	struct tm tm;

	if (m->time < TIME_MIN_SANE || m->time > TIME_MAX_SANE || !gmtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "-");
	append(&buf, &len,
	       "; ABUR generation manifest: written last; a generation without it does not exist\n"
	       "[generation]\nformat = %d\ncomponent = %s\nseq = %llu\nparent = %llu\ntrigger = %s\n"
	       "time = %lld\ntime_utc = %s\ncontent_digest = %s\ntool = %s\npinned = %s\n",
	       STORE_FORMAT, m->component, (unsigned long long)m->seq, (unsigned long long)m->parent, m->trigger,
	       (long long)m->time, when, m->content_digest, m->tool_version, m->pinned ? "yes" : "no");
	append(&buf, &len, "\n[sources]\n");
	for (size_t i = 0; i < m->nsources; i++)
		append(&buf, &len, "path = %s\n", m->sources[i]);
	for (size_t i = 0; i < m->npayloads; i++)
		append(&buf, &len, "\n[payload %s]\nsize = %llu\nsha256 = %s\n", m->payloads[i].name,
		       (unsigned long long)m->payloads[i].size, m->payloads[i].sha256);
	if (m->nextra)
		append(&buf, &len, "\n[extra]\n");
	for (size_t i = 0; i < m->nextra; i++)
		append(&buf, &len, "%s = %s\n", m->extra_keys[i], m->extra_vals[i]);
	append(&buf, &len, "\n[end]\n");
	return buf;
}

void manifest_clear(struct manifest *m)
{
	free(m->component);
	free(m->trigger);
	free(m->content_digest);
	free(m->tool_version);
	for (size_t i = 0; i < m->nsources; i++)
		free(m->sources[i]);
	free(m->sources);
	for (size_t i = 0; i < m->npayloads; i++)
		free(m->payloads[i].name);
	free(m->payloads);
	for (size_t i = 0; i < m->nextra; i++) {
		free(m->extra_keys[i]);
		free(m->extra_vals[i]);
	}
	free(m->extra_keys);
	free(m->extra_vals);
	memset(m, 0, sizeof(*m));
}

const char *manifest_extra(const struct manifest *m, const char *key)
{
	for (size_t i = 0; i < m->nextra; i++)
		if (streq(m->extra_keys[i], key))
			return m->extra_vals[i];
	return NULL;
}

void manifest_add_extra(struct manifest *m, const char *key, const char *val)
{
	m->extra_keys = xrealloc(m->extra_keys, (m->nextra + 1) * sizeof(char *));
	m->extra_vals = xrealloc(m->extra_vals, (m->nextra + 1) * sizeof(char *));
	m->extra_keys[m->nextra] = xstrdup(key);
	m->extra_vals[m->nextra++] = xstrdup(val);
}
