/* The `abur` subcommand table and what every command gets. */
#ifndef ABUR_CMD_H
#define ABUR_CMD_H

#include "core/config.h"
#include "core/util.h"
#include "store/store.h"

/* Exit statuses (documented in abur(8)). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,    /* bad usage or bad configuration */
	EXIT_DEFERRED = 3, /* the run was deferred by policy */
	EXIT_NOTHING = 4,  /* nothing to do: content unchanged, or no disk to act on */
	EXIT_AT_RISK = 5,  /* status: the server is not protected (every reason said) */
};

struct ctx {
	const char *config_path; /* -c, $ABUR_CONFIG, or the built-in default */
	const char *store;       /* --store DIR|SPEC, overrides [flash] store */
	bool json;
	struct abur_config *cfg; /* loaded by ctx_config() */
};

typedef int (*cmd_fn)(struct ctx *ctx, int argc, char **argv);

struct cmd {
	const char *name;
	const char *summary;
	const char *usage;   /* after "abur NAME " */
	cmd_fn run;          /* NULL: not built into this binary */
	const char *missing; /* why run is NULL: feature, or the work still to land */
};

/* Loads the configuration once. Prints the problems and returns EXIT_USAGE
 * on a bad file; 0 on success. */
int ctx_config(struct ctx *ctx) MUST_CHECK;

/* The top-level usage text with the command list. */
void abur_usage(FILE *f);

/* Opens the store from --store or [flash] store; logs and returns
 * EXIT_FAIL (or EXIT_USAGE for a bad configuration) on failure. */
int ctx_store(struct ctx *ctx, enum store_mode mode, struct store **s) MUST_CHECK;
/* Warns on stderr about every entry of the store that is not ABUR's. */
void warn_foreign(struct store *s, const char *cmd);
/* The named component, or NULL after a usage error naming it. */
const struct abur_component *ctx_component(struct ctx *ctx, const char *name, const struct cmd *self);
/* list/verify NAME: true for a component s holds (its [component]
 * section may be gone) or one of the configuration (perhaps not backed up
 * yet); else false after a usage error naming it (ctx_component). */
bool ctx_stored_component(struct ctx *ctx, struct store *s, const char *name, const struct cmd *self);
/* COMPONENT... arguments: true when there are none (all) or name is one. */
bool ctx_named(char *const *names, int n, const char *name);
/* The one rule for a command's progress (core/progress.h): with --json
 * its events on json (stdout, where the command's output is a stream of
 * objects, as seal's and reimage's; NULL: none, where it is one document
 * that events would break, as backup's array); else text on text (stderr,
 * so stdout stays the result; the agent's console), never with -q, each
 * stage's start and end too with -v.  Initialises pb and returns the hook to hand down (fn NULL:
 * no progress; arg is pb either way).  The caller ends each operation
 * with progress_finish(pb), before it prints the result. */
struct progress;
struct progress_hook ctx_progress(const struct ctx *ctx, struct progress *pb, FILE *text, FILE *json);
/* "12" or "g000012". */
int parse_generation(const char *s, uint64_t *seq) MUST_CHECK;
/* --generation VALUE: a number ("12", "g000012") or a tag (abur backup
 * --tag), which names a generation per component (ctx_resolve()). */
struct gen_want {
	uint64_t seq;    /* 0: none asked for (the newest) */
	const char *tag; /* NULL: seq says */
};
/* 0, or EXIT_USAGE after a usage error naming it. */
int ctx_generation(const struct cmd *self, const char *s, struct gen_want *w) MUST_CHECK;
/* Sets w->seq to the generation of comp tagged w->tag (nothing to do
 * without a tag): 0, or EXIT_FAIL after the error naming the tag. */
int ctx_resolve(struct store *s, const char *comp, struct gen_want *w) MUST_CHECK;
/* A command-line value stored as one manifest or state value (--trigger):
 * 1..max printable ASCII characters, none of = [ ] ; # " \, no space at
 * either end. 0, or EXIT_USAGE after a usage error naming it (escaped). */
int ctx_check_value(const struct cmd *self, const char *what, const char *v, size_t max) MUST_CHECK;
/* v, cut and with anything but printable ASCII as \xHH, for messages. */
const char *cli_escape(const char *v, char *buf, size_t n);

/* abur ls, diff and export (entries.c).  The configuration, component name
 * (ctx_component()) and the store, read-only: 0, or the exit status after
 * the problem was reported. */
int open_component(struct ctx *ctx, const struct cmd *self, const char *name, const struct abur_component **comp,
		   struct store **s) MUST_CHECK;
/* The generation want of comp (0:
 * the newest valid one), listed into l: -ENOENT naming it when it is not
 * there, -EBADMSG naming its problem when it is damaged (find_generation:
 * the same in a list in hand). */
int find_generation(const char *comp, const struct gen_list *l, uint64_t seq, const struct generation **g) MUST_CHECK;
int pick_generation(struct store *s, const char *comp, uint64_t want, struct gen_list *l,
		    const struct generation **g) MUST_CHECK;
/* What generation g of c holds, as an index sorted by path
 * (gen_entries(), image_os_entries()); -EOPNOTSUPP for a type this build
 * cannot list. */
struct osidx;
struct osidx_ent;
struct json;
int entries_load(struct store *s, const struct abur_component *c, const struct gen_list *l, const struct generation *g,
		 struct osidx *out) MUST_CHECK;
/* PATH arguments: a path ("/etc/vms", "etc/vms/") and everything under it;
 * none: everything.  filter_init() normalises paths in place. */
struct path_filter {
	char **paths;
	size_t n;
	bool *hit;
};
void filter_init(struct path_filter *f, char **paths, size_t n);
/* True when path is selected; marks the PATHs that select it. */
bool filter_match(struct path_filter *f, const char *path);
/* The first PATH that selected nothing, or NULL. */
const char *filter_missed(const struct path_filter *f);
void filter_free(struct path_filter *f);
/* 0, or -ENOENT naming the first PATH that selected nothing. */
int entries_missed(const struct path_filter *f, const char *comp) MUST_CHECK;
/* "file", "dir", "symlink", "hardlink". */
const char *entry_type_name(char type);
/* "-rw-r--r--" as ls -l and tar -tv write it (h for a hard link). */
char *entry_mode(const struct osidx_ent *e, char buf[11]);
/* "config g000003  2026-12-03 12:00:00  manual[  tag NAME]" into buf. */
char *entry_line_gen(const char *comp, const struct generation *g, char *buf, size_t n);

const struct cmd *cmd_find(const char *name);
size_t cmd_count(void);
const struct cmd *cmd_at(size_t i);
/* The usage line, the summary and the command's sections of the manual. */
void cmd_print_help(const struct cmd *c, FILE *f);
/* The command's sections of the manual in turn: start with *i = 0; NULL
 * after the last. */
const char *cmd_manual(const struct cmd *c, size_t *i);
/* --json (doc/abur.8 JSON OUTPUT, design "JSON output").  The version of
 * every document's layout: a field removed or changed in meaning raises it. */
#define ABUR_JSON_SCHEMA 1
/* Opens the command's one document in j: {"schema": 1, "command": NAME.
 * It is written to memory: cmd_json_end() closes it and writes it to
 * stdout whole, so a command that fails half-way leaves no half document
 * (its error object is then the one document, cmd_json_exit()). */
void cmd_json_begin(struct json *j, const char *command);
void cmd_json_end(struct json *j);
/* main, after the command: with --json, when the command wrote no whole
 * document and returns status != 0, the error object on stdout: schema,
 * command (NULL: none was found), error, code (status) and message, the
 * error the command reported last (cmd_error() and the others below).
 * Drops a document left open.  Returns status. */
int cmd_json_exit(const struct ctx *ctx, const char *command, int status);
/* A generation number, or null for 0 (none). */
void json_seq_or_null(struct json *j, const char *key, uint64_t seq);
/* generation, time, trigger, tag of g (in an object named key, unless NULL). */
void json_gen(struct json *j, const char *key, const struct generation *g);
/* A disk as abur probe --json describes it (an object named key, unless
 * NULL): device, class, reason, model, serial, partitions... */
struct disk_info;
void disk_json(struct json *j, const char *key, const struct disk_info *d);
/* "abur: MESSAGE" on stderr, kept for the error object as error token
 * (usage, config, unsupported...); returns status.  For failures outside
 * a command (main) and of the configuration. */
int abur_error(int status, const char *token, const char *fmt, ...) PRINTF(3, 4);
/* The one way a command reports a failure: "abur: error: CONTEXT: MESSAGE"
 * (log_error_errno(), MESSAGE the one recorded for r); returns EXIT_FAIL. */
int cmd_error(int r, const char *fmt, ...) PRINTF(2, 3);
/* "abur NAME: ..." and its usage line on stderr (error token "usage");
 * returns EXIT_USAGE. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...) PRINTF(2, 3);

/* Every subcommand; weak so a module that is not built leaves NULL. */
#define ABUR_CMD(fn) int fn(struct ctx *ctx, int argc, char **argv) __attribute__((weak))
ABUR_CMD(cmd_backup);
ABUR_CMD(cmd_list);
ABUR_CMD(cmd_status);
ABUR_CMD(cmd_verify);
ABUR_CMD(cmd_restore);
ABUR_CMD(cmd_export);
ABUR_CMD(cmd_forget);
ABUR_CMD(cmd_prune);
ABUR_CMD(cmd_ls);
ABUR_CMD(cmd_diff);
ABUR_CMD(cmd_seal);
ABUR_CMD(cmd_reimage);
ABUR_CMD(cmd_probe);
ABUR_CMD(cmd_daemon);
ABUR_CMD(cmd_agent);
ABUR_CMD(cmd_flash);
int cmd_config(struct ctx *ctx, int argc, char **argv);
int cmd_help(struct ctx *ctx, int argc, char **argv);
int cmd_version(struct ctx *ctx, int argc, char **argv);
#endif
