/* core/progress.c driven by a fake clock: lines spaced by the interval,
 * the first and the final always, no rate before one can be measured,
 * the terminal's bar, -v's stage lines, JSON events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/progress.h"

#define MiB (1024ULL * 1024)
#define SEC 1000000000LL

static int64_t mono_ns;                /* what the fake monotonic clock says */
static const time_t wall = 1796416265; /* 2026-12-04 20:31:05 UTC */

static int fake_clock(clockid_t id, struct timespec *ts)
{
	if (id == CLOCK_MONOTONIC) {
		ts->tv_sec = mono_ns / SEC;
		ts->tv_nsec = mono_ns % SEC;
	} else {
		ts->tv_sec = wall;
		ts->tv_nsec = 0;
	}
	return 0;
}

struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct progress p;
};

static void start(struct capture *c, enum progress_flags flags)
{
	c->buf = NULL;
	c->f = open_memstream(&c->buf, &c->len);
	progress_init(&c->p, c->f, flags);
	c->p.clock = fake_clock;
	mono_ns = 0;
}

static char *end(struct capture *c)
{
	fclose(c->f);
	return c->buf;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *c = s; (c = strstr(c, what)); c += strlen(what))
		n++;
	return n;
}

/* One update a second, 1 MiB each: a line every PROGRESS_LINE_INTERVAL_S. */
static void lines_spaced_by_interval(void **state)
{
	struct capture c;
	char want[64], *out, *line;
	int k = 0;
	(void)state;

	start(&c, PROGRESS_TEXT);
	for (uint64_t i = 0; i <= 100; i++) {
		mono_ns = (int64_t)i * SEC;
		progress_update(&c.p, "backup software", i * MiB, 100 * MiB);
	}
	progress_finish(&c.p);
	out = end(&c);
	assert_int_equal(count(out, "\n"), 100 / PROGRESS_LINE_INTERVAL_S + 1);
	assert_null(strchr(out, '\r'));
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), k++) {
		unsigned pct = (unsigned)k * PROGRESS_LINE_INTERVAL_S;
		assert_true(strncmp(line, "2026-12-0", 9) == 0); /* local time: the 4th or 5th */
		snprintf(want, sizeof(want), " backup software: %u", pct);
		assert_non_null(strstr(line, want));
		snprintf(want, sizeof(want), "of 100.0 MiB (%u%%)", pct);
		assert_non_null(strstr(line, want));
		if (pct == 0) /* nothing measured yet: no rate, no ETA */
			assert_null(strstr(line, "/s"));
		else
			assert_non_null(strstr(line, ", 1.0 MiB/s"));
		if (pct > 0 && pct < 100) {
			snprintf(want, sizeof(want), ", ETA %u:%02u", (100 - pct) / 60, (100 - pct) % 60);
			assert_non_null(strstr(line, want));
		} else {
			assert_null(strstr(line, "ETA"));
		}
	}
	assert_int_equal(k, 21);
	free(out);
}

/* A stage that ends between two intervals still prints its final state. */
static void first_and_final_always(void **state)
{
	struct capture c;
	char *out;
	(void)state;

	start(&c, PROGRESS_TEXT);
	for (uint64_t i = 0; i <= 7; i++) {
		mono_ns = (int64_t)i * SEC;
		progress_update(&c.p, "restore", i * MiB, 100 * MiB);
	}
	progress_finish(&c.p);
	out = end(&c);
	assert_int_equal(count(out, "\n"), 3); /* 0 s, 5 s, and the final 7 s */
	assert_non_null(strstr(out, "restore: 0 B of 100.0 MiB (0%)\n"));
	assert_non_null(strstr(out, "restore: 7.0 MiB of 100.0 MiB (7%), 1.0 MiB/s, ETA 1:33\n"));
	free(out);
}

/* Nothing counted for a while, then a stage without a total: never a rate
 * of 0 B/s or an ETA of "-". */
static void never_zero_rate_or_dash(void **state)
{
	struct capture c;
	char *out;
	(void)state;

	start(&c, PROGRESS_TEXT);
	for (int i = 0; i <= 20; i++) {
		mono_ns = (int64_t)i * SEC;
		progress_update(&c.p, "verify", 0, 100 * MiB);
	}
	for (int i = 0; i <= 20; i++) {
		mono_ns = (int64_t)(21 + i) * SEC;
		progress_update(&c.p, "scan config", (uint64_t)i * MiB, 0);
	}
	progress_finish(&c.p);
	out = end(&c);
	assert_int_equal(count(out, "0 B/s"), 0);
	assert_int_equal(count(out, "ETA -"), 0);
	assert_int_equal(count(out, "ETA"), 0); /* no total, or no rate: no ETA */
	assert_non_null(strstr(out, "verify: 0 B of 100.0 MiB (0%)\n"));
	assert_non_null(strstr(out, "scan config: started\n"));
	assert_non_null(strstr(out, "scan config: 20.0 MiB, 1.0 MiB/s\n"));
	free(out);
}

/* A terminal: one line redrawn in place (\r, cleared), ended by a newline;
 * at most every PROGRESS_TTY_INTERVAL_NS. */
static void terminal_bar(void **state)
{
	struct capture c;
	char *out;
	(void)state;

	start(&c, PROGRESS_TEXT);
	c.p.tty = true;
	for (uint64_t i = 0; i <= 10; i++) {
		mono_ns = (int64_t)i * PROGRESS_TTY_INTERVAL_NS / 2;
		progress_update(&c.p, "write", i * MiB, 10 * MiB);
	}
	progress_finish(&c.p);
	out = end(&c);
	assert_int_equal(count(out, "\r"), 6); /* 0, 2, 4, 6, 8, 10 of 11 updates */
	assert_int_equal(count(out, "\033[K"), 6);
	assert_int_equal(count(out, "\n"), 1);
	assert_int_equal(out[strlen(out) - 1], '\n');
	assert_non_null(strstr(out, "\rwrite    [........................] 0 B of 10.0 MiB (0%)\033[K"));
	assert_non_null(
	    strstr(out, "\rwrite    [########################] 10.0 MiB of 10.0 MiB (100%), 10.0 MiB/s\033[K\n"));
	free(out);
}

/* Another line mid-stage: the bar is cleared first and drawn again at the
 * next update, due or not; off a terminal nothing is cleared. */
static void interrupt_clears_bar(void **state)
{
	struct capture c, q;
	char *out, *plain;
	(void)state;

	start(&c, PROGRESS_TEXT);
	start(&q, PROGRESS_TEXT);
	c.p.tty = true;
	progress_update(&c.p, "verify", 1 * MiB, 10 * MiB);
	progress_update(&q.p, "verify", 1 * MiB, 10 * MiB);
	progress_interrupt(&c.p);
	progress_interrupt(&q.p);
	fputs("config g000001  ok\n", c.f);
	progress_update(&c.p, "verify", 2 * MiB, 10 * MiB); /* within the interval */
	progress_finish(&c.p);
	progress_finish(&q.p);
	out = end(&c);
	plain = end(&q);
	assert_non_null(strstr(out, "(10%)\033[K\r\033[Kconfig g000001  ok\n\rverify   [####"));
	assert_non_null(strstr(out, "2.0 MiB of 10.0 MiB (20%)\033[K\n"));
	assert_int_equal(count(plain, "\033[K"), 0);
	assert_int_equal(count(plain, "\n"), 1);
	free(out);
	free(plain);
}

/* -v: a line as each stage starts and as it ends, with its totals. */
static void verbose_stage_lines(void **state)
{
	struct capture c, q;
	char *out, *quiet;
	(void)state;

	start(&c, PROGRESS_VERBOSE);
	start(&q, PROGRESS_TEXT);
	for (uint64_t i = 0; i <= 4; i++) {
		mono_ns = (int64_t)i * SEC;
		progress_update(&c.p, "export config", i * MiB, 4 * MiB);
		progress_update(&q.p, "export config", i * MiB, 4 * MiB);
	}
	progress_finish(&c.p);
	progress_finish(&q.p);
	out = end(&c);
	quiet = end(&q);
	assert_non_null(strstr(out, "export config: started, 4.0 MiB\n"));
	assert_non_null(strstr(out, "export config: ended: 4.0 MiB in 0:04, 1.0 MiB/s\n"));
	assert_int_equal(count(out, "\n"), count(quiet, "\n") + 2);
	free(out);
	free(quiet);
}

/* A stage name longer than the struct holds is cut, and is one stage still. */
static void long_stage_name(void **state)
{
	struct capture c;
	const char *name = "restore a-component-name-of-thirty-two-chars-and-more";
	char *out;
	(void)state;

	start(&c, PROGRESS_TEXT);
	for (uint64_t i = 0; i <= 4; i++) {
		mono_ns = (int64_t)i * SEC;
		progress_update(&c.p, name, i * MiB, 4 * MiB);
	}
	progress_finish(&c.p);
	out = end(&c);
	assert_int_equal(count(out, "\n"), 2); /* the first and the final line */
	free(out);
}

static void json_events(void **state)
{
	struct capture c;
	char *out;
	(void)state;

	start(&c, PROGRESS_JSON);
	progress_update(&c.p, "seal", 0, 200);
	mono_ns = 2 * SEC;
	progress_update(&c.p, "seal", 200, 200);
	progress_finish(&c.p);
	out = end(&c);
	assert_non_null(strstr(out, "{\"event\":\"progress\",\"stage\":\"seal\",\"done\":0,\"total\":200"));
	assert_non_null(
	    strstr(out, "{\"event\":\"progress\",\"stage\":\"seal\",\"done\":200,\"total\":200,\"rate\":100"));
	assert_int_equal(count(out, "\n"), 2);
	free(out);
}

static void eta_format(void **state)
{
	char eta[32];
	(void)state;

	assert_string_equal(progress_fmt_eta(3725, eta, sizeof(eta)), "1:02:05");
	assert_string_equal(progress_fmt_eta(65, eta, sizeof(eta)), "1:05");
	assert_string_equal(progress_fmt_eta(0, eta, sizeof(eta)), "0:00");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lines_spaced_by_interval),
	    cmocka_unit_test(first_and_final_always),
	    cmocka_unit_test(never_zero_rate_or_dash),
	    cmocka_unit_test(terminal_bar),
	    cmocka_unit_test(interrupt_clears_bar),
	    cmocka_unit_test(verbose_stage_lines),
	    cmocka_unit_test(long_stage_name),
	    cmocka_unit_test(json_events),
	    cmocka_unit_test(eta_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
