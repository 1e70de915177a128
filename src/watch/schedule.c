#include "schedule.h"

#include <string.h>

#define HOUR 3600
/* UTC offsets stay within -12h..+14h, so the instant of a wall-clock time
 * lies within 15 hours of that wall time read as UTC. */
#define SEARCH_SPAN (15 * HOUR)
/* A decision taken this long after its slot is reported as a catch-up. */
#define LATE_GRACE 300

/* The local wall-clock time of t, as if it were UTC: comparable numbers
 * that rise with t except across a fall-back. */
static time_t wall_of(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return timegm(&tm);
}

time_t sched_slot_on(int y, int m, int d, unsigned nightly)
{
	const struct tm want = {
	    .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = nightly / 60, .tm_min = nightly % 60};
	struct tm tmp = want;
	time_t w = timegm(&tmp), best = 0, lo, hi;
	bool found = false;

	/* Try the wall time as standard and as daylight time; keep the
	 * earliest reading that really shows that wall time (a fall-back
	 * makes both valid; the first occurrence wins). */
	for (int dst = 0; dst <= 1; dst++) {
		struct tm tm = want;
		time_t t;

		tm.tm_isdst = dst;
		t = mktime(&tm);
		if (t != (time_t)-1 && wall_of(t) == w && (!found || t < best)) {
			best = t;
			found = true;
		}
	}
	if (found)
		return best;
	/* Skipped by a spring-forward: the first instant whose wall time is
	 * at or after w, i.e. the transition. Invariant: wall(lo) < w <= wall(hi). */
	lo = w - SEARCH_SPAN;
	hi = w + SEARCH_SPAN;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (wall_of(mid) >= w)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* The slot on the local date of t shifted by `days`. */
static time_t slot_near(time_t t, int days, unsigned nightly)
{
	struct tm tm;
	time_t day;

	localtime_r(&t, &tm);
	tm = (struct tm){.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday + days, .tm_hour = 12};
	day = timegm(&tm); /* normalises the date */
	gmtime_r(&day, &tm);
	return sched_slot_on(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, nightly);
}

time_t sched_next_slot(time_t t, unsigned nightly)
{
	/* A gap slot can fall on the next wall date, so look a day either side. */
	for (int k = -1; k <= 2; k++) {
		time_t s = slot_near(t, k, nightly);
		if (s > t)
			return s;
	}
	return slot_near(t, 3, nightly);
}

time_t sched_prev_slot(time_t t, unsigned nightly)
{
	for (int k = 1; k >= -2; k--) {
		time_t s = slot_near(t, k, nightly);
		if (s <= t)
			return s;
	}
	return slot_near(t, -3, nightly);
}

time_t sched_change_due(time_t now, time_t last_change, uint64_t quiet)
{
	/* A change "in the future" means the clock went back: count from now. */
	if (last_change > now)
		last_change = now;
	return last_change + (time_t)quiet;
}

static void decide(const struct sched_settings *set, const struct sched_in *in, time_t due, time_t run_at,
		   struct sched_out *out)
{
	bool changed;

	out->slot = due;
	if (!in->dirty) {
		out->decision = SCHED_NOTHING;
		out->reason = REASON_CLEAN;
		return;
	}
	/* defer_within = 0 turns deferral off; a change stamped after now
	 * (clock set back) is as recent as it gets, so it counts. */
	changed = set->defer_within > 0 && in->last_change > 0 && in->last_change >= run_at - (time_t)set->defer_within;
	if (!changed) {
		out->decision = SCHED_RUN;
	} else if (in->deferrals >= set->max_deferrals) {
		out->decision = SCHED_FORCED;
		out->reason = REASON_MAX_DEFERRED;
	} else {
		out->decision = SCHED_DEFER;
		out->reason = REASON_CHANGED;
		out->until = sched_next_slot(due, set->nightly);
	}
}

void sched_plan(const struct sched_settings *set, const struct sched_in *in, struct sched_out *out)
{
	time_t due = sched_prev_slot(in->now, set->nightly);
	time_t next = sched_next_slot(in->now, set->nightly);
	time_t run_at = due;
	bool missed;

	memset(out, 0, sizeof(*out));
	out->decision = SCHED_WAIT;
	out->wake = next;
	if (in->last_slot > in->now) {
		/* The clock went back past a slot we handled.  If that slot is
		 * the coming one, it already ran "tonight": skip it.  Anything
		 * further ahead was recorded under a wrong clock: forget it and
		 * wait for the next slot rather than run a surprise catch-up. */
		out->reason = REASON_CLOCK_BACK;
		if (in->last_slot == next)
			out->wake = sched_next_slot(next, set->nightly);
		return;
	}
	if (in->last_slot >= due)
		return;
	/* The slot is due and not handled. If the daemon was not running at
	 * the slot (server off), wait catch_up_after from start-up. */
	missed = in->started > due;
	if (missed && in->started + (time_t)set->catch_up_after > run_at)
		run_at = in->started + (time_t)set->catch_up_after;
	if (in->now < run_at) {
		out->reason = REASON_CATCH_UP_WAIT;
		out->wake = run_at;
		return;
	}
	out->reason = missed || in->now - due > LATE_GRACE ? REASON_CATCH_UP : REASON_ON_TIME;
	decide(set, in, due, run_at, out);
}

const char *sched_decision_name(enum sched_decision d)
{
	static const char *const names[] = {
	    [SCHED_WAIT] = "wait",      [SCHED_RUN] = "run",         [SCHED_FORCED] = "forced",
	    [SCHED_DEFER] = "deferred", [SCHED_NOTHING] = "nothing",
	};
	return (unsigned)d < ARRAY_SIZE(names) ? names[d] : "?";
}

const char *sched_reason_text(enum sched_reason r)
{
	static const char *const text[] = {
	    [REASON_NONE] = "",
	    [REASON_ON_TIME] = "nightly run",
	    [REASON_CATCH_UP] = "catching up a missed nightly run",
	    [REASON_CHANGED] = "changed within the hour before the run",
	    [REASON_MAX_DEFERRED] = "deferred max_deferrals nights in a row: backing up anyway",
	    [REASON_CLEAN] = "nothing changed since the last backup",
	    [REASON_CLOCK_BACK] = "clock set back past a handled run",
	    [REASON_CATCH_UP_WAIT] = "missed run waits catch_up_after from start-up",
	};
	return (unsigned)r < ARRAY_SIZE(text) ? text[r] : "?";
}
