/* help, version, and the top-level usage text. */
#include <archive.h>
#include <ctype.h>
#include <string.h>
#include <zstd.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/json.h"

#ifndef ABUR_VERSION
#define ABUR_VERSION "0.0.0-dev"
#endif

/* The global options (main.c take_globals), in the usage text and, as
 * words, for the bash completion (abur help --options). */
static const char globals[] = "  -c, --config FILE   runtime configuration (default " CONFIG_DEFAULT_CONFIG ")\n"
			      "  --store DIR|SPEC    a mounted store directory, or LABEL=/UUID=/PARTUUID=/device\n"
			      "  --json              machine-readable output\n"
			      "  -v, --verbose       more detail;  -q, --quiet  errors only\n"
			      "  -h, --help          this help;  --version  version and features\n";

void abur_usage(FILE *f)
{
	fprintf(f,
		"usage: abur [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
		"Keeps this server recoverable from its built-in flash.\n\n"
		"Global options:\n%s\nCommands:\n",
		globals);
	for (size_t i = 0; i < cmd_count(); i++) {
		const struct cmd *c = cmd_at(i);
		fprintf(f, "  %-9s %s%s\n", c->name, c->summary, c->run ? "" : " (not in this build)");
	}
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 bad usage or configuration,\n"
		   "3 deferred by policy, 4 nothing to do, 5 at risk (status).\n"
		   "'abur help COMMAND' for more.\n");
}

/* Prints each option word (-c, --generation, --yes=) of text once: every one
 * of it when all, else only those of the lines that start "  -" (the
 * option lines of a help text, not the prose).  seen holds " WORD " each. */
static void print_option_words(const char *text, bool all, char *seen, size_t n)
{
	bool optline = all;

	for (const char *p = text; *p; p++) {
		if (p == text || p[-1] == '\n')
			optline = all || startswith(p, "  -");
		if (!optline || *p != '-' || (p > text && !strchr(" [|,", p[-1])))
			continue;
		size_t len = 1 + (p[1] == '-');
		if (!isalpha((unsigned char)p[len]))
			continue;
		while (isalnum((unsigned char)p[len]) || p[len] == '-')
			len++;
		len += p[len] == '=';
		char word[64];
		snprintf(word, sizeof(word), " %.*s ", (int)len, p);
		if (strstr(seen, word) || strlen(seen) + strlen(word) >= n)
			continue;
		strcat(seen, word);
		printf("%.*s\n", (int)len, p);
	}
}

/* abur help --commands | --options [CMD] | --components: words for the
 * bash completion (completion/abur), one a line, from the command table,
 * its usage and help texts, and the effective configuration. */
static int complete_words(struct ctx *ctx, int argc, char **argv)
{
	char seen[2048] = " ";
	const struct cmd *c = argc > 2 ? cmd_find(argv[2]) : NULL;
	int r;

	if (streq(argv[1], "--commands"))
		for (size_t i = 0; i < cmd_count(); i++)
			printf("%s\n", cmd_at(i)->name);
	else if (streq(argv[1], "--options")) {
		if (c) {
			print_option_words(c->usage, true, seen, sizeof(seen));
			size_t i = 0;
			for (const char *t; (t = cmd_manual(c, &i));)
				print_option_words(t, false, seen, sizeof(seen));
		}
		print_option_words(globals, false, seen, sizeof(seen));
	} else {
		if ((r = ctx_config(ctx)))
			return r;
		for (size_t i = 0; i < ctx->cfg->ncomps; i++)
			printf("%s\n", ctx->cfg->comps[i].name);
	}
	return EXIT_OK;
}

int cmd_help(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2) {
		abur_usage(stdout);
		return EXIT_OK;
	}
	if (streq(argv[1], "--commands") || streq(argv[1], "--options") || streq(argv[1], "--components"))
		return complete_words(ctx, argc, argv);
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
	    {"image", IS_ENABLED(CONFIG_IMAGE)},   {"ntfs", IS_ENABLED(CONFIG_IMAGE_NTFS)},
	    {"daemon", IS_ENABLED(CONFIG_DAEMON)}, {"agent", IS_ENABLED(CONFIG_AGENT)},
	    {"syslog", IS_ENABLED(CONFIG_SYSLOG)},
	};

	(void)argc, (void)argv;
	if (ctx->json) {
		struct json j;
		cmd_json_begin(&j, "version");
		json_str(&j, "version", ABUR_VERSION);
		json_str(&j, "board", CONFIG_BOARD);
		json_obj_begin(&j, "features");
		for (size_t i = 0; i < ARRAY_SIZE(features); i++)
			json_bool(&j, features[i].name, features[i].on);
		json_obj_end(&j);
		cmd_json_end(&j);
		return EXIT_OK;
	}
	printf("abur %s (board %s)\nfeatures:", ABUR_VERSION, CONFIG_BOARD);
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		printf(" %c%s", features[i].on ? '+' : '-', features[i].name);
	printf("\nzstd level %d, %d threads\n%s, zstd %s\n", CONFIG_ZSTD_LEVEL, CONFIG_ZSTD_THREADS,
	       archive_version_string(), ZSTD_versionString());
	return EXIT_OK;
}
