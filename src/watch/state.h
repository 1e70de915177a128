/* The daemon's persisted view: per component whether it is dirty, when it
 * last changed and was last backed up; globally the nightly bookkeeping.
 *
 * Kept in <state_dir>/daemon.state as "key value" lines (one
 * "[component NAME]" section per component), replaced atomically, so a
 * restart or `abur status` reads a whole old or a whole new file, never a
 * mix.  Unknown keys are ignored (newer daemons may add some). */
#ifndef ABUR_WATCH_STATE_H
#define ABUR_WATCH_STATE_H

#include <sys/types.h>
#include <time.h>

#include "core/sha256.h"
#include "core/util.h"

#define STATE_FILE "daemon.state"
/* Beside it: flocked by the running daemon for its life (daemon.c). */
#define PID_FILE "daemon.pid"

/* What a state file may hold; anything outside is a damaged file. */
#define STATE_TIME_MAX 253402300799LL   /* 9999-12-31 23:59:59 UTC */
#define STATE_COUNT_MAX 365             /* deferrals: max_deferrals is at most 365 */
#define STATE_SEQ_MAX (UINT64_MAX >> 1) /* as in manifests */
#define STATE_PID_MAX 4194304           /* the kernel's PID_MAX_LIMIT */
#define STATE_TEXT_MAX 512              /* result, defer_reason (longer is cut) */
#define STATE_COMPS_MAX 256             /* [component NAME] sections */

struct comp_state {
	char *name;
	bool dirty;                  /* changed since its last backup (or unknown) */
	bool retry;                  /* a backup is owed (flash missing or failed) */
	time_t last_change;          /* 0: none seen */
	time_t last_backup;          /* last backup or unchanged check that succeeded */
	uint64_t last_seq;           /* generation of the last backup, 0: none */
	time_t next_run;             /* when the daemon means to back it up, 0: none */
	char seen[SHA256_HEX_LEN];   /* content digest at the last scan; "" unknown */
	char backed[SHA256_HEX_LEN]; /* digest of the newest generation; "" unknown */
	char *result;                /* last outcome, free text; NULL none */
};

struct daemon_state {
	time_t last_slot;      /* newest nightly slot handled */
	unsigned deferrals;    /* consecutive deferred nights */
	time_t deferred_until; /* 0: the last night was not deferred */
	char *defer_reason;    /* why, NULL when not deferred */
	time_t next_run;       /* next nightly slot */
	time_t flash_missing;  /* flash missing since; 0: present */
	time_t updated;        /* when written */
	time_t started;        /* daemon start-up */
	pid_t pid;
	struct comp_state *comps;
	size_t ncomps;
};

/* Reads <dir>/daemon.state into st (zeroed first). -ENOENT when there is
 * none; -ELOOP for a symlink, -EINVAL for anything but a regular file or a
 * damaged one, -EFBIG when too big (st is then empty; the message names
 * the file, the line and the value). */
int state_load(const char *dir, struct daemon_state *st) MUST_CHECK;
/* Parses state text of len bytes (no NUL needed) into st (zeroed first):
 * 0, or -EINVAL/-EFBIG with st empty. Never reads past len. */
int state_parse(const char *text, size_t len, struct daemon_state *st) MUST_CHECK;
/* Writes it with io_write_file_atomic(); creates dir. */
int state_save(const char *dir, const struct daemon_state *st) MUST_CHECK;
/* The entry for name, added (clean, all zero) when missing. */
struct comp_state *state_comp(struct daemon_state *st, const char *name);
/* The entry for name or NULL. */
const struct comp_state *state_find(const struct daemon_state *st, const char *name);
/* Replaces a text field (NULL clears it); newlines become spaces. */
void state_set_text(char **field, const char *text);
void state_free(struct daemon_state *st);
#endif
