/* The agent's flow: gather facts, decide (decide.c), show the plan, act,
 * report.  Everything it says goes to the console and to syslog/stderr. */
#include "agent.h"

#include <poll.h>
#include <string.h>
#include <time.h>

#include "core/io.h"
#include "core/log.h"
#include "report.h"

#define ATTEMPTS_FILE "state/agent-attempts"

struct agent {
	const struct abur_config *cfg;
	const struct agent_opts *o;
	struct store *s;
	char *dev;
	struct disk_info *disk;
	struct agent_facts f;
	uint64_t os_seq; /* the os generation that verified */
	uint64_t required;
	struct report rep;
};

/* What agent_run() holds, released on its way out. */
static void agent_clear(struct agent *ag)
{
	store_close(ag->s);
	disk_info_free(ag->disk);
	free(ag->dev);
	report_free(&ag->rep);
}

static void say(struct agent *ag, const char *fmt, ...) PRINTF(2, 3);
static void say(struct agent *ag, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(ag->o->out, "ABUR: %s\n", msg);
	fflush(ag->o->out);
	log_syslog(LOG_LVL_INFO, "%s", msg);
	report_line(&ag->rep, "%s", msg);
}

static void seal_warn(void *arg, const char *component, const char *line)
{
	say(arg, "WARNING: %s: %s", component, line);
}

/* Reads "serial = X" / "attempts = N" style files from the store. */
static bool file_has_serial(struct agent *ag, const char *rel, unsigned *num)
{
	_cleanup_free_ char *text = NULL, *want = NULL;
	char *p;

	if (store_get_file(ag->s, rel, 4096, &text, NULL) < 0)
		return false;
	want = xasprintf("serial = %s\n", ag->disk->serial);
	if (!strstr(text, want))
		return false;
	if (num && (p = strstr(text, "attempts = ")))
		*num = (unsigned)strtoul(p + 11, NULL, 10);
	return true;
}

static void set_attempts(struct agent *ag, unsigned n)
{
	_cleanup_free_ char *t = xasprintf("serial = %s\nattempts = %u\n", ag->disk->serial, n);
	int r = n ? store_put_file(ag->s, ATTEMPTS_FILE, t, strlen(t)) : store_remove_file(ag->s, ATTEMPTS_FILE);

	if (r < 0)
		log_warn_errno(r, "cannot record the attempt counter");
}

static void find_os_image(struct agent *ag, enum gen_check check)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;

	ag->f.store = ST_NO_IMAGE;
	if (store_newest(ag->s, IMAGE_COMPONENT, check, store_os_base_max(ag->s), &l, &g) == 0) {
		ag->f.store = ST_IMAGE_OK;
		ag->os_seq = g->seq;
	}
}

static bool have_settings(struct agent *ag)
{
	static const char *const names[] = {"license", "config"};
	bool any = false;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_(gen_list_free) struct gen_list l = {0};
		const struct generation *g;
		if (store_newest(ag->s, names[i], GEN_CHECK_VALID, GEN_SEQ_ANY, &l, &g) == 0)
			any = true;
	}
	return any;
}

static void probe_slot(struct agent *ag)
{
	_cleanup_free_ char *sealed_id = NULL;
	int r = image_resolve_system(ag->cfg->disk.system, &ag->dev);

	if (r < 0) {
		say(ag, "system-disk slot (%s): %s", ag->cfg->disk.system, abur_errmsg(r));
		return;
	}
	if (ag->s)
		abur_ignore(image_sealed_info(ag->s, &sealed_id, &ag->required, NULL)); /* none: not ours */
	r = image_probe(ag->dev, sealed_id, &ag->disk);
	if (r < 0) {
		say(ag, "cannot probe %s: %s", ag->dev, abur_errmsg(r));
		return;
	}
	ag->f.disk = true;
	ag->f.cls = ag->disk->cls;
	ag->f.big_enough = ag->required && ag->disk->size >= ag->required;
	_cleanup_free_ char *disk = disk_summary(ag->disk);
	say(ag, "system disk %s: %s, slot %s: %s (%s)", ag->dev, disk, ag->disk->slot ? ag->disk->slot : "-",
	    disk_class_name(ag->disk->cls), ag->disk->reason);
}

/* Collects everything agent_decide() needs. */
static void gather(struct agent *ag)
{
	int r;

	ag->f.mode = ag->o->mode;
	r = store_open(ag->cfg, ag->o->store, ag->o->mode == MODE_VERIFY ? STORE_READ : STORE_WRITE, &ag->s);
	if (r < 0) {
		say(ag, "flash store: %s", abur_errmsg(r));
		ag->f.store = ST_MISSING;
		ag->s = NULL;
	} else {
		find_os_image(ag, GEN_CHECK_VALID);
		ag->f.have_settings = have_settings(ag);
	}
	probe_slot(ag);
	if (ag->s && ag->f.disk) {
		/* A kernel name is no identity: another serial-less disk with data
		 * must not match a stale marker, so such disks resume only while blank. */
		ag->f.marker = file_has_serial(ag, IMAGE_MARKER, NULL) &&
			       (!ag->disk->serial_is_name || ag->disk->cls == DISK_BLANK);
		if (!file_has_serial(ag, ATTEMPTS_FILE, &ag->f.attempts))
			ag->f.attempts = 0;
	}
	if (ag->o->confirm && *ag->o->confirm && ag->f.disk)
		ag->f.confirm = streq(ag->o->confirm, ag->disk->serial) ? CONFIRM_MATCH : CONFIRM_MISMATCH;
}

static void say_line(void *arg, const char *text)
{
	say(arg, "%s", text);
}

/* The reimage's plan, as `abur reimage --dry-run` shows it. */
static void show_reimage_plan(struct agent *ag)
{
	struct reimage_opts ro = {.generation = ag->os_seq, .grow = ag->cfg->disk.grow_last_partition};
	struct reimage_plan p;
	int r = image_reimage_plan(ag->cfg, ag->s, ag->dev, &ro, &p);

	if (r < 0)
		say(ag, "  (no plan: %s)", abur_errmsg(r));
	else
		reimage_plan_text(&p, say_line, ag);
	reimage_plan_free(&p);
}

static void show_plan(struct agent *ag, const char *what, enum agent_action a)
{
	_cleanup_free_ char *disk = disk_summary(ag->disk);

	say(ag, "PLAN: %s", what);
	if ((a == ACT_REIMAGE || a == ACT_ASK) && (ag->o->mode == MODE_RESTORE || ag->o->mode == MODE_AUTO))
		show_reimage_plan(ag);
	else
		say(ag, "  disk:   %s  %s  %s (%s)", ag->dev, disk, disk_class_name(ag->disk->cls), ag->disk->reason);
}

/* Asks for the disk serial; an unanswered prompt does nothing. */
static enum confirm_state ask_serial(struct agent *ag)
{
	struct pollfd p = {.fd = fileno(ag->o->in), .events = POLLIN};
	char line[256] = "";

	fprintf(ag->o->out,
		"ABUR: type the disk serial (%s) to proceed, anything else cancels [%us]: ", ag->disk->serial,
		ag->o->prompt_timeout);
	fflush(ag->o->out);
	if (poll(&p, 1, (int)ag->o->prompt_timeout * 1000) <= 0 || !fgets(line, sizeof(line), ag->o->in)) {
		fprintf(ag->o->out, "\n");
		say(ag, "no answer: nothing done");
		return CONFIRM_UNANSWERED;
	}
	const char *typed = strstrip(line);
	if (!*typed) {
		say(ag, "no serial typed: nothing done");
		return CONFIRM_UNANSWERED;
	}
	if (!streq(typed, ag->disk->serial)) {
		say(ag, "the serial typed does not match: nothing done");
		return CONFIRM_MISMATCH;
	}
	return CONFIRM_MATCH;
}

static enum agent_result do_reimage(struct agent *ag)
{
	struct reimage_opts ro = {.generation = ag->os_seq,
				  .confirm = ag->disk->serial,
				  .grow = ag->cfg->disk.grow_last_partition,
				  .verified = true, /* find_os_image(GEN_CHECK_VERIFY) just read it end to end */
				  .progress = ag->o->progress,
				  .progress_arg = ag->o->progress_arg};
	struct reimage_result res;
	int r;

	if (ag->o->mode == MODE_AUTO)
		set_attempts(ag, ag->f.attempts + 1);
	say(ag, "reimaging %s from os g%06llu", ag->dev, (unsigned long long)ag->os_seq);
	r = image_reimage(ag->cfg, ag->s, ag->dev, &ro, &res);
	if (r < 0) {
		say(ag, "REIMAGE FAILED: %s", abur_errmsg(r));
		free(res.update_why);
		free(res.files.why);
		return AGENT_FAILED;
	}
	set_attempts(ag, 0);
	if (res.update_skipped)
		say(ag, "passed over %llu damaged os %s: %s", (unsigned long long)res.update_skipped,
		    noun(res.update_skipped, "update", "updates"), res.update_why);
	free(res.update_why);
	if (res.files.why)
		say(ag, "passed over %u damaged file component %s: restored %s", res.files.passed_over,
		    noun(res.files.passed_over, "generation", "generations"), res.files.why);
	free(res.files.why);
	char upd[32] = "none";
	if (res.update)
		snprintf(upd, sizeof(upd), "g%06llu", (unsigned long long)res.update);
	char wr[32];
	say(ag, "RESTORED: %s from os g%06llu, update %s, %u settings %s, %s written", ag->dev,
	    (unsigned long long)res.seq, upd, res.components, noun(res.components, "component", "components"),
	    fmt_bytes(res.written, wr, sizeof(wr)));
	return AGENT_DONE;
}

static void say_outcome(void *arg, const char *comp, const struct generation *g, int r)
{
	say(arg, "verify %s g%06llu: %s", comp, (unsigned long long)g->seq, r < 0 ? abur_errmsg(r) : "ok");
}

static enum agent_result do_verify(struct agent *ag)
{
	int bad = store_verify_all(ag->s, NULL, 0, say_outcome, ag, NULL, NULL);

	if (bad < 0) {
		say(ag, "VERIFY FAILED: %s", abur_errmsg(bad));
		return AGENT_FAILED;
	}
	say(ag, "VERIFY %s: %d %s failed", bad ? "FAILED" : "OK", bad,
	    noun((uint64_t)bad, "generation", "generations"));
	return bad ? AGENT_FAILED : AGENT_DONE;
}

static enum agent_result act(struct agent *ag, enum agent_action a)
{
	struct seal_result sr;
	struct files_result fr = {0};
	char used[32], stored[32];
	int r;

	switch (a) {
	case ACT_REIMAGE:
		return do_reimage(ag);
	case ACT_RESTORE_SETTINGS:
		r = image_restore_settings(ag->cfg, ag->s, ag->dev, IMAGE_FILES_SETTINGS,
					   &(struct progress_hook){ag->o->progress, ag->o->progress_arg}, &fr);
		if (fr.why)
			say(ag, "passed over %u damaged %s: restored %s", fr.passed_over,
			    noun(fr.passed_over, "generation", "generations"), fr.why);
		free(fr.why);
		if (r < 0)
			say(ag, "RESTORE FAILED: %s", abur_errmsg(r));
		else
			say(ag, "RESTORED: %d settings %s into %s", r, noun((uint64_t)r, "component", "components"),
			    ag->dev);
		return r < 0 ? AGENT_FAILED : AGENT_DONE;
	case ACT_SEAL:
		r = image_seal(ag->cfg, ag->s, ag->dev,
			       &(struct seal_opts){ag->o->progress, ag->o->progress_arg, seal_warn, ag}, &sr);
		if (r < 0)
			say(ag, "SEAL FAILED: %s", abur_errmsg(r));
		else
			say(ag, "SEALED: os g%06llu (%s used, %s stored) and %u %s", (unsigned long long)sr.seq,
			    fmt_bytes(sr.used_bytes, used, sizeof(used)),
			    fmt_bytes(sr.payload_bytes, stored, sizeof(stored)), sr.components,
			    noun(sr.components, "component", "components"));
		return r < 0 ? AGENT_FAILED : AGENT_DONE;
	case ACT_VERIFY:
		return do_verify(ag);
	default:
		return AGENT_NOTHING;
	}
}

/* Saves the report to the store and, after a restore, into the system. */
static void save_report(struct agent *ag, enum agent_action a, enum agent_result rc)
{
	_cleanup_free_ char *name = report_name(&ag->rep, a == ACT_SEAL ? "seal" : "restore");
	int r;

	if (!ag->s)
		return;
	r = report_to_store(&ag->rep, ag->s, name);
	if (r < 0)
		log_warn_errno(r, "report not saved to the flash");
	if (rc == AGENT_DONE && (a == ACT_REIMAGE || a == ACT_RESTORE_SETTINGS) &&
	    (r = report_to_disk(&ag->rep, ag->dev, name)) < 0)
		log_warn_errno(r, "report not saved on the restored disk");
}

static void request_reboot(const struct agent_opts *o)
{
	int r = o->reboot_request ? io_write_file_atomic(o->reboot_request, "reboot\n", 7, 0644) : 0;

	if (r < 0)
		log_warn_errno(r, "cannot request the reboot");
}

enum agent_result agent_run(const struct abur_config *cfg, const struct agent_opts *o)
{
	_cleanup_(agent_clear) struct agent ag = {.cfg = cfg, .o = o};
	struct agent_decision dec;
	enum agent_result rc;

	say(&ag, "agent starting: mode %s", agent_mode_name(o->mode));
	gather(&ag);
	dec = agent_decide(&ag.f);
	if (dec.action == ACT_REIMAGE || (dec.action == ACT_ASK && o->mode == MODE_RESTORE)) {
		/* Only an image that verifies end to end is written. */
		find_os_image(&ag, GEN_CHECK_VERIFY);
		dec = agent_decide(&ag.f);
	}
	say(&ag, "decision: %s: %s", agent_action_name(dec.action), dec.reason);
	if (dec.action == ACT_ASK) {
		show_plan(&ag, dec.reason, dec.action);
		ag.f.confirm = ask_serial(&ag);
		dec = agent_decide(&ag.f);
		if (ag.f.confirm != CONFIRM_MATCH)
			dec.action = ACT_NOTHING;
	} else if (dec.action == ACT_REIMAGE || dec.action == ACT_SEAL || dec.action == ACT_RESTORE_SETTINGS) {
		show_plan(&ag, dec.reason, dec.action);
	}
	if (dec.action == ACT_GIVE_UP)
		say(&ag, "STOPPED: %s", dec.reason);
	else if (dec.action == ACT_NOTHING)
		say(&ag, "NOTHING DONE: %s", dec.reason);
	rc = act(&ag, dec.action);
	if (dec.action == ACT_GIVE_UP)
		rc = AGENT_FAILED;
	if (dec.action != ACT_SHELL && dec.action != ACT_VERIFY)
		save_report(&ag, dec.action, rc);
	if (rc == AGENT_DONE && dec.action != ACT_VERIFY)
		request_reboot(o);
	return rc;
}
