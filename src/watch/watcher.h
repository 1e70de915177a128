/* Recursive inotify over the paths of the watched components.
 *
 * A component is watched when it is a file-level component with policy
 * nightly or change.  For every one of its paths the watcher watches the
 * path itself and every directory under it (excludes left out), plus the
 * nearest existing ancestor of the path, so that the path appearing, being
 * replaced by a rename (editors' write-to-temp-and-rename) or vanishing
 * is seen.  New directories are watched as they appear; directories moved
 * out are dropped.  Paths under `skip` (the daemon's own files, the store
 * mount) are never watched nor reported; a skip entry ending in '*' is a
 * plain string prefix (a file with its temp and rotated siblings). */
#ifndef ABUR_WATCHER_H
#define ABUR_WATCHER_H

#include <time.h>

#include "core/config.h"
#include "core/util.h"

struct watcher;

/* True for components the daemon watches. */
bool comp_watched(const struct abur_component *c);

/* Creates the inotify instance and adds every watch. cfg must outlive w.
 * Paths that do not exist yet are watched from their nearest ancestor. */
int watcher_new(const struct abur_config *cfg, const char *const *skip, size_t nskip, struct watcher **out) MUST_CHECK;
void watcher_free(struct watcher *w);
/* The inotify descriptor, for poll(). */
int watcher_fd(const struct watcher *w);
/* Reads every pending event (non-blocking).  changed[i] (one per
 * cfg->comps[i]) is set for each component with a change; *overflow is set
 * when the kernel queue overflowed: events were lost, so the caller must
 * rescan by digest (and call watcher_rewatch()). Returns 0 or -errno. */
int watcher_read(struct watcher *w, bool *changed, bool *overflow) MUST_CHECK;
/* Drops every watch and adds them again (after an overflow). */
int watcher_rewatch(struct watcher *w) MUST_CHECK;
/* Directories currently watched. */
size_t watcher_count(const struct watcher *w);

/* The newest mtime of c's paths and everything under them (excludes left
 * out); 0 when none exists. Used at start-up to date changes made while
 * the daemon was not running. */
time_t comp_newest_mtime(const struct abur_component *c);
#endif
