/* What `abur status` shows from the daemon: its persisted state (see
 * state.h), read without talking to the daemon, so it works whether the
 * daemon runs or not.
 *
 * Usage in cmd_status.c:
 *   struct watch_status *ws = watch_status_load(cfg);
 *   watch_status_text(ws, stdout);            or  watch_status_json(ws, &j);
 *   for each component c:
 *     watch_status_comp_text(ws, c, stdout);  or  watch_status_comp_json(ws, c, &j);
 *   watch_status_free(ws);
 */
#ifndef ABUR_WATCH_STATUS_H
#define ABUR_WATCH_STATUS_H

#include <stdio.h>
#include <time.h>

#include "core/config.h"
#include "core/json.h"

struct watch_status;

/* Weak, like the subcommands in cmd.h: a build without CONFIG_DAEMON
 * leaves them NULL, and callers guard with IS_ENABLED(CONFIG_DAEMON). */
#define WATCH_STATUS_FN __attribute__((weak))

/* Never NULL: when the daemon never ran (or its state is unreadable) the
 * result says so. Free with watch_status_free(). */
WATCH_STATUS_FN struct watch_status *watch_status_load(const struct abur_config *cfg);
WATCH_STATUS_FN void watch_status_free(struct watch_status *ws);

/* The daemon's global view: running or not, next nightly run, deferral
 * (why, until when), flash missing since when. Text: a few "daemon: ..."
 * lines; JSON: an object under the key "daemon" in the current object. */
WATCH_STATUS_FN void watch_status_text(const struct watch_status *ws, FILE *f);
WATCH_STATUS_FN void watch_status_json(const struct watch_status *ws, struct json *j);

/* Per component: dirty or clean, last change, last backup, next run and
 * the last outcome. Text: indented lines after the component's heading;
 * JSON: an object under the key "daemon" in the component's object.
 * Components the daemon does not watch (manual, disk) say so. */
WATCH_STATUS_FN void watch_status_comp_text(const struct watch_status *ws, const struct abur_component *c, FILE *f);
WATCH_STATUS_FN void watch_status_comp_json(const struct watch_status *ws, const struct abur_component *c,
					    struct json *j);

/* What the verdict of `abur status` asks (cmd_status.c): whether the
 * daemon runs (it holds the flock on <state_dir>/daemon.pid); how many
 * nights in a row were deferred (0: the last one was not) and why; since
 * when the flash is missing (0: present); and c's last outcome when its
 * last run failed (a backup is still owed), else NULL. */
WATCH_STATUS_FN bool watch_status_running(const struct watch_status *ws);
WATCH_STATUS_FN unsigned watch_status_deferrals(const struct watch_status *ws, const char **why);
WATCH_STATUS_FN time_t watch_status_flash_missing(const struct watch_status *ws);
WATCH_STATUS_FN const char *watch_status_failed(const struct watch_status *ws, const struct abur_component *c);
#endif
