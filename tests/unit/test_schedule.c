/* The nightly schedule: boundaries of the deferral window, DST nights in
 * several zones, max_deferrals, catch-up and clock jumps.  The zone is set
 * explicitly (TZ + tzset()) for every case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "watch/schedule.h"

#define H 3600
#define DAY (24 * H)

static const struct sched_settings midnight = {
    .nightly = 0, .defer_within = 3600, .max_deferrals = 3, .catch_up_after = 120};

static int zone(const char *tz)
{
	_cleanup_free_ char *file = xasprintf("/usr/share/zoneinfo/%s", tz);

	if (access(file, R_OK) != 0)
		return -1;
	setenv("TZ", tz, 1);
	tzset();
	return 0;
}
#define ZONE(tz)                                                                                                       \
	do {                                                                                                           \
		if (zone(tz) < 0)                                                                                      \
			skip(); /* tzdata missing: make deps installs it */                                            \
	} while (0)

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return timegm(&tm);
}

/* An unambiguous local time in the current zone. */
static time_t local(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s,
			.tm_isdst = -1};
	return mktime(&tm);
}

static struct sched_out plan_with(const struct sched_settings *set, time_t now, time_t started, time_t last_change,
				  time_t last_slot, unsigned deferrals)
{
	struct sched_in in = {.now = now,
			      .started = started,
			      .last_change = last_change,
			      .last_slot = last_slot,
			      .deferrals = deferrals,
			      .dirty = true};
	struct sched_out out;

	sched_plan(set, &in, &out);
	return out;
}
/* The daemon has been up since the afternoon and handled yesterday. */
static struct sched_out plan(time_t now, time_t slot, time_t last_change)
{
	return plan_with(&midnight, now, slot - 10 * H, last_change, slot - DAY, 0);
}

static void changes_around_the_window(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = local(2026, 11, 22, 0, 0, 0);
	struct sched_out o;

	o = plan(s - H, s, s - 2 * H);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.wake, s);

	o = plan(s, s, local(2026, 11, 21, 22, 59, 59));
	assert_int_equal(o.decision, SCHED_RUN);
	assert_int_equal(o.reason, REASON_ON_TIME);
	assert_int_equal(o.slot, s);

	o = plan(s, s, local(2026, 11, 21, 23, 0, 0)); /* exactly one hour before: inside */
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(o.reason, REASON_CHANGED);
	assert_int_equal(o.until, s + DAY);

	o = plan(s, s, local(2026, 11, 21, 23, 59, 59));
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(o.until, s + DAY);
}

static void change_just_after_midnight(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = local(2026, 11, 22, 0, 0, 0);
	time_t change = local(2026, 11, 22, 0, 0, 1);
	struct sched_out o;

	/* The 00:00 run was handled; a change at 00:00:01 waits a whole day. */
	o = plan_with(&midnight, change, s - 10 * H, change, s, 0);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.wake, s + DAY);
	/* ...and is nearly 24 hours old the next night: it runs. */
	o = plan_with(&midnight, s + DAY, s - 10 * H, change, s, 0);
	assert_int_equal(o.decision, SCHED_RUN);
	assert_int_equal(o.slot, s + DAY);
}

static void helsinki_spring_forward(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = sched_slot_on(2026, 3, 29, 0);
	struct sched_out o;

	assert_int_equal(s, utc(2026, 3, 28, 22, 0, 0));     /* 00:00 EET */
	assert_int_equal(sched_next_slot(s, 0) - s, 23 * H); /* a 23-hour day */
	assert_int_equal(sched_next_slot(s, 0), utc(2026, 3, 29, 21, 0, 0));
	/* 03:30 does not exist that night (03:00 -> 04:00): runs at 04:00 EEST. */
	assert_int_equal(sched_slot_on(2026, 3, 29, 3 * 60 + 30), utc(2026, 3, 29, 1, 0, 0));
	/* A change 59 minutes of real time before the next midnight defers. */
	o = plan(s + 23 * H, s + 23 * H, s + 22 * H + 60);
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(o.until, utc(2026, 3, 30, 21, 0, 0));
}

static void helsinki_fall_back(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = sched_slot_on(2026, 10, 25, 0);
	time_t first = sched_slot_on(2026, 10, 25, 3 * 60 + 30);

	assert_int_equal(s, utc(2026, 10, 24, 21, 0, 0));    /* 00:00 EEST */
	assert_int_equal(sched_next_slot(s, 0) - s, 25 * H); /* a 25-hour day */
	/* 03:30 happens twice: the first one is the slot, the second is not. */
	assert_int_equal(first, utc(2026, 10, 25, 0, 30, 0));
	assert_int_equal(sched_next_slot(first, 3 * 60 + 30), utc(2026, 10, 26, 1, 30, 0));
	assert_int_equal(sched_prev_slot(first + H, 3 * 60 + 30), first);
}

static void new_york_spring_forward(void **state)
{
	(void)state;
	ZONE("America/New_York");
	time_t s = sched_slot_on(2026, 3, 8, 0);
	const struct sched_settings at0230 = {.nightly = 150, .defer_within = 3600, .max_deferrals = 3};
	struct sched_out o;

	assert_int_equal(s, utc(2026, 3, 8, 5, 0, 0));
	assert_int_equal(sched_next_slot(s, 0), utc(2026, 3, 9, 4, 0, 0));
	/* 02:30 is skipped (02:00 -> 03:00): the run is at 03:00 EDT. */
	assert_int_equal(sched_slot_on(2026, 3, 8, 150), utc(2026, 3, 8, 7, 0, 0));
	o = plan_with(&at0230, utc(2026, 3, 8, 6, 59, 59), 0, 0, utc(2026, 3, 7, 7, 30, 0), 0);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.wake, utc(2026, 3, 8, 7, 0, 0));
	/* A change at 01:59:59 EST is one real second before the run. */
	o = plan_with(&at0230, utc(2026, 3, 8, 7, 0, 0), 0, utc(2026, 3, 8, 6, 59, 59), utc(2026, 3, 7, 7, 30, 0), 0);
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(o.until, utc(2026, 3, 9, 6, 30, 0));
}

static void new_york_fall_back(void **state)
{
	(void)state;
	ZONE("America/New_York");
	const struct sched_settings at0130 = {.nightly = 90, .defer_within = 3600, .max_deferrals = 3};
	time_t first = utc(2026, 11, 1, 5, 30, 0); /* 01:30 EDT */
	struct sched_out o;

	assert_int_equal(sched_slot_on(2026, 11, 1, 90), first);
	assert_int_equal(sched_next_slot(first, 90), utc(2026, 11, 2, 6, 30, 0));
	assert_int_equal(sched_next_slot(utc(2026, 11, 1, 4, 0, 0), 0), utc(2026, 11, 2, 5, 0, 0)); /* 25 h */
	/* At the second 01:30 (EST) the night was already handled. */
	o = plan_with(&at0130, first + H, 0, first - 10 * H, first, 0);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.wake, utc(2026, 11, 2, 6, 30, 0));
}

static void midnight_does_not_exist(void **state)
{
	(void)state;
	ZONE("America/Havana");
	/* 2026-03-08: 23:59:59 CST is followed by 01:00 CDT. */
	time_t s = sched_slot_on(2026, 3, 8, 0);
	struct sched_out o;

	assert_int_equal(s, utc(2026, 3, 8, 5, 0, 0));
	assert_int_equal(sched_next_slot(utc(2026, 3, 8, 4, 0, 0), 0), s);
	o = plan(utc(2026, 3, 8, 4, 59, 59), s, 0);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.wake, s);
	o = plan(s, s, utc(2026, 3, 8, 4, 30, 0)); /* 23:30 CST */
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(o.until, utc(2026, 3, 9, 4, 0, 0));
	o = plan(s, s, utc(2026, 3, 8, 3, 59, 0)); /* 22:59 CST */
	assert_int_equal(o.decision, SCHED_RUN);
	/* 2026-11-01: midnight happens twice; only the first one runs. */
	s = sched_slot_on(2026, 11, 1, 0);
	assert_int_equal(s, utc(2026, 11, 1, 4, 0, 0));
	assert_int_equal(sched_prev_slot(utc(2026, 11, 1, 5, 30, 0), 0), s);
	assert_int_equal(sched_next_slot(s, 0), utc(2026, 11, 2, 5, 0, 0));

	ZONE("America/Santiago");
	/* 2026-09-06: 23:59:59 -04 is followed by 01:00 -03. */
	assert_int_equal(sched_slot_on(2026, 9, 6, 0), utc(2026, 9, 6, 4, 0, 0));
	assert_int_equal(sched_next_slot(utc(2026, 9, 6, 3, 59, 59), 0), utc(2026, 9, 6, 4, 0, 0));
}

static void deferrals_are_capped(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = local(2026, 12, 1, 0, 0, 0);
	unsigned deferrals = 0;
	struct sched_out o;

	for (int night = 0; night < 3; night++) {
		time_t slot = s + night * DAY;
		o = plan_with(&midnight, slot, s - DAY, slot - 600, slot - DAY, deferrals);
		assert_int_equal(o.decision, SCHED_DEFER);
		deferrals++;
	}
	o = plan_with(&midnight, s + 3 * DAY, s - DAY, s + 3 * DAY - 600, s + 2 * DAY, deferrals);
	assert_int_equal(o.decision, SCHED_FORCED);
	assert_int_equal(o.reason, REASON_MAX_DEFERRED);
	/* max_deferrals = 0: never defer. */
	struct sched_settings never = midnight;
	never.max_deferrals = 0;
	o = plan_with(&never, s, s - DAY, s - 600, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_FORCED);
}

static void clock_set_backwards(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = local(2026, 11, 22, 0, 0, 0);
	struct sched_out o;

	/* Ran at 00:00, then the clock went back to 23:30: not again tonight. */
	o = plan_with(&midnight, s - 1800, s - 10 * H, 0, s, 0);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.reason, REASON_CLOCK_BACK);
	assert_int_equal(o.wake, s + DAY);
	/* Handled a night ten days ahead (wrong clock then): plan from now. */
	o = plan_with(&midnight, s - 1800, s - 10 * H, 0, s + 10 * DAY, 0);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.wake, s);
	/* A change stamped in the future counts as a change just now. */
	o = plan_with(&midnight, s, s - 10 * H, s + 2 * H, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(sched_change_due(s, s + 2 * H, 30), s + 30);
	assert_int_equal(sched_change_due(s, s - 10, 30), s + 20);
}

static void clock_set_forwards(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = local(2026, 11, 22, 0, 0, 0);
	struct sched_out o;

	/* 22:00 -> 05:00: the midnight in between runs at once. */
	o = plan_with(&midnight, s + 5 * H, s - 2 * H, s - 3 * H, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_RUN);
	assert_int_equal(o.reason, REASON_CATCH_UP);
	assert_int_equal(o.slot, s);
	/* Jumped by a week: one run for the newest missed night. */
	o = plan_with(&midnight, s + 7 * DAY + H, s - 2 * H, s - 3 * H, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_RUN);
	assert_int_equal(o.slot, s + 7 * DAY);
}

static void missed_run_is_caught_up(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = local(2026, 11, 22, 0, 0, 0);
	time_t boot = s + 8 * H;
	struct sched_out o;

	o = plan_with(&midnight, boot, boot, s - 5 * H, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_WAIT);
	assert_int_equal(o.reason, REASON_CATCH_UP_WAIT);
	assert_int_equal(o.wake, boot + 120);
	o = plan_with(&midnight, boot + 120, boot, s - 5 * H, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_RUN);
	assert_int_equal(o.reason, REASON_CATCH_UP);
	assert_int_equal(o.slot, s);
	/* Same rule: changed (file mtime) 30 minutes before the catch-up. */
	o = plan_with(&midnight, boot + 120, boot, boot - 1800, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(o.until, s + DAY);
}

static void restart_before_midnight_still_defers(void **state)
{
	(void)state;
	ZONE("Europe/Helsinki");
	time_t s = local(2026, 11, 22, 0, 0, 0);
	struct sched_out o;

	/* Changed at 23:40, daemon restarted at 23:50: not a missed night. */
	o = plan_with(&midnight, s, s - 600, s - 1200, s - DAY, 0);
	assert_int_equal(o.decision, SCHED_DEFER);
	assert_int_equal(o.reason, REASON_CHANGED);
}

static void nothing_dirty(void **state)
{
	(void)state;
	ZONE("UTC");
	time_t s = utc(2026, 11, 22, 0, 0, 0);
	struct sched_in in = {.now = s, .started = s - H, .last_change = s - 60, .last_slot = s - DAY};
	struct sched_out o;

	sched_plan(&midnight, &in, &o);
	assert_int_equal(o.decision, SCHED_NOTHING);
	assert_int_equal(o.slot, s);
	assert_int_equal(o.wake, s + DAY);
	assert_string_equal(sched_decision_name(SCHED_DEFER), "deferred");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(changes_around_the_window),
	    cmocka_unit_test(change_just_after_midnight),
	    cmocka_unit_test(helsinki_spring_forward),
	    cmocka_unit_test(helsinki_fall_back),
	    cmocka_unit_test(new_york_spring_forward),
	    cmocka_unit_test(new_york_fall_back),
	    cmocka_unit_test(midnight_does_not_exist),
	    cmocka_unit_test(deferrals_are_capped),
	    cmocka_unit_test(clock_set_backwards),
	    cmocka_unit_test(clock_set_forwards),
	    cmocka_unit_test(missed_run_is_caught_up),
	    cmocka_unit_test(restart_before_midnight_still_defers),
	    cmocka_unit_test(nothing_dirty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
