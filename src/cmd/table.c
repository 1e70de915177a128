#include <stdarg.h>
#include <string.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/log.h"

#define FEATURE(opt, fn) (IS_ENABLED(opt) ? (fn) : NULL)

static const struct cmd commands[] = {
    {"backup", "snapshot components into the flash store now", "[COMPONENT...]",
     "  Backs up the named components (by default every file-level one, and os\n"
     "  when its policy is nightly and it is sealed).  For os, an update\n"
     "  generation of the seal: what changed on the sealed filesystems and raw\n"
     "  areas since it.  Unchanged content writes nothing and exits with status 4.\n"
     "  FIFOs and device nodes are left out with a warning; a tree beyond the\n"
     "  [restore] limits fails and commits nothing.  A file that keeps changing\n"
     "  is retried, then the backup is deferred (status 3, naming the file).\n"
     "  --root DIR      the running system's / (default /)\n"
     "  --trigger WHY   recorded in the manifest (default: manual): 1-64 printable\n"
     "                  ASCII characters, none of = [ ] ; # \" \\\n",
     cmd_backup, "the snapshot store"},
    {"list", "list stored generations", "[COMPONENT]", "", cmd_list, "the snapshot store"},
    {"status", "show last backup, next run and deferrals per component", "",
     "  Ends with one verdict: protected (exit 0), or at risk (exit 5) with every\n"
     "  reason: no_seal, no_backup, newest_fails_check, daemon_not_running,\n"
     "  flash_missing, store_unreadable (exit 1), last_run_failed, deferred,\n"
     "  store_nearly_full (under 10% free).  --json: \"verdict\" with reasons.\n",
     cmd_status, "the snapshot store"},
    {"verify", "re-read every payload and check its hashes", "[COMPONENT] [--generation N]", "", cmd_verify,
     "the snapshot store"},
    {"restore", "extract a file-level component", "COMPONENT [--generation N] --to ROOT [--exact [--yes]] [PATH...]",
     "  The newest valid generation by default.  PATH (absolute, as configured):\n"
     "  only those files or folders.  Files under the restored paths that the\n"
     "  generation does not hold are left in place and counted; --exact removes\n"
     "  them (never an excluded path) after showing the plan and asking; --yes\n"
     "  answers for scripts.\n",
     cmd_restore, "the snapshot store"},
    {"ls", "list the entries of a generation", "COMPONENT [--generation N] [PATH...]",
     "  The newest valid generation by default.  One line per entry: type and\n"
     "  mode, uid/gid, size, mtime, path (-> symlink target, link to hard-link\n"
     "  target).  PATH: that path and everything under it (/etc/vms, etc/vms).\n"
     "  os: a seal's filesystems as sealed; an update's as they were at that\n"
     "  capture (its seal with its changes), paths pN/PATH per partition N.\n"
     "  --json: {\"schema\": 1, ..., \"entries\": [...]} with sizes in bytes.\n",
     cmd_ls, "the snapshot store"},
    {"diff", "show what changed between two generations", "COMPONENT [A [B]] [PATH...]",
     "  A and B are generations (12 or g000012).  Without them: the newest valid\n"
     "  generation against the one before it (an os update: against its seal);\n"
     "  A alone: A against the one before it.  One line per path: + added,\n"
     "  - removed, M changed (what: type, content, mode, owner, size, mtime,\n"
     "  xattrs).  PATH: that path and everything under it.  --json for machines.\n",
     cmd_diff, "the snapshot store"},
    {"export", "write any generation as one standard pax tar.zst", "COMPONENT [--generation N] -o FILE",
     "  The newest valid generation by default.  A file component or an os seal:\n"
     "  its payload, checked against its hash.  An os update: what it adds or\n"
     "  changes under pN/ (with xattrs and ACLs), and under .abur/ the deleted\n"
     "  paths, links into the seal, its state and its raw areas.  GNU tar\n"
     "  extracts it: tar --zstd -xpf FILE --xattrs --acls.  FILE must not exist.\n",
     cmd_export, "the snapshot store"},
    {"seal", "capture the os image from an unmounted disk", "--disk DEV",
     "  Stores the partition table, the boot area and the used blocks of every\n"
     "  partition as a pinned os generation, then seals every file-level\n"
     "  component from the disk's root filesystem (mounted read-only).\n",
     FEATURE(CONFIG_IMAGE, cmd_seal), "disk imaging (CONFIG_IMAGE)"},
    {"reimage", "write the os image and newest settings onto a disk",
     "--disk DEV [--generation N] [--no-update] [--yes=SERIAL] [--dry-run]",
     "  The newest seal, then its newest update that verifies (an older one, or\n"
     "  none, when it does not: said so).  --generation N: a seal, or an update\n"
     "  (its seal, then it).  --no-update: the seal alone, the server as delivered.\n"
     "  A blank disk is written without asking; one that holds data (ours,\n"
     "  foreign) only with --yes=SERIAL (see abur probe); the flash never.\n"
     "  --no-settings   do not restore software, license and config afterwards\n"
     "  --dry-run       show the plan (disk, layout, images, files, bytes) and\n"
     "                  write nothing\n"
     "  --settings-only only restore license and config into the disk's root\n"
     "                  filesystem (a disk that is ours, or --yes=SERIAL)\n"
     "  An interrupted run leaves abur/state/reimage-incomplete in the store.\n",
     FEATURE(CONFIG_IMAGE, cmd_reimage), "disk imaging (CONFIG_IMAGE)"},
    {"probe", "classify disks: flash, blank, ours, foreign", "[DEV... | --system]",
     "  Without DEV, every disk.  Shows model, serial, size, slot, partitions and\n"
     "  filesystems (types by name), and why the disk has its class.  A disk\n"
     "  that cannot be read is listed as unreadable, the rest still probed,\n"
     "  exit 1.  --json for machines.\n"
     "  --system   the disk that [disk] system names (auto, slot:, serial:, path)\n",
     FEATURE(CONFIG_IMAGE, cmd_probe), "disk imaging (CONFIG_IMAGE)"},
    {"daemon", "run the resident change-watcher and nightly scheduler", "",
     "  Runs in the foreground (systemd Type=notify, or init/S60abur).  Watches\n"
     "  every nightly/change component with inotify, backs up at [schedule]\n"
     "  nightly unless a watched file changed within defer_if_changed_within,\n"
     "  and policy = change components after their quiet period.\n"
     "  SIGHUP reloads the configuration; SIGTERM lets a running commit finish.\n"
     "  State: [daemon] state_dir/daemon.state; events: [daemon] event_log.\n",
     FEATURE(CONFIG_DAEMON, cmd_daemon), "the change-watcher (CONFIG_DAEMON)"},
    {"agent", "the boot-time restore agent (run by the initramfs)", "[--mode MODE] [--confirm SERIAL] [--timeout 60s]",
     "  MODE: auto (default), restore, restore-settings, seal, verify, shell; taken\n"
     "  from --mode, $ABUR_MODE or abur.mode= on the kernel command line, and\n"
     "  the serial from --confirm, $ABUR_CONFIRM or abur.confirm=.  auto reimages\n"
     "  only a blank disk (or resumes its own interrupted reimage); the others\n"
     "  show the plan and need the disk serial.  After 3 failed automatic\n"
     "  attempts it stops and asks for a technician.  Exit: 0 done, 4 nothing\n"
     "  done, 1 failed; a reboot is requested in $ABUR_REBOOT_REQUEST.\n",
     FEATURE(CONFIG_AGENT, cmd_agent), "the boot agent (CONFIG_AGENT)"},
    {"flash", "prepare a flash device", "install --device DEV [--image FILE] [--yes=SERIAL]",
     "  Writes the board's flash image (make flash-image) boot partition and a new,\n"
     "  empty ABUR-STORE filling the rest of DEV. Never the system disk; a device\n"
     "  holding data only with --yes=SERIAL.\n",
     FEATURE(CONFIG_AGENT, cmd_flash), "the boot agent (CONFIG_AGENT)"},
    {"config", "validate and print the effective configuration",
     "check [-c FILE] [--json] | get SECTION.KEY | resolve SECTION.KEY",
     "  check: exits 0 and prints the configuration when it is valid; exits 2 and\n"
     "  names every problem (file:line: what was expected) when it is not.\n"
     "  get: prints one effective value (flash.store, disk.system, ...).\n"
     "  resolve: prints the device flash.store, flash.boot or disk.system names\n"
     "  now (disk.system as the boot agent finds it); exits 1 when there is none.\n"
     "  A bad configuration exits 2 naming the problem, as check does.\n",
     cmd_config, NULL},
    {"help", "show help for a command", "[COMMAND]", "", cmd_help, NULL},
    {"version", "show version and enabled build features", "", "", cmd_version, NULL},
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
const struct cmd *cmd_at(size_t i)
{
	return i < ARRAY_SIZE(commands) ? &commands[i] : NULL;
}

void cmd_print_help(const struct cmd *c, FILE *f)
{
	fprintf(f, "usage: abur [GLOBAL OPTIONS] %s %s\n\n%s.\n", c->name, c->usage, c->summary);
	if (c->help && *c->help)
		fprintf(f, "\n%s", c->help);
	if (!c->run)
		fprintf(f, "\nNot available in this build: needs %s.\n", c->missing);
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "abur %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: abur %s %s\n", c->name, c->usage);
	return EXIT_USAGE;
}

int cmd_error(int r, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_error_errno(r, "%s", what);
	return EXIT_FAIL;
}
