/* Scans by digest and backups, for the daemon loop. */
#include <malloc.h>
#include <signal.h>
#include <string.h>

#include "core/log.h"
#include "daemon_int.h"
#include "store/store.h"
#include "uevent.h"

bool daemon_stop_pending(void)
{
	sigset_t set;

	return sigpending(&set) == 0 && (sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1);
}

static void scan_one(struct daemon *d, const struct abur_component *c, bool startup)
{
	struct comp_state *cs = state_comp(&d->st, c->name);
	time_t now = dclock_now(&d->clk);
	char digest[SHA256_HEX_LEN];
	int r = backup_digest(c, "/", d->cfg->daemon.state_dir, digest);

	if (r < 0) {
		event_emit(&d->ev, now, EV_ERROR, c->name, 0, "digest: %s", abur_errmsg(r));
		return;
	}
	if (cs->seen[0] && !streq(cs->seen, digest)) {
		time_t t = now;
		if (startup) {
			/* Changed while we were not running: date it by the files. */
			t = comp_newest_mtime(c);
			if (t <= 0 || t > now)
				t = now;
		}
		if (t > cs->last_change)
			cs->last_change = t;
		event_emit(&d->ev, now, startup ? EV_CHANGED_OFFLINE : EV_RESCAN, c->name, 0, "content changed");
	}
	memcpy(cs->seen, digest, sizeof(cs->seen));
	/* The truth when the newest generation is known; else keep what we had
	 * (unknown counts as dirty: an unchanged backup writes nothing). */
	if (cs->backed[0])
		cs->dirty = !streq(cs->backed, digest);
	else
		cs->dirty = true;
	d->save = true;
}

void daemon_rescan(struct daemon *d, bool startup)
{
	for (size_t i = 0; i < d->cfg->ncomps; i++)
		if (comp_watched(&d->cfg->comps[i]))
			scan_one(d, &d->cfg->comps[i], startup);
}

static void learn_backed(struct daemon *d, struct store *s, const char *name)
{
	struct comp_state *cs = state_comp(&d->st, name);
	const struct generation *g;
	_cleanup_(gen_list_free) struct gen_list l = {0};

	/* Deep check: content equal to a corrupted newest generation must
	 * still count as owed, so a good copy gets written. */
	if (store_newest(s, name, GEN_CHECK_VERIFY, GEN_SEQ_ANY, &l, &g) == 0 && g->m.content_digest &&
	    strlen(g->m.content_digest) == SHA256_HEX_LEN - 1) {
		memcpy(cs->backed, g->m.content_digest, SHA256_HEX_LEN);
		if (!cs->last_seq) {
			cs->last_seq = g->seq;
			cs->last_backup = g->m.time;
		}
	}
}

void daemon_sync_backed(struct daemon *d)
{
	_cleanup_(store_closep) struct store *s = NULL;
	int r = store_open(d->cfg, NULL, STORE_READ, &s);

	if (r < 0) {
		log_info("store not readable now (%s): using the saved state", abur_errmsg(r));
		return;
	}
	for (size_t i = 0; i < d->cfg->ncomps; i++)
		if (comp_watched(&d->cfg->comps[i]))
			learn_backed(d, s, d->cfg->comps[i].name);
}

static void flash_missing(struct daemon *d, int r)
{
	time_t now = dclock_now(&d->clk);

	if (!d->st.flash_missing) {
		d->st.flash_missing = now;
		event_emit(&d->ev, now, EV_FLASH_MISSING, NULL, 0, "%s", abur_errmsg(r));
	}
	if (d->uevent_fd < 0) {
		d->uevent_fd = uevent_open();
		if (d->uevent_fd < 0)
			log_warn_errno(d->uevent_fd, "cannot watch for the flash; retrying at the next run instead");
	}
}

static void flash_present(struct daemon *d)
{
	time_t now = dclock_now(&d->clk);

	if (d->st.flash_missing)
		event_emit(&d->ev, now, EV_FLASH_BACK, NULL, 0, "flash found again (missing since %lld)",
			   (long long)d->st.flash_missing);
	d->st.flash_missing = 0;
	closep(&d->uevent_fd);
}

/* A file kept changing through every attempt.  A nightly component is
 * deferred to the next night like a change-deferral, counted against
 * max_deferrals (consecutive nights, whichever the reason); once the cap
 * is reached it is a failure, retried like one.  A change component is
 * retried after RETRY_AFTER. Returns false when it counts as a failure. */
static bool busy_deferral(struct daemon *d, const struct abur_component *c, const char *busy)
{
	struct comp_state *cs = state_comp(&d->st, c->name);
	size_t idx = (size_t)(c - d->cfg->comps);
	time_t now = dclock_now(&d->clk);
	unsigned max = d->cfg->schedule.max_deferrals;
	_cleanup_free_ char *msg = NULL;
	char until[32];

	if (c->policy == POLICY_NIGHTLY && d->run_deferrals >= max)
		return false;
	msg = xasprintf("deferred: %s kept changing while being backed up", busy);
	state_set_text(&cs->result, msg);
	cs->retry = true;
	d->retry_at[idx] = now + RETRY_AFTER;
	if (c->policy != POLICY_NIGHTLY) {
		event_emit(&d->ev, now, EV_DEFERRED, c->name, 0, "%s; retrying in %d s", msg, RETRY_AFTER);
		return true;
	}
	cs->retry = false; /* owed at the next night, which the schedule runs */
	d->retry_at[idx] = 0;
	d->st.deferrals = d->run_deferrals + 1;
	d->st.deferred_until = sched_next_slot(now, d->cfg->schedule.nightly);
	free(d->st.defer_reason);
	d->st.defer_reason =
	    xasprintf("%s kept changing while being backed up (deferral %u of %u)", busy, d->st.deferrals, max);
	fmt_time(d->st.deferred_until, until, sizeof(until));
	event_emit(&d->ev, now, EV_DEFERRED, c->name, 0, "%s; until %s", d->st.defer_reason, until);
	return true;
}

struct warn_event {
	struct daemon *d;
	const char *component;
	time_t now;
};

static void warn_event(void *arg, const char *line)
{
	struct warn_event *we = arg;

	event_emit(&we->d->ev, we->now, EV_WARNING, we->component, 0, "%s", line);
}

static void record(struct daemon *d, const struct abur_component *c, struct store *s, int r,
		   const struct backup_result *res)
{
	struct comp_state *cs = state_comp(&d->st, c->name);
	size_t idx = (size_t)(c - d->cfg->comps);
	time_t now = dclock_now(&d->clk);
	_cleanup_free_ char *msg = NULL;

	struct warn_event we = {d, c->name, now};

	backup_result_warnings(res, warn_event, &we);
	if (r == -EAGAIN && res->busy && busy_deferral(d, c, res->busy))
		return;
	if (r < 0) {
		msg = xasprintf("backup failed: %s", abur_errmsg(r));
		event_emit(&d->ev, now, EV_ERROR, c->name, 0, "%s", msg);
		state_set_text(&cs->result, msg);
		cs->retry = true;
		d->retry_at[idx] = now + RETRY_AFTER;
		return;
	}
	if (res->unchanged) {
		event_emit(&d->ev, now, EV_UNCHANGED, c->name, 0, "content equal to the newest generation");
		state_set_text(&cs->result, "unchanged");
	} else {
		char b[32];
		_cleanup_free_ char *removed = store_removed_text(s);
		event_emit(&d->ev, now, EV_BACKUP, c->name, res->seq, "generation %llu, %llu %s, %s%s%s",
			   (unsigned long long)res->seq, (unsigned long long)res->files,
			   noun(res->files, "entry", "entries"), fmt_bytes(res->payload_bytes, b, sizeof(b)),
			   removed ? "; removed old generations: " : "", removed ? removed : "");
		cs->last_seq = res->seq;
		msg = xasprintf("backed up as generation %llu", (unsigned long long)res->seq);
		state_set_text(&cs->result, msg);
	}
	if (component_is(c, CT_WATCHED)) /* os has no digest to track: its capture is the check */
		learn_backed(d, s, c->name);
	if (cs->backed[0]) /* what was just captured is the content last seen */
		memcpy(cs->seen, cs->backed, sizeof(cs->seen));
	cs->last_backup = now;
	cs->dirty = false;
	cs->retry = false;
	cs->next_run = 0;
	d->retry_at[idx] = 0;
}

/* The store could not be opened: every component stays owed. A missing
 * flash is retried when a block device appears (or later without uevents);
 * anything else after RETRY_AFTER. */
static void store_unavailable(struct daemon *d, const size_t *idx, size_t n, int r)
{
	time_t now = dclock_now(&d->clk);

	if (r == -ENODEV)
		flash_missing(d, r);
	else
		event_emit(&d->ev, now, EV_ERROR, NULL, 0, "store: %s", abur_errmsg(r));
	for (size_t i = 0; i < n; i++) {
		struct comp_state *cs = state_comp(&d->st, d->cfg->comps[idx[i]].name);
		cs->retry = true;
		state_set_text(&cs->result, r == -ENODEV ? "flash missing" : abur_errmsg(r));
		if (r != -ENODEV || d->uevent_fd < 0)
			d->retry_at[idx[i]] = now + RETRY_AFTER;
	}
}

/* A file component by the store; the disk image (os) by what the command
 * layer handed the daemon. */
static int backup_one(struct daemon *d, struct store *s, const struct abur_component *c, const char *trigger,
		      const struct restore_limits *lim, struct backup_result *res)
{
	store_removed_clear(s);
	if (component_is(c, CT_FILE_TREE))
		return backup_component(s, c, "/", d->cfg->daemon.state_dir, trigger, NULL, BACKUP_DEFAULT, lim, NULL,
					res);
	if (!d->opts->disk_backup)
		return abur_fail(-ENOTSUP, "%s: this abur is built without disk imaging", c->name);
	return d->opts->disk_backup(d->cfg, s, c, trigger, res);
}

void daemon_backup(struct daemon *d, const size_t *idx, size_t n, const char *trigger)
{
	_cleanup_(store_closep) struct store *s = NULL;
	int r;

	/* SIGTERM: a run not yet announced does not start; in one that is,
	 * the component under way (the first, from the announcement on) is
	 * finished and committed; the rest stay owed for the next start. */
	if (!n || daemon_stop_pending())
		return;
	d->save = true;
	notify_status_busy(d, trigger);
	r = store_open(d->cfg, NULL, STORE_WRITE, &s);
	if (r < 0) {
		store_unavailable(d, idx, n, r);
		return;
	}
	flash_present(d);
	for (size_t i = 0; i < n && (i == 0 || !daemon_stop_pending()); i++) {
		const struct abur_component *c = &d->cfg->comps[idx[i]];
		struct restore_limits lim = {d->cfg->restore.max_total_size, d->cfg->restore.max_entries};
		struct backup_result res = {0};
		r = backup_one(d, s, c, trigger, &lim, &res);
		record(d, c, s, r, &res);
		backup_result_free(&res);
	}
	store_closep(&s); /* the lock released before the daemon idles */
	/* Compression buffers are big and the daemon then idles for hours:
	 * hand the memory back. */
	malloc_trim(0);
}
