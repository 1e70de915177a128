/* A file-level component's configured paths as found under a root
 * (internal to the store: tree.c walks them). */
#ifndef ABUR_STORE_TOPS_H
#define ABUR_STORE_TOPS_H

#include "store_int.h"

/* One configured path as found under root.  A path that is itself a
 * symlink (/etc/vms -> /data/vms) is followed once: its target's content is
 * read and archived under the configured name, and the link is recorded in
 * the manifest so a restore puts the content back at the target and the
 * link where it was. */
struct top {
	const char *conf; /* "/etc/vms" */
	char *src;        /* what is read: root + conf, or the link's target resolved beneath root */
	char *link;       /* the link's text when conf is a symlink that was followed, else NULL */
	char *content;    /* with link: the target as a path under root ("/data/vms") */
	bool absent;      /* not there under root */
	bool nested;      /* inside another configured path (or the same twice): covered by it */
};

/* One struct top per c->paths[i], in order.  Fails (-EINVAL) when a
 * followed link's target overlaps another configured path: a restore
 * could not put both back. */
int find_tops(const struct abur_component *c, const char *root, struct top **out) MUST_CHECK;
void tops_free(struct top *t, size_t n);
#endif
