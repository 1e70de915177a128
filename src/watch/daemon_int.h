/* Shared between daemon.c (the loop) and run.c (scans and backups). */
#ifndef ABUR_DAEMON_INT_H
#define ABUR_DAEMON_INT_H

#include "clock.h"
#include "daemon.h"
#include "events.h"
#include "schedule.h"
#include "state.h"
#include "watcher.h"

/* A failed backup (other than a missing flash) is tried again this long
 * after, or at the next night, whichever comes first. */
#define RETRY_AFTER 600

struct daemon {
	struct abur_config *cfg;
	const struct daemon_opts *opts;
	struct daemon_state st;
	struct watcher *w;
	struct dclock clk;
	struct event_log ev;
	int sig_fd;
	int uevent_fd;    /* open only while the flash is missing */
	int lock_fd;      /* PID_FILE, flocked for the daemon's life */
	bool *changed;    /* scratch, one per cfg->comps */
	time_t *retry_at; /* per component, after a failure; 0 none */
	bool save;        /* state changed: write it before sleeping */
	/* Consecutive deferred nights before the current nightly run: a run
	 * that is deferred because a file kept changing continues the count. */
	unsigned run_deferrals;
	bool stop;
	int stop_signal; /* the signal that asked it to stop, 0 when none did */
	char *skip[6];   /* never watched: our own files and the store */
	char *status;    /* last STATUS= sent */
};

/* Digest scan of every watched component: at start-up (dates offline
 * changes from mtimes) and after an inotify overflow. */
void daemon_rescan(struct daemon *d, bool startup);
/* Learns the newest generation's digest per component (read-only open). */
void daemon_sync_backed(struct daemon *d);
/* Backs up the given components (by index) with trigger; handles a
 * missing flash, errors and events. Stops early on SIGTERM. */
void daemon_backup(struct daemon *d, const size_t *idx, size_t n, const char *trigger);
/* STATUS= for the service manager while a backup runs. */
void notify_status_busy(struct daemon *d, const char *trigger);
/* SIGTERM or SIGINT pending (checked between components). */
bool daemon_stop_pending(void);
#endif
