/* Daemon events: one line each to syslog (through log_msg) and to a
 * bounded JSON-lines file ([daemon] event_log, event_log_max).  When the
 * file would grow past event_log_max it is renamed to "<file>.1" (the one
 * older file kept) and a new one is started, so at most twice the limit is
 * ever used. */
#ifndef ABUR_EVENTS_H
#define ABUR_EVENTS_H

#include <time.h>

#include "core/util.h"

enum event_kind {
	EV_START,
	EV_STOP,
	EV_BACKUP,    /* a generation was committed */
	EV_UNCHANGED, /* content equal to the newest generation: nothing written */
	EV_DEFERRED,  /* the nightly run was deferred */
	EV_FORCED,    /* deferred too often: backing up anyway */
	EV_FLASH_MISSING,
	EV_FLASH_BACK,
	EV_RESCAN,          /* inotify overflow or start-up: digests compared */
	EV_CHANGED_OFFLINE, /* changed while the daemon was not running */
	EV_ERROR,
	EV_WARNING, /* done, but something was left out (a FIFO, a device node) */
	EV__COUNT
};

struct event_log {
	const char *path; /* NULL: syslog only */
	uint64_t max;
	uint64_t counts[EV__COUNT];
};

void events_init(struct event_log *l, const char *path, uint64_t max);
/* Records one event. component may be NULL; seq 0 is left out. Failing to
 * write the file is logged once per failure and otherwise ignored: events
 * must never stop a backup. */
void event_emit(struct event_log *l, time_t now, enum event_kind k, const char *component, uint64_t seq,
		const char *fmt, ...) PRINTF(6, 7);
const char *event_name(enum event_kind k);
#endif
