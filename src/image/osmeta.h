/* Placing entries of an os update state into a mounted filesystem: every
 * path is resolved beneath the filesystem's root without following a
 * symlink (io_open_beneath()), so a crafted state cannot write outside. */
#ifndef ABUR_OSMETA_H
#define ABUR_OSMETA_H

#include "core/osidx.h"

/* The directory holding rel (opened beneath rootfd) and rel's last
 * component (a pointer into rel).  -errno naming rel. */
int osmeta_parent(int rootfd, const char *rel, const char **leaf) MUST_CHECK;
/* Removes rel (a whole tree when it is a directory, never following a
 * symlink or crossing into another filesystem).  Absent is fine. */
int osmeta_remove(int rootfd, const char *rel) MUST_CHECK;
/* Removes rel when it is there as something other than a `type` entry. */
int osmeta_clear_for(int rootfd, const char *rel, char type) MUST_CHECK;
/* Owner, mode, ACLs, xattrs (security.capability after the owner, which
 * clears it) and mtime of e, onto the existing rel = e->path. */
int osmeta_apply(int rootfd, const char *mnt, const struct osidx_ent *e) MUST_CHECK;
#endif
