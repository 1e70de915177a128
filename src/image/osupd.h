/* Update generations of the os component (doc/design.md "Updates after
 * delivery"): telling them from seals, the seal each is based on, what each
 * needs, and reading their states.  Shared by capture, reimage, export and
 * the listings. */
#ifndef ABUR_OSUPD_H
#define ABUR_OSUPD_H

#include "image.h"
#include "core/osidx.h"

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
/* The generation of l numbered seq (valid), or NULL. */
const struct generation *osupd_gen(const struct gen_list *l, uint64_t seq);

/* For every '+' file of state (partition part), in the order of the files
 * payload holding its content (needed generations ascending): fn gets the
 * payload's archive positioned at that content, which fn reads; for a
 * second path with the same content in that payload, first is the entry
 * fn already got it for (the data is gone: fn copies from first's result).
 * Each payload's hash is checked once it is read; content the state names
 * but the payload lacks is -EBADMSG. */
typedef int (*osupd_content_fn)(void *arg, struct archive *a, const struct osidx_ent *e, const struct osidx_ent *first);
int osupd_contents(struct store *s, const struct gen_list *gl, const struct osidx *state, unsigned part,
		   osupd_content_fn fn, void *arg) MUST_CHECK;
/* The bytes of content osupd_contents() hands over for state: its added
 * files whose content an update generation holds. */
uint64_t osupd_content_bytes(const struct osidx *state);

/* The bytes of raw area `area` that update upd restores (malloc'd, area->len
 * of them, checked against their hash), or *bytes NULL when the area is as
 * sealed. */
struct osraw;
int osupd_raw(struct store *s, const struct gen_list *gl, const struct generation *upd, const struct osraw *area,
	      char **bytes) MUST_CHECK;

/* The state of partition part, or NULL. */
const struct osidx *osupd_state(const struct osupd *u, unsigned part);
#endif
