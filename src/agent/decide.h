/* The boot agent's decision: a pure function of what it found, so every
 * row of the table is unit-tested. */
#ifndef ABUR_DECIDE_H
#define ABUR_DECIDE_H

#include "core/util.h"
#include "image/image.h"

enum agent_mode { MODE_AUTO, MODE_RESTORE, MODE_RESTORE_SETTINGS, MODE_SEAL, MODE_VERIFY, MODE_SHELL };

enum store_state {
	ST_MISSING,  /* no flash store found */
	ST_NO_IMAGE, /* store, but no os generation that verifies */
	ST_IMAGE_OK, /* an os generation verifies */
};

/* CONFIRM_UNANSWERED: asked, and nothing was typed before the timeout. */
enum confirm_state { CONFIRM_NONE, CONFIRM_MATCH, CONFIRM_MISMATCH, CONFIRM_UNANSWERED };

/* After this many failed automatic attempts the agent stops and asks for a technician. */
#define AGENT_MAX_ATTEMPTS 3

struct agent_facts {
	enum agent_mode mode;
	enum store_state store;
	bool disk; /* a disk sits in the system-disk slot */
	enum disk_class cls;
	bool big_enough;   /* for the os image to be written */
	bool marker;       /* an interrupted reimage of this very disk (serial) */
	unsigned attempts; /* failed automatic attempts on this disk */
	enum confirm_state confirm;
	bool have_settings; /* license/config generations exist */
};

enum agent_action {
	ACT_NOTHING, /* change nothing; say why; show the menu */
	ACT_REIMAGE,
	ACT_RESTORE_SETTINGS,
	ACT_SEAL,
	ACT_VERIFY,
	ACT_SHELL,
	ACT_ASK,     /* a destructive plan: show it and ask for the serial */
	ACT_GIVE_UP, /* too many failed attempts: ask for a technician */
};

struct agent_decision {
	enum agent_action action;
	const char *reason; /* static text for the console and the log */
};

struct agent_decision agent_decide(const struct agent_facts *f);
const char *agent_action_name(enum agent_action a);
/* "auto", "restore", ... -> mode; -EINVAL for anything else. */
int agent_mode_parse(const char *s, enum agent_mode *m) MUST_CHECK;
const char *agent_mode_name(enum agent_mode m);
#endif
