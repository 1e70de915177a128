/* Progress of long operations: bytes, rate, ETA (doc/design.md §11,
 * "Progress").  On a terminal one bar redrawn in place (\r, cleared to the
 * end of the line), at most PROGRESS_TTY_INTERVAL_NS apart; elsewhere
 * (pipes, logs, serial captures) timestamped lines at most
 * PROGRESS_LINE_INTERVAL_S apart, the first and the final one always; with
 * PROGRESS_JSON one JSON object per line ({"event":"progress",...}) per
 * percent, for machines.  A rate (and so an ETA) is shown only once it can
 * be measured: never "0 B/s" or an ETA of "-".  PROGRESS_VERBOSE adds a
 * line as each stage starts and ends, with its totals.  Only the cmd layer
 * and the agent use it; libraries report through a struct progress_hook
 * (core/util.h) whose fn is progress_cb. */
#ifndef ABUR_PROGRESS_H
#define ABUR_PROGRESS_H

#include <stdio.h>
#include <time.h>

#include "util.h"

/* Not a terminal: a line at most this often (the first and final always). */
#define PROGRESS_LINE_INTERVAL_S 5
/* A terminal: the bar is redrawn at most this often. */
#define PROGRESS_TTY_INTERVAL_NS 200000000LL
/* A rate is measured over at least this much of a stage. */
#define PROGRESS_RATE_MIN_NS 1000000000LL
/* Tests: every reading of the monotonic clock advances it by this many
 * milliseconds instead (the wall clock in the lines stays real), so what
 * is printed does not depend on the machine's speed.  Only tests set it. */
#define PROGRESS_TICK_ENV "ABUR_TEST_PROGRESS_TICK"

enum progress_flags {
	PROGRESS_TEXT = 0,
	PROGRESS_JSON = 1 << 0,    /* NDJSON events instead of text */
	PROGRESS_VERBOSE = 1 << 1, /* text: a line as each stage starts and ends */
};

/* The clock progress reads: clock_gettime(), or a test's. */
typedef int (*progress_clock_fn)(clockid_t id, struct timespec *ts);

struct progress {
	FILE *f;
	bool tty;
	enum progress_flags flags;
	progress_clock_fn clock;
	char stage[48];
	uint64_t done, total;
	uint64_t shown; /* done when last printed */
	struct timespec start, last;
	int step;     /* json: the last 1% step printed */
	bool printed; /* a line (or bar) of this stage was printed */
	bool drawn;   /* a bar stands unfinished on the terminal */
};

/* f is usually stderr (stdout with PROGRESS_JSON); tty is taken from
 * isatty(fileno(f)) (never with PROGRESS_JSON). */
void progress_init(struct progress *p, FILE *f, enum progress_flags flags);
/* Records progress; prints when due.  A new stage ends the one before. */
void progress_update(struct progress *p, const char *stage, uint64_t done, uint64_t total);
/* Before another line goes to the same terminal mid-stage: clears the bar
 * (drawn again at the next update).  Nothing off a terminal. */
void progress_interrupt(struct progress *p);
/* Prints the final state of the current stage and ends its line. */
void progress_finish(struct progress *p);
/* A progress_fn: arg is a struct progress. */
void progress_cb(void *arg, const char *stage, uint64_t done, uint64_t total);

/* Formats "1:02:03" / "2:03" for ETA; returns buf. */
char *progress_fmt_eta(uint64_t seconds, char *buf, size_t len);
#endif
