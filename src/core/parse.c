#include "parse.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int parse_number_suffix(const char *s, uint64_t *num, const char **suffix)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*num = v;
	*suffix = p;
	return 0;
}

static int scale(uint64_t v, uint64_t mult, uint64_t *out)
{
	if (mult && v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

struct unit {
	const char *suffix;
	uint64_t mult;
};

/* A number with one of the suffixes of units[0..n), scaled by its unit. */
static int parse_with_unit(const char *s, const struct unit *units, size_t n, uint64_t *out)
{
	const char *suf;
	uint64_t v;
	int r = parse_number_suffix(s, &v, &suf);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (strcmp(suf, units[i].suffix) == 0)
			return scale(v, units[i].mult, out);
	return -EINVAL;
}

int parse_duration(const char *s, uint64_t *seconds)
{
	static const struct unit units[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};

	return parse_with_unit(s, units, ARRAY_SIZE(units), seconds);
}

int parse_hhmm(const char *s, unsigned *minutes)
{
	if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -EINVAL;
	unsigned h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	unsigned m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (h > 23 || m > 59)
		return -ERANGE;
	*minutes = h * 60 + m;
	return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
	    {"", 1}, {"K", 1ULL << 10}, {"M", 1ULL << 20}, {"G", 1ULL << 30}, {"T", 1ULL << 40}};

	return parse_with_unit(s, units, ARRAY_SIZE(units), bytes);
}

int parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = false;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	const char *suf;
	int r = parse_number_suffix(s, v, &suf);

	if (r < 0 || *suf)
		return -EINVAL;
	if (*v < lo || *v > hi)
		return -ERANGE;
	return 0;
}

char *fmt_duration(uint64_t s, char *buf, size_t len)
{
	if (s % 86400 == 0 && s)
		snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
	else if (s % 3600 == 0 && s)
		snprintf(buf, len, "%lluh", (unsigned long long)(s / 3600));
	else if (s % 60 == 0 && s)
		snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
	return buf;
}
