/* The snapshot store on the flash's ABUR-STORE partition.
 *
 * Layout (see doc/design.md, "The store format"):
 *   abur/STORE                         format version, board, machine binding
 *   abur/<component>/gNNNNNN/          one committed generation
 *       manifest.ini                   written last
 *       data.tar.zst | disk.tar.zst    payloads (pax, zstd)
 *   abur/<component>/.tmp-*            in progress; swept at the next commit
 *   abur/log/                          reports (restore reports, events)
 *   abur/SEALED                        the newest complete seal's generations
 *   abur/.lock, abur/.readers          writer lock, readers lock
 *
 * A generation exists only once renamed from .tmp-* to gNNNNNN (never over
 * an existing entry).  Order is by sequence number, never mtime; numbers
 * stop at g999999 (STORE_SEQ_MAX: a commit past it fails, -EOVERFLOW).
 * Writers hold one flock on abur/.lock for the whole operation; a second
 * writer waits.  Every other handle holds a shared flock on abur/.readers;
 * removing generations needs it exclusively: retention skips while readers
 * are present, space planning waits a bounded time.
 *
 * The store is a sandbox: every path is opened beneath abur/ without
 * following symlinks (abur/ itself must be a real directory), store files
 * must be regular files, and an entry that is not exactly ABUR's is never
 * numbered, followed, written through or removed (store_foreign()).
 *
 * All functions return 0 (or a count) on success and -errno on failure with
 * the reason recorded (abur_errmsg()).  They never print.
 *
 * Names (doc/design.md §2, "The store's names"): store_ takes the handle and
 * finds what it acts on by component, number or path; gen_ acts on a
 * generation or list in hand; manifest_, payload_ (reading a stored
 * payload), export_ (an archive outside the store), backup_ and restore_
 * (a file component's content) name the object they act on.
 */
#ifndef ABUR_STORE_H
#define ABUR_STORE_H

#include <archive.h>
#include <stdint.h>

#include "core/config.h"
#include "core/sha256.h"
#include "core/util.h"

/* The error of libarchive handle a as -errno: its errno (ENOSPC, EACCES,
 * EIO of the disk) when it has one, else -EIO. */
static inline int archive_r(struct archive *a)
{
	int e = archive_errno(a);

	return e > 0 ? -e : -EIO;
}

#define STORE_FORMAT 1
#define STORE_MANIFEST "manifest.ini"
#define STORE_MANIFEST_MAX (64 * 1024)
/* The payload names a manifest may hold (nothing else becomes a path). */
#define STORE_PAYLOAD_DATA "data.tar.zst"
#define STORE_PAYLOAD_DISK "disk.tar.zst"
/* os seals and update generations (doc/design.md "Updates after delivery") */
#define STORE_PAYLOAD_INDEX "index.tar.zst"
#define STORE_PAYLOAD_STATE "state.tar.zst"
#define STORE_PAYLOAD_FILES "files.tar.zst"
#define STORE_PAYLOAD_RAW "raw.tar.zst"
/* gNNNNNN holds six digits: the store refuses to commit past g999999. */
#define STORE_SEQ_MAX 999999ULL
/* Largest payload size a manifest may state (1 PiB). */
#define STORE_PAYLOAD_MAX (1ULL << 50)

struct store;

enum store_mode {
	STORE_READ,  /* mount read-only when it is a device; no lock */
	STORE_WRITE, /* mount read-write; take the writer lock (waits) */
};

/* Opens the store named by spec: a directory (used as is: it holds, or
 * will hold, abur/), or LABEL=, UUID=, PARTUUID=, or a device path, which
 * is found with libblkid and mounted at cfg->flash.mount until
 * store_close().  When the device is missing the error says what was looked
 * for (-ENODEV).  spec NULL means cfg->flash.store. */
int store_open(const struct abur_config *cfg, const char *spec, enum store_mode mode, struct store **out) MUST_CHECK;
/* Unlocks, unmounts what store_open() mounted, frees. NULL is fine. */
void store_close(struct store *s);
DEFINE_CLEANUP(struct store, store_close)
/* The directory holding STORE and the components ("<mount>/abur"). */
const char *store_root(const struct store *s);
/* The device the store was found on, or NULL for a directory store. */
const char *store_device(const struct store *s);

struct payload_info {
	char *name; /* "data.tar.zst" */
	uint64_t size;
	char sha256[SHA256_HEX_LEN];
};

struct manifest {
	char *component;
	uint64_t seq;
	uint64_t parent;      /* previous generation's seq, 0 for none */
	char *trigger;        /* seal, manual, nightly, change, ... */
	int64_t time;         /* UTC seconds */
	char *content_digest; /* sha256 over the captured content */
	char *tool_version;
	bool pinned;    /* installation generation: never removed by retention */
	char **sources; /* source paths (or the disk) it was taken from */
	size_t nsources;
	struct payload_info *payloads;
	size_t npayloads;
	/* Free-form component details ([extra] section), e.g. disk serial. */
	char **extra_keys, **extra_vals;
	size_t nextra;
};

/* Parse and format manifests.  Parsing tolerates nothing malformed:
 * unknown sections/keys, missing required keys, bad numbers, oversized
 * input (> STORE_MANIFEST_MAX) all give -EINVAL with the reason. */
int manifest_parse(const char *text, size_t len, struct manifest *m) MUST_CHECK;
/* Returns a malloc'd INI text. */
char *manifest_format(const struct manifest *m);
void manifest_clear(struct manifest *m);
const char *manifest_extra(const struct manifest *m, const char *key);
void manifest_add_extra(struct manifest *m, const char *key, const char *val);

struct generation {
	uint64_t seq;
	char *dir;         /* absolute path of gNNNNNN (for messages) */
	char *rel;         /* "<component>/gNNNNNN", beneath store_root() */
	bool valid;        /* manifest present and well-formed, payload sizes match */
	char *problem;     /* why not valid (NULL when valid) */
	struct manifest m; /* meaningful when valid */
};

struct gen_list {
	struct generation *g; /* sorted by seq, ascending */
	size_t n;
	/* Entries of the component folder that are not ABUR's (not exactly
	 * gNNNNNN, or not a real directory), "<component>/<name> (<what>)":
	 * never numbered, followed, written through or removed. */
	char **foreign;
	size_t nforeign;
};

/* Component names present in the store (real directories under abur/,
 * not links), sorted. */
int store_components(struct store *s, char ***names, size_t *n) MUST_CHECK;
/* Every entry of the store that is not ABUR's where ABUR expects its own
 * ("abur/<what> (<type>)" without the "abur/"), e.g. "config/g1000000 (a
 * directory)", "log (a symlink)": the caller frees each and the array. */
int store_foreign(struct store *s, char ***out, size_t *n) MUST_CHECK;
/* Lists one component's committed generations (cheap checks only: the
 * manifest parses and payload files exist with the recorded sizes). */
int store_list(struct store *s, const char *component, struct gen_list *out) MUST_CHECK;
/* Frees what l holds and empties it (an empty l is fine): usable as
 * _cleanup_(gen_list_free) on a list initialised to {0}. */
void gen_list_free(struct gen_list *l);
/* Generation seq of l (valid or not), or NULL. */
const struct generation *gen_list_find(const struct gen_list *l, uint64_t seq);
/* Bytes g's payloads take on the flash (0 when g is not valid). */
uint64_t gen_bytes(const struct generation *g);
/* The same for generation seq of component, looked up in the store; 0 when
 * it is not there or not valid. */
uint64_t store_generation_bytes(struct store *s, const char *component, uint64_t seq);

/* The generations g needs to be restored ([extra] needs = "SEQ SEQ ...",
 * each lower than g's own): retention keeps them while g is kept, and a
 * restore of g verifies them too.  -EBADMSG when the list is malformed.
 * *needs is malloc'd (NULL when none). */
int gen_needs(const struct generation *g, uint64_t **needs, size_t *n) MUST_CHECK;

/* Re-reads every payload of g: its sha256 against the manifest and every
 * zstd frame checksum.  -EBADMSG with the reason when it does not match. */
int gen_verify(struct store *s, const struct generation *g) MUST_CHECK;
/* The same, telling progress (may be NULL) stage "verify NAME": bytes of
 * g's payloads read, of all of them. */
int gen_verify_progress(struct store *s, const struct generation *g, const struct progress_hook *progress) MUST_CHECK;
/* gen_verify() of the n generations g (of one component) in turn, as one
 * progress stage of all their bytes; the first failure stops it. */
int gens_verify_progress(struct store *s, const struct generation *const *g, size_t n,
			 const struct progress_hook *progress) MUST_CHECK;
/* gen_verify() on every generation of component (of every component when
 * NULL; only generation `only` when nonzero), in component then sequence
 * order; after each, fn (may be NULL) gets the outcome (0 or -errno).
 * Returns how many failed, or -errno when the store cannot be listed.
 * *checked (may be NULL) gets how many were verified.  progress (may be
 * NULL): stage "verify", bytes of payloads read, of all it will read. */
typedef void (*store_verify_fn)(void *arg, const char *component, const struct generation *g, int result);
int store_verify_all(struct store *s, const char *component, uint64_t only, store_verify_fn fn, void *arg,
		     const struct progress_hook *progress, unsigned *checked) MUST_CHECK;
/* What store_newest() asks of a generation. */
enum gen_check {
	GEN_CHECK_VALID = 0,       /* the cheap checks store_list() made (generation.valid) */
	GEN_CHECK_VERIFY = 1 << 0, /* and gen_verify(): every payload read back */
};
/* store_newest(): no bound on the number. */
#define GEN_SEQ_ANY 0
/* The newest generation of component that passes check and is numbered at
 * most max_seq (GEN_SEQ_ANY: any): lists component into *l (an empty
 * list on entry; the caller frees it whatever the result) and points *out
 * into it.  -ENOENT when
 * none passes (never for anything else); other -errno when the component
 * cannot be listed. */
int store_newest(struct store *s, const char *component, enum gen_check check, uint64_t max_seq, struct gen_list *l,
		 const struct generation **out) MUST_CHECK;

/* One payload of a commit: fill() adds entries to a pax+zstd archive that
 * the store writes into the generation (hashing and counting as it goes).
 * fill may be called more than once (space planning re-runs it), so it must
 * produce the same content each time. */
struct payload_spec {
	const char *name; /* "data.tar.zst" or "disk.tar.zst" */
	int (*fill)(struct archive *a, void *arg);
	void *arg;
};

struct commit_info {
	const char *component;
	const char *trigger;
	const char *content_digest;
	bool pinned;
	const char *const *sources;
	size_t nsources;
	unsigned keep;   /* retention: keep this many newest unpinned, besides pinned */
	const char *tag; /* a restore point (store_tag_valid()); NULL: none */
	/* A generation of the component: when this commit's payloads, content
	 * digest and [extra] are exactly its own, nothing new is stored (a
	 * re-seal of an identical disk) and store_commit() returns 1 with
	 * *seq = same_as.  0: none. */
	uint64_t same_as;
	const struct manifest *extra; /* only its extra_* fields are copied; may be NULL */
};

/* Writes a new generation with the commit recipe: payloads into .tmp-*,
 * fsync each, manifest, fsync, fsync dir, rename to gNNNNNN, fsync parent;
 * then retention.  On ENOSPC it measures the exact size needed, frees the
 * oldest unpinned generations (never the newest valid one) if that makes it
 * fit, and retries; if it cannot fit, nothing stored is touched and the
 * error says how much is needed and how much could be freed.  Any other
 * failure deletes the temp directory and leaves the store as it was.
 * The caller holds a STORE_WRITE store. *seq gets the new number; 1
 * instead of 0 when info->same_as was reused. */
int store_commit(struct store *s, const struct commit_info *info, const struct payload_spec *payloads, size_t npayloads,
		 uint64_t *seq) MUST_CHECK;

/* Removes generations beyond `keep` newest unpinned ones; pinned ones,
 * tagged ones and the newest valid one always stay. Returns how many were
 * removed. */
int store_apply_retention(struct store *s, const char *component, unsigned keep) MUST_CHECK;
/* What store_apply_retention() would remove now, without removing it
 * (abur prune --dry-run): "config/g000002" names, oldest first, into *names
 * (the caller frees each and the array; NULL when none).  *why gets why
 * nothing may go when that is so ("the newest ... fails its check"; static,
 * NULL otherwise).  Returns the count. */
int store_retention_plan(struct store *s, const char *component, unsigned keep, char ***names,
			 const char **why) MUST_CHECK;

/* Restore points (abur backup --tag NAME): a tag is 1..STORE_TAG_MAX of
 * [A-Za-z0-9._-], starting with a letter or digit, and not a generation
 * number ("12", "g000012").  A commit with a tag is stored even when
 * unchanged, and the generation is kept (by retention and space planning)
 * until abur forget removes it.  One tag names at most one generation of a
 * component. */
#define STORE_TAG_MAX 64
bool store_tag_valid(const char *tag);
/* The tag of g ([extra] tag), or NULL. */
const char *gen_tag(const struct generation *g);
/* The generation of l tagged tag, or NULL. */
const struct generation *gen_list_find_tag(const struct gen_list *l, const char *tag);
/* The generation of component tagged tag: -ENOENT naming it when none is. */
int store_find_tag(struct store *s, const char *component, const char *tag, uint64_t *seq) MUST_CHECK;

/* abur forget: removes generation seq of component now (valid or damaged).
 * Refused (-EBUSY, nothing removed) when it is the newest valid generation
 * (a restore would use it) or another generation needs it (an os update of
 * its seal); refused (-EPERM) when it is the seal's pinned generation
 * unless unpin.  Waits (bounded) for readers like space planning. */
int store_forget(struct store *s, const char *component, uint64_t seq, bool unpin) MUST_CHECK;
/* The generations this handle removed (space planning and retention) since
 * it was opened or store_removed_clear(), oldest first, as names
 * "config/g000001" (store_removed(): the count; the names stay the
 * store's) or as one text "config/g000001, config/g000002" (NULL when none
 * went; the caller frees it).  For the result line, JSON and the daemon's
 * event: retention says what it removed. */
void store_removed_clear(struct store *s);
size_t store_removed(const struct store *s, char *const **names);
char *store_removed_text(const struct store *s);

/* Opens payload `name` of g for reading: payload_archive() is a
 * libarchive tar reader over the decompressed stream, which is hashed as
 * it is read.  The caller ends it with payload_close() or
 * payload_discard(). */
struct payload_reader;
int payload_open(struct store *s, const struct generation *g, const char *name, struct payload_reader **out) MUST_CHECK;
/* The same, failing once the decompressed stream passes out_max bytes
 * (0: no bound; restore's max_total_size). */
int payload_open_max(struct store *s, const struct generation *g, const char *name, uint64_t out_max,
		     struct payload_reader **out) MUST_CHECK;
/* The tar reader (owned by p). */
struct archive *payload_archive(struct payload_reader *p);
/* Ends the read and frees p.  r is how the caller's reading went: when 0,
 * reads the rest of the stream (every zstd frame checksum) and returns
 * -EBADMSG if the hash or size does not match the manifest, else 0; when
 * negative, reads no more (a hostile or broken stream) and returns r. */
int payload_close(struct payload_reader *p, int r) MUST_CHECK;
/* Frees p without reading the rest of the stream or checking it. NULL is fine. */
void payload_discard(struct payload_reader *p);
DEFINE_CLEANUP(struct payload_reader, payload_discard)

/* abur export (src/store/export.c): a pax tar.zst written to path, a file
 * outside the store, through the I/O layer.  It appears at path only once
 * complete and synced (-EEXIST when path exists: nothing is overwritten). */
struct export_archive;
int export_archive_create(const char *path, struct export_archive **x, struct archive **a) MUST_CHECK;
/* Ends the archive and publishes it; frees x and a. */
int export_archive_finish(struct export_archive *x, struct archive *a) MUST_CHECK;
/* Ends after a failure: nothing stays at path; frees x and a. */
void export_archive_abort(struct export_archive *x, struct archive *a);
/* Copies payload name of g (a standard pax tar.zst) to path, checking its
 * hash and size against the manifest.  progress (may be NULL): stage
 * "export COMPONENT", bytes written of the payload's size. */
int export_payload(struct store *s, const struct generation *g, const char *name, const char *path,
		   const struct progress_hook *progress) MUST_CHECK;

/* What generation g of a file-level component holds (abur ls, abur diff):
 * every entry of its data.tar.zst as an OSIDX_BASE index (core/osidx.h),
 * sorted by path (without "./" or a trailing "/"): type, permission bits,
 * owner, size, mtime, link target and the SHA-256 of each file's content.
 * The payload is read to its end and its hash checked (-EBADMSG); an entry
 * that is not a file, directory or link is -EBADMSG.  out is empty on
 * failure. */
struct osidx;
int gen_entries(struct store *s, const struct generation *g, struct osidx *out) MUST_CHECK;

/* A small file in the store (markers, reports), written crash-safely.
 * rel is relative to store_root(), e.g. "log/restore-20261122.txt". */
int store_put_file(struct store *s, const char *rel, const void *data, size_t n) MUST_CHECK;
/* Reads it back (at most max bytes); -ENOENT when absent. */
int store_get_file(struct store *s, const char *rel, size_t max, char **data, size_t *n) MUST_CHECK;
int store_remove_file(struct store *s, const char *rel) MUST_CHECK;

/* The seal record (abur/SEALED), written atomically as the last step of a
 * seal that completed: "component = seq" for every generation that seal
 * committed.  What the newest record names is the effective pin (and the
 * os base); pinned generations of a seal that failed midway are not. */
int store_put_seal(struct store *s, const char *const *components, const uint64_t *seqs, size_t n) MUST_CHECK;
/* The seq the record names for component: -ENOENT when there is no record
 * or it names none, -EINVAL when it is malformed. */
int store_sealed_seq(struct store *s, const char *component, uint64_t *seq) MUST_CHECK;

/* The newest os generation that may serve as the base: the one the seal
 * record names, 0 (any) when there is no record. Never fails. */
uint64_t store_os_base_max(struct store *s);

/* ---- file-level components (src/store/tree.c) ---- */

/* Content digest of a component's paths as found under root ("/" for the
 * running system, a mount point when sealing from a disk): paths, types,
 * modes, owners, symlink targets, xattrs/ACLs and the SHA-256 of every
 * file's content, not mtimes.
 *
 * state_dir: the state directory of the system at root ([daemon]
 * state_dir), home of its stat cache <state_dir>/tree-cache/<component>.idx:
 * a file whose stat (type, mode, owner, size, mtime, ctime, inode, link
 * count) is the one cached, and was not racy then, takes its cached hash
 * without being opened; the cache is rewritten when anything in it moved.
 * A missing or damaged cache only means every file is read.  NULL: no
 * cache (a disk mounted elsewhere). */
int backup_digest(const struct abur_component *c, const char *root, const char *state_dir,
		  char digest[SHA256_HEX_LEN]) MUST_CHECK;

/* How many special files a backup names (it counts them all). */
#define BACKUP_SKIPPED_MAX 16
/* A file that keeps changing: this many attempts, the first pause this
 * long (ms), doubling, then -EAGAIN (deferred). */
#define BACKUP_ATTEMPTS 4
#define BACKUP_RETRY_MS 250

struct backup_result {
	uint64_t seq;   /* 0 when unchanged */
	bool unchanged; /* content digest equal to the newest valid generation */
	uint64_t payload_bytes;
	uint64_t files;
	/* FIFOs and device nodes left out (a restore refuses them; sockets
	 * are left out without a word): how many, and the first
	 * BACKUP_SKIPPED_MAX as "PATH (a FIFO)". Set on success and failure. */
	uint64_t nskipped;
	char **skipped;
	char *busy; /* -EAGAIN: the file that kept changing */
};

struct restore_limits {
	uint64_t max_total_size;
	uint64_t max_entries;
};

enum backup_flags {
	BACKUP_DEFAULT = 0,
	BACKUP_PINNED = 1 << 0, /* a seal's: pinned, and committed even when unchanged */
};

/* Backs up one file-level component from root into the store (which the
 * caller opened STORE_WRITE). Unchanged content writes nothing (unless
 * BACKUP_PINNED, or a tag: a restore point, store_tag_valid(); NULL for
 * none).
 *
 * Every generation it commits restores under lim ([restore] limits): a
 * tree with more entries, more bytes (apparent sizes, as a restore counts)
 * or a bigger tar stream than lim allows fails (-EFBIG) naming the limit
 * and the path, and nothing is committed.  FIFOs and device nodes are left
 * out and listed in res.  A configured path that is a symlink is followed
 * once (see DESIGN.md "configured paths"): its target's content is stored
 * under the configured name and the link recorded in the manifest's
 * [extra] (linkN, linkN_target, linkN_content).  A file that keeps
 * changing is tried BACKUP_ATTEMPTS times, then -EAGAIN with res->busy.
 * state_dir: as for backup_digest() (its digest pass uses the cache; the
 * archive pass reads every file it archives).
 * progress (may be NULL): stage "scan NAME" while the digest pass reads
 * files (bytes read, no total: the walk finds it), then "backup NAME" as
 * the archive pass copies content (bytes, of the apparent size of every
 * regular file the digest pass found).
 * The caller frees res with backup_result_free() whatever the result. */
int backup_component(struct store *s, const struct abur_component *c, const char *root, const char *state_dir,
		     const char *trigger, const char *tag, enum backup_flags flags, const struct restore_limits *lim,
		     const struct progress_hook *progress, struct backup_result *res) MUST_CHECK;
/* The warnings a backup's result holds (the special files it left out),
 * one line each ("skipped PATH (a FIFO): a restore cannot create it"),
 * for the CLI, the daemon's events and seal to say the same way. */
void backup_result_warnings(const struct backup_result *res, void (*say)(void *arg, const char *line), void *arg);
void backup_result_free(struct backup_result *res);

/* The restore pre-check (restore_component() runs it before it writes
 * anything) over an archive already open for reading: reads
 * every entry (skipping data) and checks its path (normalised: "./", "//"
 * and a trailing "/" collapsed; nothing absolute, no "..", nothing through
 * a symlink of the archive, no name twice), type (regular file, directory,
 * symlink, hard link to a regular file before it) and the limits.  Returns
 * 0, or -EPERM / -EFBIG / -EBADMSG with the reason.  The caller closes a.
 * Exposed for the fuzzers, which feed it archives in memory. */
int restore_check_archive(struct archive *a, const struct restore_limits *lim) MUST_CHECK;

enum restore_flags {
	RESTORE_DEFAULT = 0,
	RESTORE_PLAN = 1 << 0,  /* check and count only: nothing is written or removed */
	RESTORE_EXACT = 1 << 1, /* also remove what g does not hold (see restore_component) */
};

/* What a restore brings back. */
struct restore_want {
	const struct restore_limits *lim;
	const struct abur_component *comp; /* its paths bound the stray scan, its excludes are never touched */
	char *const *paths;                /* absolute, as configured; npaths 0: the whole generation */
	size_t npaths;
	enum restore_flags flags;
	/* may be NULL: stage "check NAME" as pass 1 reads the payload (bytes
	 * of its size), then "restore NAME" as content is written (bytes, of
	 * the content of the entries restored) */
	const struct progress_hook *progress;
};

/* What it did (RESTORE_PLAN: would do). */
struct restore_result {
	uint64_t written; /* entries extracted */
	uint64_t strays;  /* entries under the restored paths in root that g does not hold */
	bool removed;     /* RESTORE_EXACT: the strays were removed (else left in place) */
};

/* Extracts generation g of the file-level component w->comp into root with
 * libarchive's secure extraction plus our limits (regular files, dirs,
 * symlinks, hard links inside root only; total size; entry count).
 * With w->paths only the entries at or under those paths: one g does not
 * hold is -ENOENT naming it, before anything is written.  Afterwards the
 * restored paths (w->paths, else the component's configured paths) are
 * scanned beneath root without following a symlink or leaving the
 * filesystem, excluded paths left out: every entry g does not hold is a
 * stray, counted in res->strays; RESTORE_EXACT removes them first (a
 * directory still holding an excluded entry stays).  res may be NULL. */
int restore_component(struct store *s, const struct generation *g, const char *root, const struct restore_want *w,
		      struct restore_result *res) MUST_CHECK;
/* restore_component() of the newest generation of w->comp that passes
 * gen_verify().  *seq gets its number, *skipped (may be NULL) how many
 * newer ones failed verification.  -ENODATA when the component has no
 * generation at all; -EBADMSG when none verifies. */
int restore_newest(struct store *s, const char *root, const struct restore_want *w, uint64_t *seq, unsigned *skipped,
		   struct restore_result *res) MUST_CHECK;
#endif
