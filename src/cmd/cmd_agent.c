/* abur agent: the boot-time restore agent.  The initramfs init passes the
 * kernel command line's choices as ABUR_MODE / ABUR_CONFIRM (or we read
 * /proc/cmdline), and reboots when we leave a request in
 * $ABUR_REBOOT_REQUEST.  Exit: 0 done, 4 nothing done, 1 failed. */
#include <getopt.h>
#include <string.h>

#include "agent/agent.h"
#include "cmd.h"
#include "core/json.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/progress.h"

/* Value of key=... on the kernel command line, or NULL. */
static char *cmdline_value(const char *key)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	size_t n = strlen(key);

	if (read_file("/proc/cmdline", 8192, &text, NULL) < 0)
		return NULL;
	for (char *t = strtok_r(text, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save))
		if (strncmp(t, key, n) == 0 && t[n] == '=')
			return xstrdup(t + n + 1);
	return NULL;
}

/* The last NDJSON line: what the agent did in mode. */
static void result_json(const char *mode, int r)
{
	struct json j;

	cmd_json_begin(&j, "agent");
	json_str(&j, "mode", mode);
	json_str(&j, "result", r == AGENT_DONE ? "done" : r == AGENT_NOTHING ? "nothing" : "failed");
	cmd_json_end(&j);
}

/* --timeout: a prompt waits at most a day (and fits the unsigned). */
#define PROMPT_TIMEOUT_MAX 86400

int cmd_agent(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"mode", required_argument, NULL, 'm'},
					     {"confirm", required_argument, NULL, 'y'},
					     {"timeout", required_argument, NULL, 't'},
					     {}};
	const struct cmd *self = cmd_find("agent");
	_cleanup_free_ char *cl_mode = cmdline_value("abur.mode"), *cl_confirm = cmdline_value("abur.confirm");
	const char *mode = getenv("ABUR_MODE"), *confirm = getenv("ABUR_CONFIRM");
	struct agent_opts o = {.prompt_timeout = 60, .in = stdin, .out = stdout};
	struct progress bar;
	char esc[160];
	uint64_t t;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm')
			mode = optarg;
		else if (c == 'y')
			confirm = optarg;
		else if (c == 't' && (parse_duration(optarg, &t) < 0 || t > PROMPT_TIMEOUT_MAX))
			return cmd_usage_error(self, "--timeout '%s': expected a duration up to 1d (60s, 5m)",
					       cli_escape(optarg, esc, sizeof(esc)));
		else if (c == 't')
			o.prompt_timeout = (unsigned)t;
		else
			return cmd_usage_error(self, "bad option");
	}
	mode = mode && *mode ? mode : cl_mode ? cl_mode : "auto";
	if (agent_mode_parse(mode, &o.mode) < 0)
		return cmd_usage_error(self, "unknown mode '%s'", mode);
	o.confirm = confirm && *confirm ? confirm : cl_confirm;
	o.store = ctx->store;
	o.reboot_request = getenv("ABUR_REBOOT_REQUEST");
	if (ctx->json)
		o.out = stderr; /* stdout: the progress lines and the result, NDJSON */
	struct progress_hook h = ctx_progress(ctx, &bar, stdout, stdout); /* the console */
	o.progress = h.fn;
	o.progress_arg = h.arg;
	if ((r = ctx_config(ctx)))
		return r;
	log_setup("abur-agent", true);
	r = agent_run(ctx->cfg, &o);
	progress_finish(&bar);
	if (ctx->json)
		result_json(mode, r);
	return r == AGENT_DONE ? EXIT_OK : r == AGENT_NOTHING ? EXIT_NOTHING : EXIT_FAIL;
}
