#include "fields.h"

#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ini.h"
#include "parse.h"

/* What a value of each type looks like, for messages; a range's unit
 * after each bound (each) or after the pair (end). */
static const struct {
	const char *bad, *each, *end;
} kinds[] = {
    [FT_UINT] = {"expected a whole number", "", ""},
    [FT_U64] = {"expected a whole number", "", ""},
    [FT_TIME] = {"expected a whole number", "", ""},
    [FT_PID] = {"expected a whole number", "", ""},
    [FT_FLAG] = {"expected 0 or 1", "", ""},
    [FT_BOOL] = {"expected yes or no", "", ""},
    [FT_DURATION] = {"bad duration (expected a number with s, m, h or d, e.g. 30s, 60m, 1h)", "s", ""},
    [FT_SIZE] = {"bad size (expected a number with K, M, G or T, e.g. 64M)", "", " bytes"},
    [FT_HHMM] = {"bad time (expected HH:MM, 00:00 to 23:59)", "", ""},
};

static uint64_t type_max(const struct field *f)
{
	if (f->hi)
		return f->hi;
	switch (f->type) {
	case FT_UINT:
		return UINT32_MAX;
	case FT_TIME:
		return INT64_MAX;
	case FT_PID:
		return INT32_MAX;
	case FT_FLAG:
		return 1;
	default:
		return UINT64_MAX;
	}
}

const struct field *field_find(const struct field *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].key, key))
			return &t[i];
	return NULL;
}

static int bad(const struct field *f, const char *val, int r)
{
	uint64_t hi = type_max(f);

	if (r == -ERANGE && f->type != FT_HHMM)
		return abur_fail(r, "%s = %s: out of range (%llu%s..%llu%s%s)", f->key, val, (unsigned long long)f->lo,
				 kinds[f->type].each, (unsigned long long)hi, kinds[f->type].each, kinds[f->type].end);
	return abur_fail(-EINVAL, "%s = %s: %s", f->key, val, kinds[f->type].bad);
}

static int parse_str(const struct field *f, char **p, const char *val)
{
	size_t n = strlen(val);

	if ((f->flags & FF_PATH) && *val && val[0] != '/')
		return abur_fail(-EINVAL, "%s = %s: expected an absolute path", f->key, val);
	if ((f->flags & FF_NONEMPTY) && !*val)
		return abur_fail(-EINVAL, "%s is empty: expected a value", f->key);
	if (f->flags & FF_TEXT) {
		bool control = false;
		for (size_t i = 0; i < n; i++)
			control |= (unsigned char)val[i] < 0x20 || val[i] == 0x7f;
		if (control || n > f->hi)
			return abur_fail(-EINVAL, "%s: control characters or longer than %llu bytes", f->key,
					 (unsigned long long)f->hi);
	}
	free(*p);
	*p = *val ? xstrdup(val) : NULL;
	return 0;
}

static int parse_enum(const struct field *f, int *p, const char *val)
{
	char expected[256];
	size_t len = 0;

	for (size_t i = 0; i < f->nnames; i++)
		if (streq(val, f->names[i])) {
			*p = (int)i;
			return 0;
		}
	for (size_t i = 0; i < f->nnames && len < sizeof(expected); i++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s",
					!i                   ? ""
					: i + 1 == f->nnames ? " or "
							     : ", ",
					f->names[i]);
	return abur_fail(-EINVAL, "%s = %s: expected %s", f->key, val, expected);
}

static int parse_hex(const struct field *f, char *p, const char *val)
{
	if (strlen(val) != f->hi || strspn(val, "0123456789abcdef") != f->hi)
		return abur_fail(-EINVAL, "%s = %s: expected %llu lower-case hex digits", f->key, val,
				 (unsigned long long)f->hi);
	memcpy(p, val, f->hi + 1);
	return 0;
}

#define LIST_SEP " \t\n\v\f\r,"

static void parse_list(char ***list, size_t *n, const char *value)
{
	_cleanup_free_ char *copy = xstrdup(value);
	char *save = NULL;

	/* Every isspace() separates, as the INI reader strips them all. */
	for (char *t = strtok_r(copy, LIST_SEP, &save); t; t = strtok_r(NULL, LIST_SEP, &save)) {
		*list = xrealloc(*list, (*n + 1) * sizeof(**list));
		(*list)[(*n)++] = xstrdup(t);
	}
}

/* The number in val, by the field's type, checked against its bounds. */
static int parse_number(const struct field *f, const char *val, uint64_t *v)
{
	int r;

	switch (f->type) {
	case FT_DURATION:
		r = parse_duration(val, v);
		break;
	case FT_SIZE:
		r = parse_size(val, v);
		break;
	case FT_BOOL: {
		bool b = false;
		r = parse_bool(val, &b);
		*v = b;
		return r;
	}
	default:
		return parse_uint(val, f->lo, type_max(f), v);
	}
	if (r == 0 && (*v < f->lo || *v > type_max(f)))
		r = -ERANGE;
	return r;
}

static void store_number(const struct field *f, void *p, uint64_t v)
{
	switch (f->type) {
	case FT_UINT:
		*(unsigned *)p = (unsigned)v;
		break;
	case FT_TIME:
		*(time_t *)p = (time_t)v;
		break;
	case FT_PID:
		*(pid_t *)p = (pid_t)v;
		break;
	case FT_FLAG:
	case FT_BOOL:
		*(bool *)p = v != 0;
		break;
	default:
		*(uint64_t *)p = v;
		break;
	}
}

int field_parse(const struct field *f, void *base, const char *val)
{
	void *p = (char *)base + f->off;
	uint64_t v;
	int r;

	switch (f->type) {
	case FT_STR:
		return parse_str(f, p, val);
	case FT_ENUM:
		return parse_enum(f, p, val);
	case FT_HEX:
		return parse_hex(f, p, val);
	case FT_LIST:
		parse_list(p, (size_t *)((char *)base + f->noff), val);
		return 0;
	case FT_CUSTOM:
		return f->parse(f, p, val);
	case FT_HHMM:
		r = parse_hhmm(val, p);
		return r < 0 ? bad(f, val, r) : 0;
	default:
		r = parse_number(f, val, &v);
		if (r < 0)
			return bad(f, val, r);
		store_number(f, p, v);
		return 0;
	}
}

static char *format_list(char *const *l, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m;

	if (!n)
		return NULL;
	m = open_memstream(&out, &len);
	if (!m)
		abort();
	for (size_t i = 0; i < n; i++)
		fprintf(m, "%s%s", i ? " " : "", l[i]);
	fclose(m);
	return out;
}

char *field_format(const struct field *f, const void *base)
{
	const char *p = (const char *)base + f->off;
	char buf[32];

	switch (f->type) {
	case FT_STR:
		return *(char *const *)p ? xstrdup(*(char *const *)p) : NULL;
	case FT_HEX:
		return *p ? xstrdup(p) : NULL;
	case FT_LIST:
		return format_list(*(char **const *)p, *(const size_t *)((const char *)base + f->noff));
	case FT_CUSTOM:
		return f->format(f, p);
	case FT_ENUM: {
		int e = *(const int *)p;
		return xstrdup(e >= 0 && (size_t)e < f->nnames ? f->names[e] : "?");
	}
	case FT_UINT:
		return xasprintf("%u", *(const unsigned *)p);
	case FT_TIME: /* a clock before 1970 is saved as 0: "none" */
		return xasprintf("%lld", (long long)(*(const time_t *)p > 0 ? *(const time_t *)p : 0));
	case FT_PID:
		return xasprintf("%d", (int)*(const pid_t *)p);
	case FT_FLAG:
		return xstrdup(*(const bool *)p ? "1" : "0");
	case FT_BOOL:
		return xstrdup(*(const bool *)p ? "yes" : "no");
	case FT_DURATION:
		return xstrdup(fmt_duration(*(const uint64_t *)p, buf, sizeof(buf)));
	case FT_HHMM:
		return xasprintf("%02u:%02u", *(const unsigned *)p / 60 % 24, *(const unsigned *)p % 60);
	case FT_U64:
	case FT_SIZE:
		break;
	}
	return xasprintf("%llu", (unsigned long long)*(const uint64_t *)p);
}

/* A list longer than a line can hold goes on more "key =" lines, so that
 * the text reads back (the lines add up). */
static void write_list(FILE *out, const struct field *f, const void *base, const char *sep)
{
	char *const *l = *(char **const *)((const char *)base + f->off);
	size_t n = *(const size_t *)((const char *)base + f->noff), col = 0;

	for (size_t i = 0; i < n; i++) {
		if (col && col + 1 + strlen(l[i]) > INI_LINE_MAX) {
			fputc('\n', out);
			col = 0;
		}
		if (col)
			col += (size_t)fprintf(out, " %s", l[i]);
		else
			col = (size_t)fprintf(out, "%s%s%s", f->key, sep, l[i]);
	}
	if (col)
		fputc('\n', out);
}

void field_write(FILE *out, const struct field *t, size_t n, const void *base, const char *sep)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].type == FT_LIST) {
			write_list(out, &t[i], base, sep);
			continue;
		}
		_cleanup_free_ char *v = field_format(&t[i], base);
		if (v)
			fprintf(out, "%s%s%s\n", t[i].key, sep, v);
	}
}
