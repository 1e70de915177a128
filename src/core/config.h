/* Runtime configuration (abur.ini), parsed into a typed, validated
 * structure.  Every error names the file, the line and what was expected. */
#ifndef ABUR_CONFIG_H
#define ABUR_CONFIG_H

#include <stdio.h>

#include "comptype.h"
#include "util.h"

enum comp_policy { POLICY_NIGHTLY, POLICY_CHANGE, POLICY_MANUAL };

struct abur_component {
	char *name;
	enum comp_type type;
	char **paths; /* absolute paths on the protected system */
	size_t npaths;
	char **excludes; /* absolute paths or fnmatch() patterns */
	size_t nexcludes;
	char **busy_locks; /* the package manager's locks: a capture waits while one is held */
	size_t nbusy_locks;
	char **changed_by; /* paths the package manager changes: the deferral rule's last change */
	size_t nchanged_by;
	enum comp_policy policy;
	uint64_t quiet; /* seconds, policy = change */
	unsigned keep;
	int line; /* of its [component NAME] header */
};

/* Whether c's type has flag (enum comp_type_flags). */
static inline bool component_is(const struct abur_component *c, enum comp_type_flags flag)
{
	return (comp_type_info(c->type)->flags & flag) != 0;
}

struct abur_config {
	char *path; /* file it came from */
	struct {
		char *store; /* LABEL=, UUID=, PARTUUID=, /dev/..., or a directory */
		char *boot;
		char *mount;
	} flash;
	struct {
		char *system; /* auto, slot:PCI, serial:S, or a device path */
		bool grow_last_partition;
		bool raw_encrypted; /* seal stores an encrypted volume (BitLocker) raw instead of refusing it */
	} disk;
	struct {
		unsigned nightly;      /* minutes after local midnight */
		uint64_t defer_within; /* seconds */
		unsigned max_deferrals;
		uint64_t catch_up_after; /* seconds after start-up */
	} schedule;
	struct {
		char *state_dir;
		char *event_log;
		uint64_t event_log_max;
		char *metrics; /* NULL: none */
	} daemon;
	struct {
		uint64_t max_total_size;
		uint64_t max_entries;
	} restore;
	struct abur_component *comps;
	size_t ncomps;
};

/* Parses text as the file `name`. On success *out is a new config (free
 * with config_free()). On a bad configuration returns -EINVAL and *errors
 * holds one "name:LINE: problem" line per problem (caller frees). */
int config_parse(const char *text, size_t len, const char *name, struct abur_config **out, char **errors) MUST_CHECK;
/* Reads and parses a file; -ENOENT etc. with *errors set likewise. */
int config_load(const char *path, struct abur_config **out, char **errors) MUST_CHECK;
void config_free(struct abur_config *cfg);

const struct abur_component *config_component(const struct abur_config *cfg, const char *name);
/* A component name: 1..32 of [a-z0-9_-] (it names a store directory). */
bool config_valid_name(const char *s);
const char *policy_name(enum comp_policy p);
/* True when path (absolute) is excluded by the component. */
bool component_excludes(const struct abur_component *c, const char *path);

/* The effective value of "SECTION.KEY" ("flash.store") as the printed
 * configuration has it (a list: its words separated by one space); NULL
 * when unset (daemon.metrics).  -ENOENT naming it for an unknown key. */
int config_get(const struct abur_config *cfg, const char *name, char **value) MUST_CHECK;
/* Prints the effective configuration as INI. */
void config_print(const struct abur_config *cfg, FILE *f);
/* The effective configuration as members of the JSON object open in j:
 * file, flash, disk, schedule, daemon, restore, components. */
struct json;
void config_json(const struct abur_config *cfg, struct json *j);
#endif
