/* The boot-time restore agent (run by the flash initramfs `init`). */
#ifndef ABUR_AGENT_H
#define ABUR_AGENT_H

#include <stdio.h>

#include "core/config.h"
#include "decide.h"

struct agent_opts {
	enum agent_mode mode;
	const char *confirm;        /* abur.confirm=SERIAL, or NULL */
	const char *store;          /* --store override, or NULL for [flash] store */
	unsigned prompt_timeout;    /* seconds; an unanswered prompt does nothing */
	const char *reboot_request; /* file the init reads to reboot, or NULL */
	FILE *in, *out;             /* the console */
	image_progress_fn progress;
	void *progress_arg;
};

enum agent_result {
	AGENT_DONE,    /* acted; a reboot was requested when the disk changed */
	AGENT_NOTHING, /* changed nothing; the reason was printed */
	AGENT_FAILED,
};

/* Runs the agent once, talking to the console in o. */
enum agent_result agent_run(const struct abur_config *cfg, const struct agent_opts *o);
#endif
