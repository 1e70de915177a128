/* The nightly schedule as a pure function.
 *
 * Everything the decision depends on is passed in: the current time, the
 * last change of a nightly component, the last night already handled, the
 * deferrals so far and the settings.  The only hidden input is the process
 * time zone (TZ / /etc/localtime, as loaded by tzset()), which the caller
 * controls; the unit tests set TZ explicitly.
 *
 * Vocabulary:
 *   slot     the instant of the nightly run on one local date: the local
 *            time `nightly` minutes after midnight.  When that wall-clock
 *            time does not exist on that date (skipped by a DST change),
 *            the slot is the first instant after the gap (the transition
 *            itself: e.g. 01:00 when the clocks jump from 23:59:59 to
 *            01:00).  When it exists twice (fall-back), the slot is the
 *            first occurrence; the repeated hour does not run again.
 *   handled  a slot is handled once its decision (run, defer, nothing) has
 *            been taken; sched_in.last_slot records the newest one.
 */
#ifndef ABUR_SCHEDULE_H
#define ABUR_SCHEDULE_H

#include <time.h>

#include "core/util.h"

struct sched_settings {
	unsigned nightly;        /* minutes after local midnight */
	uint64_t defer_within;   /* seconds before the run that count as "just changed" */
	unsigned max_deferrals;  /* consecutive deferred nights before running anyway */
	uint64_t catch_up_after; /* a missed slot runs this long after start-up */
};

struct sched_in {
	time_t now;
	time_t started;     /* when the daemon started (catch-up delay) */
	time_t last_change; /* newest change of any nightly component; 0: none */
	time_t last_slot;   /* newest slot already handled; 0: none */
	unsigned deferrals; /* consecutive deferrals so far */
	bool dirty;         /* some nightly component differs from its backup */
};

enum sched_decision {
	SCHED_WAIT,    /* nothing due: sleep until .wake */
	SCHED_RUN,     /* back up every dirty component now */
	SCHED_FORCED,  /* would defer, but max_deferrals is reached: run anyway */
	SCHED_DEFER,   /* changed within defer_within before the run: next night */
	SCHED_NOTHING, /* slot due but nothing dirty: mark it handled */
};

enum sched_reason {
	REASON_NONE,
	REASON_ON_TIME,      /* the slot has come */
	REASON_CATCH_UP,     /* a slot was missed (server off, clock set forward) */
	REASON_CHANGED,      /* changed within defer_within before the run */
	REASON_MAX_DEFERRED, /* deferred max_deferrals times already */
	REASON_CLEAN,        /* nothing to back up */
	REASON_CLOCK_BACK,   /* the handled slot lies in the future: clock set back */
	REASON_CATCH_UP_WAIT /* a missed slot waits for catch_up_after */
};

struct sched_out {
	enum sched_decision decision;
	enum sched_reason reason;
	time_t slot; /* the slot decided on (RUN, FORCED, DEFER, NOTHING), else 0 */
	time_t wake; /* when to call sched_plan() again (absent any event) */
	/* SCHED_DEFER: the next slot, i.e. "deferred until". */
	time_t until;
};

/* The slot of the local date y-m-d (m 1..12), see above. */
time_t sched_slot_on(int y, int m, int d, unsigned nightly);
/* The first slot strictly after t, and the newest slot at or before t. */
time_t sched_next_slot(time_t t, unsigned nightly);
time_t sched_prev_slot(time_t t, unsigned nightly);

/* Decides what to do at in->now. Pure: same inputs, same answer. */
void sched_plan(const struct sched_settings *set, const struct sched_in *in, struct sched_out *out);

/* policy = change: when a component that changed at last_change is due
 * (last_change + quiet, never before now when the clock went back). */
time_t sched_change_due(time_t now, time_t last_change, uint64_t quiet);

const char *sched_decision_name(enum sched_decision d);
const char *sched_reason_text(enum sched_reason r);
#endif
