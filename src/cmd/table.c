#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/log.h"
#include "manhelp.h"

#define FEATURE(opt, fn) (IS_ENABLED(opt) ? (fn) : NULL)

/* The commands.  What each one does, its options and examples are in
 * doc/abur.8 (section COMMANDS), compiled in by scripts/man2help: abur help
 * COMMAND prints that. */
static const struct cmd commands[] = {
    {"backup", "snapshot components into the flash store now",
     "[COMPONENT...] [--root DIR] [--trigger WHY] [--tag NAME]", cmd_backup, "the snapshot store"},
    {"list", "list stored generations", "[COMPONENT]", cmd_list, "the snapshot store"},
    {"status", "show whether the server is protected, per component and as a verdict", "", cmd_status,
     "the snapshot store"},
    {"verify", "re-read every payload and check its hashes", "[COMPONENT] [--generation N]", cmd_verify,
     "the snapshot store"},
    {"restore", "extract a file-level component", "COMPONENT [--generation N] --to ROOT [--exact [--yes]] [PATH...]",
     cmd_restore, "the snapshot store"},
    {"ls", "list the entries of a generation", "COMPONENT [--generation N] [PATH...]", cmd_ls, "the snapshot store"},
    {"diff", "show what changed between two generations", "COMPONENT [A [B]] [PATH...]", cmd_diff,
     "the snapshot store"},
    {"export", "write any generation as one standard pax tar.zst", "COMPONENT [--generation N] -o FILE", cmd_export,
     "the snapshot store"},
    {"forget", "remove one generation now", "COMPONENT --generation N|TAG [--unpin]", cmd_forget, "the snapshot store"},
    {"prune", "apply retention now, or show what it would remove", "[COMPONENT...] [--dry-run]", cmd_prune,
     "the snapshot store"},
    {"seal", "capture the os image from an unmounted disk", "--disk DEV", FEATURE(CONFIG_IMAGE, cmd_seal),
     "disk imaging (CONFIG_IMAGE)"},
    {"reimage", "write the os image and newest settings onto a disk",
     "--disk DEV [--generation N] [--no-update] [--yes=SERIAL] [--no-settings | --settings-only] [--dry-run]",
     FEATURE(CONFIG_IMAGE, cmd_reimage), "disk imaging (CONFIG_IMAGE)"},
    {"probe", "classify disks: flash, blank, ours, foreign", "[DEV... | --system]", FEATURE(CONFIG_IMAGE, cmd_probe),
     "disk imaging (CONFIG_IMAGE)"},
    {"daemon", "run the resident change-watcher and nightly scheduler", "", FEATURE(CONFIG_DAEMON, cmd_daemon),
     "the change-watcher (CONFIG_DAEMON)"},
    {"agent", "the boot-time restore agent (run by the initramfs)", "[--mode MODE] [--confirm SERIAL] [--timeout DUR]",
     FEATURE(CONFIG_AGENT, cmd_agent), "the boot agent (CONFIG_AGENT)"},
    {"flash", "prepare a flash device", "install --device DEV [--image FILE] [--yes=SERIAL]",
     FEATURE(CONFIG_AGENT, cmd_flash), "the boot agent (CONFIG_AGENT)"},
    {"config", "validate and print the effective configuration", "check | get SECTION.KEY | resolve SECTION.KEY",
     cmd_config, NULL},
    {"help", "show help for a command", "[COMMAND]", cmd_help, NULL},
    {"version", "show version and enabled build features", "", cmd_version, NULL},
};

const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i].name, name))
			return &commands[i];
	return NULL;
}

size_t cmd_count(void)
{
	return ARRAY_SIZE(commands);
}
const char *cmd_manual(const struct cmd *c, size_t *i)
{
	for (; *i < ARRAY_SIZE(man_help); ++*i)
		if (streq(man_help[*i].cmd, c->name))
			return man_help[(*i)++].text;
	return NULL;
}

const struct cmd *cmd_at(size_t i)
{
	return i < ARRAY_SIZE(commands) ? &commands[i] : NULL;
}

void cmd_print_help(const struct cmd *c, FILE *f)
{
	fprintf(f, "usage: abur [GLOBAL OPTIONS] %s %s\n\n%s.\n", c->name, c->usage, c->summary);
	for (size_t i = 0; i < ARRAY_SIZE(man_help); i++)
		if (streq(man_help[i].cmd, c->name))
			fprintf(f, "\n%s", man_help[i].text);
	if (!c->run)
		fprintf(f, "\nNot available in this build: needs %s.\n", c->missing);
}
