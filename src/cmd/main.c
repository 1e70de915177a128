/* abur: one multi-call binary, dispatching through the command table. */
#include <locale.h>
#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/io.h"
#include "core/log.h"

/* Takes the global options out of argv wherever they stand (before a "--"),
 * so "abur config check -c FILE" and "abur -c FILE config check" agree.
 * Returns the new argc, or -1 on a usage error. */
static int take_globals(struct ctx *ctx, int argc, char **argv, bool *help, bool *version)
{
	int out = 0;
	bool done = false;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (done || a[0] != '-') {
			argv[out++] = argv[i];
			continue;
		}
		if (streq(a, "--")) {
			done = true;
			argv[out++] = argv[i];
		} else if (streq(a, "-c") || streq(a, "--config") || streq(a, "--store")) {
			if (i + 1 >= argc)
				return abur_error(-1, "usage", "%s needs a value", a);
			val = argv[++i];
		} else if (startswith(a, "--config=") || startswith(a, "--store=")) {
			val = strchr(a, '=') + 1;
		} else if (streq(a, "--json")) {
			ctx->json = true;
		} else if (streq(a, "-v") || streq(a, "--verbose")) {
			log_set_level(LOG_LVL_DEBUG);
		} else if (streq(a, "-q") || streq(a, "--quiet")) {
			log_set_level(LOG_LVL_ERROR);
		} else if (streq(a, "-h") || streq(a, "--help")) {
			*help = true;
		} else if (streq(a, "--version")) {
			*version = true;
		} else {
			argv[out++] = argv[i];
		}
		if (val && startswith(a, "--store"))
			ctx->store = val;
		else if (val)
			ctx->config_path = val;
	}
	argv[out] = NULL;
	return out;
}

/* What the command line asks for, after the global options; the exit status. */
static int run(struct ctx *ctx, const struct cmd *c, int argc, char **argv, bool help, bool version)
{
	if (argc < 0)
		return EXIT_USAGE;
	if (version && argc == 0)
		return cmd_version(ctx, 0, argv);
	if (argc == 0) {
		abur_usage(help ? stdout : stderr);
		return help ? EXIT_OK : abur_error(EXIT_USAGE, "usage", "no command given (try 'abur --help')");
	}
	if (!c)
		return abur_error(EXIT_USAGE, "usage", "unknown command '%s' (try 'abur --help')", argv[0]);
	if (help) {
		cmd_print_help(c, stdout);
		return EXIT_OK;
	}
	if (!c->run)
		return abur_error(EXIT_FAIL, "unsupported", "%s: not available in this build: needs %s", c->name,
				  c->missing);
	return c->run(ctx, argc, argv);
}

int main(int argc, char **argv)
{
	struct ctx ctx = {.config_path = getenv("ABUR_CONFIG")};
	bool help = false, version = false;
	const struct cmd *c;
	int r;

	/* File names in payloads are UTF-8 (pax); without a UTF-8 ctype,
	 * libarchive cannot convert non-ASCII names. Built into glibc. */
	setlocale(LC_CTYPE, "C.UTF-8");
	if (!ctx.config_path || !*ctx.config_path)
		ctx.config_path = CONFIG_DEFAULT_CONFIG;
	log_setup("abur", false);
	abur_fail_clear(); /* the entry point: every record is this command's */
	r = io_setup_from_env();
	argc = take_globals(&ctx, argc - 1, argv + 1, &help, &version);
	argv++;
	if (r < 0) {
		(void)cmd_error(r, "ABUR_IO_FAULT");
		return cmd_json_exit(&ctx, NULL, EXIT_USAGE);
	}
	c = argc > 0 ? cmd_find(argv[0]) : NULL;
	r = run(&ctx, c, argc, argv, help, version);
	config_free(ctx.cfg);
	return cmd_json_exit(&ctx, c ? c->name : NULL, r);
}
