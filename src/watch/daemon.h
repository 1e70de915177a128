/* `abur daemon`: the resident change-watcher and nightly scheduler.
 *
 * One thread, one poll() with no timeout over: the inotify watcher, the
 * clock (timerfd / time-zone and fake-clock inotify), a signalfd (SIGTERM,
 * SIGINT: stop; SIGHUP: reload the configuration) and, only while the
 * flash is missing, a uevent socket.  Every wake-up ends in one re-plan:
 * the schedule is evaluated at "now" and the single timer re-armed.
 *
 * Backups run in the loop itself, one component at a time, each through
 * store_open(STORE_WRITE) / backup_component() / store_close(): the flash
 * is looked up by its spec every time and mounted read-write only for the
 * commit.  Signals stay blocked meanwhile.  SIGTERM during a backup run
 * (from its STATUS=backing up on) lets the component under way finish and
 * commit, even one still waiting for the store lock, then stops; the
 * components not started stay owed.  One daemon per state dir: a second
 * one exits naming the pid in <state_dir>/daemon.pid. */
#ifndef ABUR_DAEMON_H
#define ABUR_DAEMON_H

#include "core/config.h"

struct daemon_opts {
	const char *config_path; /* re-read on SIGHUP */
	const char *store;       /* --store override, or NULL */
};

/* Runs until SIGTERM/SIGINT. *cfg may be replaced on reload (the caller
 * frees the final one). Returns 0, or -errno when start-up failed. */
int daemon_run(struct abur_config **cfg, const struct daemon_opts *opts) MUST_CHECK;
#endif
