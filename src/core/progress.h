/* A progress bar for long copies: bytes, rate, ETA.  On a terminal it is
 * one line redrawn in place; elsewhere (serial consoles, logs) one line per
 * 5% so the output stays readable; with json, one JSON object per line
 * ({"event":"progress",...}) for machines.  Only the cmd layer and the
 * agent use it; libraries report through a callback (progress_cb). */
#ifndef ABUR_PROGRESS_H
#define ABUR_PROGRESS_H

#include <stdio.h>
#include <time.h>

#include "util.h"

struct progress {
	FILE *f;
	bool tty, json;
	char stage[24];
	uint64_t done, total;
	uint64_t shown; /* done when last printed */
	struct timespec start, last;
	int step; /* last 5% (text) or 1% (json) step printed */
	bool drawn;
};

/* f is usually stderr; tty is taken from isatty(fileno(f)). */
void progress_init(struct progress *p, FILE *f, bool json);
/* Records progress; prints when due.  A new stage starts a new bar. */
void progress_update(struct progress *p, const char *stage, uint64_t done, uint64_t total);
/* Prints the final state of the current stage and ends its line. */
void progress_finish(struct progress *p);
/* Adapter for callbacks of the form (arg, stage, done, total); arg is a
 * struct progress. */
void progress_cb(void *arg, const char *stage, uint64_t done, uint64_t total);

/* Formats "1:02:03" / "2:03" for ETA; returns buf. */
char *progress_fmt_eta(uint64_t seconds, char *buf, size_t len);
#endif
