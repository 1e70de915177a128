/* abur status: per component, what the store holds (and, with the daemon
 * built in, what the daemon knows: dirty, last change, next run), then one
 * verdict: protected, or at risk with every reason (doc/design.md §10). */
#include <stdarg.h>
#include <string.h>
#include <sys/statvfs.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/json.h"
#include "image/image.h"
#include "watch/status.h"

struct comp_summary {
	const struct generation *newest;        /* newest that passes its check (summarise) */
	const struct generation *bad;           /* the newest generation when it fails its check */
	const struct generation *seal, *update; /* os: the effective seal and its newest update */
	size_t count;
	unsigned invalid;
	uint64_t bytes;
};

/* Lists c into l (an empty list when it cannot be listed). "Newest" is
 * what a restore or a reimage would take: the newest generation that
 * passes its check; every newer one failed it, and is marked so in l (the
 * seal and update below are then chosen among the good ones).  A file
 * component's payload is read back (small); the os image gets the cheap
 * checks only: a seal is the whole disk, and a monitoring check that runs
 * status every few minutes must not read it each time (abur verify os
 * does, and the agent before a reimage). */
static void summarise(struct store *s, const struct abur_component *c, struct gen_list *l, struct comp_summary *cs)
{
	enum gen_check check = component_is(c, CT_DISK_IMAGE) ? GEN_CHECK_VALID : GEN_CHECK_VERIFY;

	memset(cs, 0, sizeof(*cs));
	if (store_newest(s, c->name, check, GEN_SEQ_ANY, l, &cs->newest) < 0)
		cs->newest = NULL;
	cs->count = l->n;
	for (size_t i = 0; i < l->n; i++)
		cs->invalid += !l->g[i].valid;
	if (l->n && &l->g[l->n - 1] != cs->newest)
		cs->bad = &l->g[l->n - 1];
	for (size_t i = l->n; i-- > 0 && &l->g[i] != cs->newest;)
		if (l->g[i].valid) {
			l->g[i].valid = false;
			l->g[i].problem = xstrdup("a payload does not read back");
			cs->invalid++;
		}
	cs->bytes = cs->newest ? gen_bytes(cs->newest) : 0;
	if (IS_ENABLED(CONFIG_IMAGE) && component_is(c, CT_DISK_IMAGE)) {
		cs->seal = image_newest_seal(s, l);
		cs->update = image_newest_update(l, cs->seal);
	}
}

static void print_os_text(const struct comp_summary *cs)
{
	char when[32];
	struct update_info u;

	if (!IS_ENABLED(CONFIG_IMAGE) || !cs->seal)
		return;
	printf("  seal: g%06llu at %s\n", (unsigned long long)cs->seal->seq,
	       fmt_time(cs->seal->m.time, when, sizeof(when)));
	if (!cs->update || !image_update_info(cs->update, &u)) {
		printf("  updates: none captured since the seal: a reimage brings the server back as sealed\n");
		return;
	}
	printf("  newest update: g%06llu at %s: %llu added, %llu changed, %llu deleted, %llu metadata only since the "
	       "seal\n",
	       (unsigned long long)cs->update->seq, fmt_time(cs->update->m.time, when, sizeof(when)),
	       (unsigned long long)u.added, (unsigned long long)u.changed, (unsigned long long)u.deleted,
	       (unsigned long long)u.metadata);
}

static void print_text(const struct abur_component *c, const struct comp_summary *cs)
{
	char when[32], size[32];
	const struct generation *g = cs->newest;

	printf("%s (%s, policy %s, keep %u)\n", c->name, comp_type_name(c->type), policy_name(c->policy), c->keep);
	if (!g) {
		printf("  no backup yet%s\n", cs->invalid ? " (only invalid generations)" : "");
		return;
	}
	printf("  newest: g%06llu at %s, trigger %s, %s%s\n", (unsigned long long)g->seq,
	       fmt_time(g->m.time, when, sizeof(when)), g->m.trigger, fmt_bytes(cs->bytes, size, sizeof(size)),
	       g->m.pinned ? ", pinned" : "");
	printf("  generations: %zu%s\n", cs->count, cs->invalid ? " (some invalid: run 'abur verify')" : "");
	print_os_text(cs);
}

static void print_json(struct json *j, const struct abur_component *c, const struct comp_summary *cs)
{
	json_str(j, "component", c->name);
	json_str(j, "type", comp_type_name(c->type));
	json_str(j, "policy", policy_name(c->policy));
	json_uint(j, "count", cs->count);
	json_uint(j, "invalid", cs->invalid);
	if (!cs->newest) {
		json_str(j, "newest", NULL);
		return;
	}
	json_obj_begin(j, "newest");
	json_uint(j, "generation", cs->newest->seq);
	json_time(j, "time", cs->newest->m.time);
	json_str(j, "trigger", cs->newest->m.trigger);
	json_uint(j, "payload_bytes", cs->bytes);
	json_bool(j, "pinned", cs->newest->m.pinned);
	json_obj_end(j);
	if (cs->seal)
		json_uint(j, "seal_generation", cs->seal->seq);
	if (cs->update)
		json_uint(j, "update_generation", cs->update->seq);
}

/* Why the server is not protected: each reason has a stable code (for
 * --json and monitoring) and a message (doc/abur.8 STATUS VERDICT). */
enum risk {
	RISK_NO_SEAL,
	RISK_NO_BACKUP,
	RISK_NEWEST_FAILS,
	RISK_DAEMON_STOPPED,
	RISK_FLASH_MISSING,
	RISK_STORE_UNREADABLE,
	RISK_RUN_FAILED,
	RISK_DEFERRED,
	RISK_STORE_FULL,
};

static const char *const risk_code[] = {
    [RISK_NO_SEAL] = "no_seal",
    [RISK_NO_BACKUP] = "no_backup",
    [RISK_NEWEST_FAILS] = "newest_fails_check",
    [RISK_DAEMON_STOPPED] = "daemon_not_running",
    [RISK_FLASH_MISSING] = "flash_missing",
    [RISK_STORE_UNREADABLE] = "store_unreadable",
    [RISK_RUN_FAILED] = "last_run_failed",
    [RISK_DEFERRED] = "deferred",
    [RISK_STORE_FULL] = "store_nearly_full",
};

/* Below this share of its filesystem free, the store is nearly full: the
 * next os capture or a few nights may not fit. */
#define STORE_FULL_PERCENT 10

struct reason {
	enum risk risk;
	char *msg;
};

struct verdict {
	struct reason *r;
	size_t n;
};

static void PRINTF(3, 4) at_risk(struct verdict *v, enum risk risk, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	v->r = xrealloc(v->r, (v->n + 1) * sizeof(*v->r));
	v->r[v->n++] = (struct reason){risk, msg};
}

static void verdict_free(struct verdict *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->r[i].msg);
	free(v->r);
}

static void comp_risks(struct verdict *v, const struct abur_component *c, const struct comp_summary *cs,
		       const struct watch_status *ws)
{
	bool os = component_is(c, CT_DISK_IMAGE);
	const char *failed = ws ? watch_status_failed(ws, c) : NULL;

	if (os && !cs->seal)
		at_risk(v, RISK_NO_SEAL, "%s: no seal: a reimage has nothing to write (abur seal)", c->name);
	else if (!os && !cs->newest)
		at_risk(v, RISK_NO_BACKUP, "%s: no generation that reads back: nothing to restore", c->name);
	if (cs->bad)
		at_risk(v, RISK_NEWEST_FAILS, "%s: the newest generation g%06llu fails its check: %s (abur verify %s)",
			c->name, (unsigned long long)cs->bad->seq, cs->bad->problem ? cs->bad->problem : "invalid",
			c->name);
	if (failed)
		at_risk(v, RISK_RUN_FAILED, "%s: the daemon's last run failed: %s", c->name, failed);
}

static void daemon_risks(struct verdict *v, const struct abur_config *cfg, const struct watch_status *ws)
{
	const char *why;
	unsigned n;

	if (!ws)
		return;
	if (!watch_status_running(ws))
		at_risk(v, RISK_DAEMON_STOPPED,
			"the daemon is not running (no lock on %s/daemon.pid): no change or "
			"nightly backups",
			cfg->daemon.state_dir);
	if ((n = watch_status_deferrals(ws, &why)))
		at_risk(v, RISK_DEFERRED, "the nightly run was deferred %u time%s in a row: %s", n, n == 1 ? "" : "s",
			why ? why : "");
}

/* store_open() failed because the store is not there: no flash device, or
 * no store at its path (rather than there but unreadable). */
static bool store_missing(int r)
{
	return r == -ENODEV || r == -ENOENT;
}

/* The store could not be opened: missing, or there but unreadable. */
static void open_risk(struct verdict *v, const struct watch_status *ws, int r)
{
	char when[32];
	time_t since = ws ? watch_status_flash_missing(ws) : 0;

	if (!store_missing(r))
		at_risk(v, RISK_STORE_UNREADABLE, "the flash store cannot be read: %s", abur_errmsg(r));
	else if (since)
		at_risk(v, RISK_FLASH_MISSING, "the flash store is missing (since %s): %s",
			fmt_time(since, when, sizeof(when)), abur_errmsg(r));
	else
		at_risk(v, RISK_FLASH_MISSING, "the flash store is missing: %s", abur_errmsg(r));
}

static void space_risk(struct verdict *v, struct store *s)
{
	struct statvfs sv;
	char fr[32], all[32];

	if (statvfs(store_root(s), &sv) < 0 || !sv.f_blocks)
		return;
	if ((uint64_t)sv.f_bavail * 100 < (uint64_t)sv.f_blocks * STORE_FULL_PERCENT)
		at_risk(v, RISK_STORE_FULL, "the store is nearly full: %s free of %s (less than %d%%)",
			fmt_bytes((uint64_t)sv.f_bavail * sv.f_frsize, fr, sizeof(fr)),
			fmt_bytes((uint64_t)sv.f_blocks * sv.f_frsize, all, sizeof(all)), STORE_FULL_PERCENT);
}

/* Without a disk component, nothing can be reimaged. */
static void config_risk(struct verdict *v, const struct abur_config *cfg)
{
	for (size_t i = 0; i < cfg->ncomps; i++)
		if (component_is(&cfg->comps[i], CT_DISK_IMAGE))
			return;
	at_risk(v, RISK_NO_SEAL, "no disk component (type = disk) in %s: a reimage has nothing to write", cfg->path);
}

/* Protected: what a reimage writes now, the seal with its newest update,
 * then the newest of every file component. */
static void print_protected(const struct abur_config *cfg, const struct comp_summary *cs)
{
	char when[32];

	printf("\nverdict: protected\n");
	for (size_t i = 0; i < cfg->ncomps; i++) {
		const struct comp_summary *c = &cs[i];
		if (c->seal) {
			printf("  %s: seal g%06llu of %s", cfg->comps[i].name, (unsigned long long)c->seal->seq,
			       fmt_time(c->seal->m.time, when, sizeof(when)));
			if (c->update)
				printf(", newest update g%06llu of %s", (unsigned long long)c->update->seq,
				       fmt_time(c->update->m.time, when, sizeof(when)));
			printf("\n");
		} else if (c->newest) {
			printf("  %s: g%06llu of %s\n", cfg->comps[i].name, (unsigned long long)c->newest->seq,
			       fmt_time(c->newest->m.time, when, sizeof(when)));
		}
	}
	printf("  a reimage writes now:");
	for (size_t i = 0; i < cfg->ncomps; i++)
		if (cs[i].seal)
			printf(" seal g%06llu%s", (unsigned long long)cs[i].seal->seq, cs[i].update ? " with" : "");
	for (size_t i = 0; i < cfg->ncomps; i++)
		if (cs[i].update)
			printf(" update g%06llu", (unsigned long long)cs[i].update->seq);
	printf(", then");
	for (size_t i = 0; i < cfg->ncomps; i++)
		if (!cs[i].seal && cs[i].newest)
			printf(" %s g%06llu", cfg->comps[i].name, (unsigned long long)cs[i].newest->seq);
	printf("\n");
}

static void print_verdict_text(const struct abur_config *cfg, const struct comp_summary *cs, const struct verdict *v)
{
	if (!v->n) {
		print_protected(cfg, cs);
		return;
	}
	printf("\nverdict: at risk (%zu reason%s)\n", v->n, v->n == 1 ? "" : "s");
	for (size_t i = 0; i < v->n; i++)
		printf("  %s: %s\n", risk_code[v->r[i].risk], v->r[i].msg);
}

static void print_verdict_json(struct json *j, const struct abur_config *cfg, const struct comp_summary *cs,
			       const struct verdict *v)
{
	json_obj_begin(j, "verdict");
	json_str(j, "state", v->n ? "at_risk" : "protected");
	json_bool(j, "protected", !v->n);
	json_arr_begin(j, "reasons");
	for (size_t i = 0; i < v->n; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "risk", risk_code[v->r[i].risk]);
		json_str(j, "message", v->r[i].msg);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (!v->n) {
		json_arr_begin(j, "reimage");
		for (size_t i = 0; i < cfg->ncomps; i++) {
			const struct generation *g = cs[i].seal ? cs[i].seal : cs[i].newest;
			if (!g)
				continue;
			json_obj_begin(j, NULL);
			json_str(j, "component", cfg->comps[i].name);
			json_uint(j, "generation", g->seq);
			if (cs[i].update)
				json_uint(j, "update_generation", cs[i].update->seq);
			json_obj_end(j);
		}
		json_arr_end(j);
	}
	json_obj_end(j);
}

static void print_head(struct ctx *ctx, struct json *j, struct store *s, const struct watch_status *ws)
{
	const char *where = !s ? NULL : store_device(s) ? store_device(s) : store_root(s);

	if (ctx->json) {
		cmd_json_begin(j, "status"), json_str(j, "store", where);
		if (ws)
			watch_status_json(ws, j);
		json_arr_begin(j, "components");
		return;
	}
	if (where)
		printf("store: %s\n", where);
	if (ws)
		watch_status_text(ws, stdout);
	if (where)
		printf("\n");
}

/* One component: what the store holds (when it could be opened) and what
 * the daemon knows; its reasons go into v. */
static void one_component(struct ctx *ctx, struct json *j, struct store *s, const struct watch_status *ws,
			  const struct abur_component *c, struct comp_summary *cs, struct gen_list *l,
			  struct verdict *v)
{
	memset(cs, 0, sizeof(*cs));
	if (s) {
		summarise(s, c, l, cs);
		comp_risks(v, c, cs, ws);
	}
	if (ctx->json) {
		json_obj_begin(j, NULL);
		if (s)
			print_json(j, c, cs);
		else
			json_str(j, "component", c->name);
		if (ws)
			watch_status_comp_json(ws, c, j);
		json_obj_end(j);
		return;
	}
	if (s)
		print_text(c, cs);
	else if (ws)
		printf("%s\n", c->name);
	if (ws)
		watch_status_comp_text(ws, c, stdout);
}

int cmd_status(struct ctx *ctx, int argc, char **argv)
{
	struct store *s = NULL;
	struct json j;
	struct watch_status *ws = NULL;
	struct verdict v = {0};
	size_t n;
	int r;

	(void)argv;
	if (argc > 1)
		return cmd_usage_error(cmd_find("status"), "no arguments expected");
	if ((r = ctx_config(ctx)))
		return r;
	n = ctx->cfg->ncomps;
	if (IS_ENABLED(CONFIG_DAEMON))
		ws = watch_status_load(ctx->cfg);                         /* e.g. how long the flash has been missing */
	if ((r = store_open(ctx->cfg, ctx->store, STORE_READ, &s)) < 0) { /* its message last: open_risk() */
		cmd_error(r, "cannot open the flash store");
		s = NULL;
	}
	_cleanup_free_ struct comp_summary *cs = xcalloc(n ? n : 1, sizeof(*cs));
	_cleanup_free_ struct gen_list *l = xcalloc(n ? n : 1, sizeof(*l));
	print_head(ctx, &j, s, ws);
	if (r < 0)
		open_risk(&v, ws, r);
	config_risk(&v, ctx->cfg);
	for (size_t i = 0; i < n; i++)
		one_component(ctx, &j, s, ws, &ctx->cfg->comps[i], &cs[i], &l[i], &v);
	daemon_risks(&v, ctx->cfg, ws);
	if (s)
		space_risk(&v, s);
	if (ctx->json) {
		json_arr_end(&j);
		print_verdict_json(&j, ctx->cfg, cs, &v);
		cmd_json_end(&j);
	} else {
		print_verdict_text(ctx->cfg, cs, &v);
	}
	r = r < 0 && !store_missing(r) ? EXIT_FAIL : v.n ? EXIT_AT_RISK : EXIT_OK; /* 1: could not even look */
	for (size_t i = 0; i < n; i++)
		gen_list_free(&l[i]);
	verdict_free(&v);
	store_close(s);
	if (ws)
		watch_status_free(ws);
	return r;
}
