/* help, version, and the top-level usage text. */
#include <archive.h>
#include <zstd.h>

#include "abur/kconfig.h"
#include "cmd.h"

#ifndef ABUR_VERSION
#define ABUR_VERSION "0.0.0-dev"
#endif

void abur_usage(FILE *f)
{
	fprintf(f,
		"usage: abur [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
		"Keeps this server recoverable from its built-in flash.\n\n"
		"Global options:\n"
		"  -c, --config FILE   runtime configuration (default %s)\n"
		"  --store DIR|SPEC    a mounted store directory, or LABEL=/UUID=/PARTUUID=/device\n"
		"  --json              machine-readable output\n"
		"  -v, --verbose       more detail;  -q, --quiet  errors only\n"
		"  -h, --help          this help;  --version  version and features\n\n"
		"Commands:\n",
		CONFIG_DEFAULT_CONFIG);
	for (size_t i = 0; i < cmd_count(); i++) {
		const struct cmd *c = cmd_at(i);
		fprintf(f, "  %-9s %s%s\n", c->name, c->summary, c->run ? "" : " (not in this build)");
	}
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 bad usage or configuration,\n"
		   "3 deferred by policy, 4 nothing to do, 5 at risk (status).\n"
		   "'abur help COMMAND' for more.\n");
}

int cmd_help(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *c;

	(void)ctx;
	if (argc < 2) {
		abur_usage(stdout);
		return EXIT_OK;
	}
	c = cmd_find(argv[1]);
	if (!c) {
		fprintf(stderr, "abur help: no such command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	cmd_print_help(c, stdout);
	return EXIT_OK;
}

int cmd_version(struct ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *name;
		bool on;
	} features[] = {
	    {"image", IS_ENABLED(CONFIG_IMAGE)},
	    {"daemon", IS_ENABLED(CONFIG_DAEMON)},
	    {"agent", IS_ENABLED(CONFIG_AGENT)},
	    {"syslog", IS_ENABLED(CONFIG_SYSLOG)},
	};

	(void)ctx, (void)argc, (void)argv;
	printf("abur %s (board %s)\nfeatures:", ABUR_VERSION, CONFIG_BOARD);
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		printf(" %c%s", features[i].on ? '+' : '-', features[i].name);
	printf("\nzstd level %d, %d threads\n%s, zstd %s\n", CONFIG_ZSTD_LEVEL, CONFIG_ZSTD_THREADS,
	       archive_version_string(), ZSTD_versionString());
	return EXIT_OK;
}
