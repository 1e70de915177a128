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
#include "store/store.h"

/* Captures a type = disk component (os) into s at the nightly run, as
 * backup_component() backs up a file component: res->unchanged, ->seq,
 * ->payload_bytes, ->files; -EAGAIN with res->busy set (malloc'd) when it
 * must wait (a busy file, the package manager at work).  The command layer
 * passes the imaging module's capture; NULL when imaging is not built. */
typedef int (*daemon_disk_fn)(const struct abur_config *cfg, struct store *s, const struct abur_component *c,
			      const char *trigger, struct backup_result *res);

struct daemon_opts {
	const char *config_path; /* re-read on SIGHUP */
	const char *store;       /* --store override, or NULL */
	daemon_disk_fn disk_backup;
};

/* Runs until SIGTERM/SIGINT. *cfg may be replaced on reload (the caller
 * frees the final one). Returns 0, or -errno when start-up failed. */
int daemon_run(struct abur_config **cfg, const struct daemon_opts *opts) MUST_CHECK;
#endif
