#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/parse.h"

static void durations(void **state)
{
	uint64_t s;
	(void)state;
	assert_int_equal(parse_duration("30s", &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(parse_duration("60m", &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(parse_duration("1h", &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(parse_duration("2d", &s), 0);
	assert_int_equal(s, 172800);
	assert_int_equal(parse_duration("0", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(parse_duration("60x", &s), -EINVAL);
	assert_int_equal(parse_duration("", &s), -EINVAL);
	assert_int_equal(parse_duration("m", &s), -EINVAL);
	assert_int_equal(parse_duration("-5s", &s), -EINVAL);
	assert_int_equal(parse_duration("1h30m", &s), -EINVAL);
	assert_int_equal(parse_duration("99999999999999999999s", &s), -ERANGE);
	assert_int_equal(parse_duration("999999999999999999d", &s), -ERANGE);
}

static void times(void **state)
{
	unsigned m;
	(void)state;
	assert_int_equal(parse_hhmm("00:00", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(parse_hhmm("23:59", &m), 0);
	assert_int_equal(m, 23 * 60 + 59);
	assert_int_equal(parse_hhmm("07:05", &m), 0);
	assert_int_equal(m, 425);
	assert_int_equal(parse_hhmm("24:00", &m), -ERANGE);
	assert_int_equal(parse_hhmm("12:60", &m), -ERANGE);
	assert_int_equal(parse_hhmm("7:05", &m), -EINVAL);
	assert_int_equal(parse_hhmm("07-05", &m), -EINVAL);
	assert_int_equal(parse_hhmm("07:05:00", &m), -EINVAL);
}

static void sizes_bools_uints(void **state)
{
	uint64_t v;
	bool b;
	(void)state;
	assert_int_equal(parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("1M", &v), 0);
	assert_int_equal(v, 1 << 20);
	assert_int_equal(parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("1MB", &v), -EINVAL);
	assert_int_equal(parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("Off", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
	assert_int_equal(parse_uint("5", 1, 10, &v), 0);
	assert_int_equal(parse_uint("0", 1, 10, &v), -ERANGE);
	assert_int_equal(parse_uint("5x", 1, 10, &v), -EINVAL);
}

static void fmt(void **state)
{
	char b[32];
	(void)state;
	assert_string_equal(fmt_duration(3600, b, sizeof(b)), "1h");
	assert_string_equal(fmt_duration(90, b, sizeof(b)), "90s");
	assert_string_equal(fmt_duration(120, b, sizeof(b)), "2m");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(durations),
	    cmocka_unit_test(times),
	    cmocka_unit_test(sizes_bools_uints),
	    cmocka_unit_test(fmt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
