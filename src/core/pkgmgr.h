/* The package manager at work (doc/design.md "A capture"): a lock it holds,
 * or a path it changed lately.  Paths are the component's busy_lock and
 * changed_by, read under root (the running system's "/"). */
#ifndef ABUR_PKGMGR_H
#define ABUR_PKGMGR_H

#include <time.h>

#include "config.h"

/* The first busy_lock path of c that another process holds locked (an
 * fcntl lock, probed with F_OFD_GETLK: never taken), malloc'd, or NULL. */
char *pkgmgr_locked(const struct abur_component *c, const char *root);
/* The newest change (mtime or ctime, in seconds) of c's changed_by paths,
 * a directory with everything below it (at most PKGMGR_SCAN_MAX entries,
 * not crossing into other filesystems); 0 when none exists. */
#define PKGMGR_SCAN_MAX 20000
time_t pkgmgr_last_change(const struct abur_component *c, const char *root);
#endif
