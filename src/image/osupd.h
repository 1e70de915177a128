/* Update generations of the os component (doc/design.md "Updates after
 * delivery"): telling them from seals, the seal each is based on, what each
 * needs, and reading their states.  Shared by capture, reimage, export and
 * the listings. */
#ifndef ABUR_OSUPD_H
#define ABUR_OSUPD_H

#include "image.h"
#include "osidx.h"

#define OSUPD_STATE STORE_PAYLOAD_STATE
#define OSUPD_FILES STORE_PAYLOAD_FILES
#define OSUPD_RAW STORE_PAYLOAD_RAW
/* Largest state text a reader accepts. */
#define OSUPD_STATE_MAX (256u << 20)

/* True when g (valid) is an update generation (manifest kind = update). */
bool osupd_is_update(const struct generation *g);
/* The seal generation an update is based on; 0 for a seal or when absent. */
uint64_t osupd_base(const struct generation *g);

/* The newest valid seal of l (a generation that is not an update) at or
 * below max (0: any; store_os_base_max() gives the seal record's), or NULL. */
const struct generation *osupd_newest_seal(const struct gen_list *l, uint64_t max);

struct osupd {
	unsigned *parts;
	struct osidx *state; /* state[i] is partition parts[i]'s, refs resolved */
	size_t n;
};

/* Reads g's state.tar.zst (hash checked): one state pN.state per captured
 * filesystem; OSIDX_REF_SELF refs become g's number. */
int osupd_load(struct store *s, const struct generation *g, struct osupd *u) MUST_CHECK;
void osupd_free(struct osupd *u);
/* The state of partition part, or NULL. */
const struct osidx *osupd_state(const struct osupd *u, unsigned part);
#endif
