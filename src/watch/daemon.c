#include "daemon.h"

#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "core/io.h"
#include "core/log.h"
#include "core/pkgmgr.h"
#include "core/parse.h"
#include "daemon_int.h"
#include "metrics.h"
#include "notify.h"
#include "uevent.h"

enum { FD_WATCH, FD_TIMER, FD_SYS, FD_SIG, FD_UEVENT, FD__COUNT };

static struct sched_settings settings(const struct abur_config *cfg)
{
	return (struct sched_settings){.nightly = cfg->schedule.nightly,
				       .defer_within = cfg->schedule.defer_within,
				       .max_deferrals = cfg->schedule.max_deferrals,
				       .catch_up_after = cfg->schedule.catch_up_after};
}

static void send_status(struct daemon *d, const char *text)
{
	if (d->status && streq(d->status, text))
		return;
	free(d->status);
	d->status = xstrdup(text);
	notify_send("STATUS=%s", text);
}

void notify_status_busy(struct daemon *d, const char *trigger)
{
	_cleanup_free_ char *s = xasprintf("backing up (%s)", trigger);
	send_status(d, s);
}

static void notify_idle(struct daemon *d)
{
	char next[48], since[48];
	size_t dirty = 0;
	_cleanup_free_ char *s = NULL;

	for (size_t i = 0; i < d->st.ncomps; i++)
		dirty += d->st.comps[i].dirty;
	fmt_time(d->st.next_run, next, sizeof(next));
	fmt_time(d->st.flash_missing, since, sizeof(since));
	s = xasprintf("%zu changed; next run %s%s%s%s", dirty, next, d->st.deferred_until ? "; deferred" : "",
		      d->st.flash_missing ? "; flash missing since " : "", d->st.flash_missing ? since : "");
	send_status(d, s);
}

/* Indices of the watched components matching policy that want a backup. */
static size_t collect(struct daemon *d, enum comp_policy policy, time_t now, time_t *wake, size_t *idx)
{
	/* With the flash missing, the uevent socket says when to try again. */
	bool waiting = d->st.flash_missing && d->uevent_fd >= 0;
	size_t n = 0;

	for (size_t i = 0; i < d->cfg->ncomps; i++) {
		const struct abur_component *c = &d->cfg->comps[i];
		struct comp_state *cs;
		time_t due;

		if (!comp_watched(c) || c->policy != policy)
			continue;
		cs = state_comp(&d->st, c->name);
		if (!cs->dirty)
			continue;
		if (policy == POLICY_CHANGE)
			due = sched_change_due(now, cs->last_change, c->quiet);
		else if (cs->retry && d->retry_at[i])
			due = d->retry_at[i];
		else
			continue; /* nightly: the schedule decides */
		if (d->retry_at[i] > due)
			due = d->retry_at[i];
		if (due <= now && !waiting) {
			idx[n++] = i;
		} else if (!waiting) {
			cs->next_run = due;
			if (due < *wake)
				*wake = due;
		}
	}
	return n;
}

/* The os image, captured at every nightly run: its capture is the change
 * check (a stat walk when nothing changed). */
static bool nightly_disk(const struct abur_component *c)
{
	return !component_is(c, CT_WATCHED) && c->policy == POLICY_NIGHTLY;
}

/* Its last change for the deferral rule: the package manager's, now while
 * it holds its lock.  An ordinary log line is not the package manager's.
 * A change time ahead of the clock (a clock set back, an image built
 * elsewhere) cannot be placed: it does not defer (a held lock still does). */
static time_t disk_last_change(const struct abur_component *c, time_t now)
{
	_cleanup_free_ char *lock = pkgmgr_locked(c, "/");
	time_t t = pkgmgr_last_change(c, "/");

	if (lock)
		return now;
	return t > now ? 0 : t;
}

static void nightly_decision(struct daemon *d, const struct sched_out *out)
{
	time_t now = dclock_now(&d->clk);
	_cleanup_free_ size_t *idx = xcalloc(d->cfg->ncomps + 1, sizeof(*idx));
	char until[48];
	size_t n = 0;

	d->st.last_slot = out->slot;
	d->save = true;
	if (out->decision == SCHED_DEFER) {
		d->st.deferrals++;
		d->st.deferred_until = out->until;
		fmt_time(out->until, until, sizeof(until));
		free(d->st.defer_reason);
		d->st.defer_reason = xasprintf("%s (deferral %u of %u)", sched_reason_text(out->reason),
					       d->st.deferrals, d->cfg->schedule.max_deferrals);
		event_emit(&d->ev, now, EV_DEFERRED, NULL, 0, "%s; until %s", d->st.defer_reason, until);
		return;
	}
	if (out->decision == SCHED_FORCED)
		event_emit(&d->ev, now, EV_FORCED, NULL, 0, "deferred %u nights in a row: backing up anyway",
			   d->st.deferrals);
	d->run_deferrals = d->st.deferrals;
	d->st.deferrals = 0;
	d->st.deferred_until = 0;
	state_set_text(&d->st.defer_reason, NULL);
	if (out->decision == SCHED_NOTHING)
		return;
	for (size_t i = 0; i < d->cfg->ncomps; i++) {
		const struct abur_component *c = &d->cfg->comps[i];
		if ((comp_watched(c) && c->policy == POLICY_NIGHTLY && state_comp(&d->st, c->name)->dirty) ||
		    nightly_disk(c))
			idx[n++] = i;
	}
	log_info("%s: %zu %s to back up", sched_reason_text(out->reason), n, noun(n, "component", "components"));
	daemon_backup(d, idx, n, "nightly");
}

static time_t plan_nightly(struct daemon *d, time_t now)
{
	struct sched_settings set = settings(d->cfg);
	struct sched_out out = {0};

	/* A handled slot beyond the coming one was recorded under a wrong
	 * clock (set to 2100 and back) or comes from a damaged state: kept, it
	 * would hold off every night until then. Forget it, as sched_plan()
	 * says: the slot due now counts as handled, the next one runs. */
	if (d->st.last_slot > sched_next_slot(now, set.nightly)) {
		log_warn("the last handled nightly run lies in the future: forgotten");
		d->st.last_slot = sched_prev_slot(now, set.nightly);
		d->save = true;
	}

	/* The package manager's last change, once per plan (a walk of /boot):
	 * the rounds below only move last_slot on. */
	time_t disk_change = 0;
	for (size_t i = 0; i < d->cfg->ncomps; i++) {
		time_t t = nightly_disk(&d->cfg->comps[i]) ? disk_last_change(&d->cfg->comps[i], now) : 0;
		disk_change = t > disk_change ? t : disk_change;
	}

	/* A decision moves last_slot on; plan again until there is nothing
	 * left to decide (at most a couple of rounds). */
	for (int round = 0; round < 4 && !d->stop; round++) {
		struct sched_in in = {
		    .now = now, .started = d->st.started, .last_slot = d->st.last_slot, .deferrals = d->st.deferrals};
		for (size_t i = 0; i < d->cfg->ncomps; i++) {
			const struct abur_component *c = &d->cfg->comps[i];
			const struct comp_state *cs;
			if (nightly_disk(c)) { /* due every night: its capture is the change check */
				in.dirty = true;
				if (disk_change > in.last_change)
					in.last_change = disk_change;
			}
			if (!comp_watched(c) || c->policy != POLICY_NIGHTLY)
				continue;
			cs = state_comp(&d->st, c->name);
			in.dirty |= cs->dirty;
			if (cs->last_change > in.last_change)
				in.last_change = cs->last_change;
		}
		sched_plan(&set, &in, &out);
		if (out.decision == SCHED_WAIT)
			break;
		nightly_decision(d, &out);
		now = dclock_now(&d->clk);
	}
	if (d->st.next_run != out.wake)
		d->save = true;
	d->st.next_run = out.wake;
	for (size_t i = 0; i < d->cfg->ncomps; i++) {
		const struct abur_component *c = &d->cfg->comps[i];
		if (nightly_disk(c))
			state_comp(&d->st, c->name)->next_run = out.wake;
		else if (comp_watched(c) && c->policy == POLICY_NIGHTLY) {
			struct comp_state *cs = state_comp(&d->st, c->name);
			cs->next_run = cs->dirty ? out.wake : 0;
		}
	}
	return out.wake;
}

static void replan(struct daemon *d)
{
	_cleanup_free_ size_t *idx = xcalloc(d->cfg->ncomps + 1, sizeof(*idx));
	time_t now = dclock_now(&d->clk);
	time_t wake = plan_nightly(d, now);
	size_t n;
	int r;

	now = dclock_now(&d->clk);
	n = collect(d, POLICY_CHANGE, now, &wake, idx);
	daemon_backup(d, idx, n, "change");
	n = collect(d, POLICY_NIGHTLY, now, &wake, idx); /* failed nightly backups, retried */
	daemon_backup(d, idx, n, "nightly");
	r = dclock_arm(&d->clk, wake);
	if (r < 0)
		log_error_errno(r, "cannot arm the timer");
}

static void flush(struct daemon *d)
{
	int r;

	notify_idle(d);
	if (!d->save)
		return;
	d->save = false;
	d->st.updated = dclock_now(&d->clk);
	r = state_save(d->cfg->daemon.state_dir, &d->st);
	if (r < 0)
		log_warn_errno(r, "cannot save the daemon state");
	r = metrics_write(d->cfg->daemon.metrics, d->cfg, &d->st, &d->ev);
	if (r < 0)
		log_warn_errno(r, "cannot write metrics");
}

static void on_changes(struct daemon *d)
{
	bool overflow = false;
	time_t now = dclock_now(&d->clk);
	int r;

	memset(d->changed, 0, d->cfg->ncomps * sizeof(*d->changed));
	r = watcher_read(d->w, d->changed, &overflow);
	if (r < 0)
		log_error_errno(r, "watching files");
	for (size_t i = 0; i < d->cfg->ncomps; i++) {
		if (!d->changed[i])
			continue;
		struct comp_state *cs = state_comp(&d->st, d->cfg->comps[i].name);
		log_debug("%s changed", cs->name);
		cs->dirty = true;
		cs->last_change = now;
		d->save = true;
	}
	if (overflow) {
		event_emit(&d->ev, now, EV_RESCAN, NULL, 0, "inotify queue overflowed: rescanning by digest");
		r = watcher_rewatch(d->w);
		if (r < 0)
			log_error_errno(r, "re-adding watches");
		daemon_rescan(d, false);
	}
}

static void on_signal(struct daemon *d);

/* Backs up what a missing flash or a failure left owed, by policy. */
static void retry_owed(struct daemon *d)
{
	static const struct {
		enum comp_policy policy;
		const char *trigger;
	} owed[] = {{POLICY_NIGHTLY, "nightly"}, {POLICY_CHANGE, "change"}};
	_cleanup_free_ size_t *idx = xcalloc(d->cfg->ncomps + 1, sizeof(*idx));

	for (size_t k = 0; k < ARRAY_SIZE(owed); k++) {
		size_t n = 0;
		for (size_t i = 0; i < d->cfg->ncomps; i++) {
			const struct abur_component *c = &d->cfg->comps[i];
			if (comp_watched(c) && c->policy == owed[k].policy && state_comp(&d->st, c->name)->retry)
				idx[n++] = i;
		}
		daemon_backup(d, idx, n, owed[k].trigger);
	}
}

static void on_uevent(struct daemon *d)
{
	if (!uevent_block_changed(d->uevent_fd))
		return;
	log_debug("a block device appeared or changed: looking for the flash");
	retry_owed(d);
}

static void wait_events(struct daemon *d)
{
	struct pollfd p[FD__COUNT];
	int clk[2];

	dclock_fds(&d->clk, clk);
	p[FD_WATCH] = (struct pollfd){.fd = watcher_fd(d->w), .events = POLLIN};
	p[FD_TIMER] = (struct pollfd){.fd = clk[0], .events = POLLIN};
	p[FD_SYS] = (struct pollfd){.fd = clk[1], .events = POLLIN};
	p[FD_SIG] = (struct pollfd){.fd = d->sig_fd, .events = POLLIN};
	p[FD_UEVENT] = (struct pollfd){.fd = d->uevent_fd, .events = POLLIN};
	if (poll(p, FD__COUNT, -1) < 0) {
		if (errno != EINTR)
			log_error("poll: %s", strerror(errno));
		return;
	}
	if (p[FD_SIG].revents)
		on_signal(d);
	if (p[FD_WATCH].revents)
		on_changes(d);
	for (int i = FD_TIMER; i <= FD_SYS; i++) {
		int r = p[i].revents ? dclock_handle(&d->clk, p[i].fd) : 0;
		if (r < 0)
			log_error_errno(r, "clock");
		/* Test clock: record every step in the state, so a test knows
		 * the daemon has seen it before it changes a file. */
		if (r > 0 && dclock_is_fake(&d->clk))
			d->save = true;
	}
	if (p[FD_UEVENT].revents && d->uevent_fd >= 0)
		on_uevent(d);
}

/* Our own files and the store: never watched (a write there must not look
 * like a change). Entries ending in '*' are plain prefixes, for temp files
 * and rotated logs next to a file. */
static void set_skip(struct daemon *d)
{
	const struct abur_config *c = d->cfg;
	const char *store = c->flash.store && c->flash.store[0] == '/' ? c->flash.store : NULL;

	for (size_t i = 0; i < ARRAY_SIZE(d->skip); i++) {
		free(d->skip[i]);
		d->skip[i] = NULL;
	}
	d->skip[0] = xstrdup(c->daemon.state_dir);
	d->skip[1] = xasprintf("%s*", c->daemon.event_log);
	d->skip[2] = c->daemon.metrics ? xasprintf("%s*", c->daemon.metrics) : NULL;
	d->skip[3] = c->flash.mount ? xstrdup(c->flash.mount) : NULL;
	d->skip[4] = store ? xstrdup(store) : NULL;
}

static int start_watching(struct daemon *d)
{
	int r;

	set_skip(d);
	r = watcher_new(d->cfg, (const char *const *)d->skip, ARRAY_SIZE(d->skip), &d->w);
	if (r < 0)
		return r;
	d->changed = xrealloc(d->changed, (d->cfg->ncomps + 1) * sizeof(*d->changed));
	free(d->retry_at);
	d->retry_at = xcalloc(d->cfg->ncomps + 1, sizeof(*d->retry_at));
	return 0;
}

static void reload(struct daemon *d)
{
	struct abur_config *cfg = NULL;
	_cleanup_free_ char *errors = NULL;
	int r;

	notify_send("RELOADING=1");
	r = config_load(d->opts->config_path, &cfg, &errors);
	if (r < 0) {
		log_error("reload: keeping the old configuration:\n%s", errors ? errors : abur_errmsg(r));
		notify_send("READY=1");
		return;
	}
	if (d->opts->store) {
		free(cfg->flash.store);
		cfg->flash.store = xstrdup(d->opts->store);
	}
	/* The lock and the state stay in the directory the daemon locked. */
	if (!streq(cfg->daemon.state_dir, d->cfg->daemon.state_dir)) {
		log_warn("reload: state_dir %s takes effect at the next start", cfg->daemon.state_dir);
		free(cfg->daemon.state_dir);
		cfg->daemon.state_dir = xstrdup(d->cfg->daemon.state_dir);
	}
	watcher_free(d->w);
	d->w = NULL;
	config_free(d->cfg);
	d->cfg = cfg;
	/* The event log points into the configuration: follow it (counts stay). */
	d->ev.path = cfg->daemon.event_log;
	d->ev.max = cfg->daemon.event_log_max;
	tzset();
	r = start_watching(d);
	if (r < 0) {
		log_error_errno(r, "reload: cannot watch");
		d->stop = true;
		return;
	}
	daemon_sync_backed(d);
	daemon_rescan(d, false);
	log_info("configuration reloaded from %s: watching %zu %s", d->opts->config_path, watcher_count(d->w),
		 noun(watcher_count(d->w), "directory", "directories"));
	notify_send("READY=1");
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else {
			d->stop = true;
			d->stop_signal = (int)si.ssi_signo;
		}
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked for good: they are only ever read from the signalfd, so a
	 * commit in progress is never interrupted. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return abur_fail(-errno, "sigprocmask: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return abur_fail(-errno, "signalfd: %s", strerror(errno));
	return 0;
}

/* The pid in the lock file, for the message; 0 when unknown. */
static pid_t lock_holder(int fd)
{
	char buf[24];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	uint64_t pid;

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return parse_uint(buf, 1, STATE_PID_MAX, &pid) == 0 ? (pid_t)pid : 0;
}

/* One daemon per state directory: an flock on <state_dir>/daemon.pid held
 * for the daemon's life. The kernel drops it when the daemon dies, so the
 * file a crashed daemon leaves blocks no one. The pid in it is for people
 * and for the message (the lock is the truth, so a plain write). */
static int lock_state_dir(struct daemon *d)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", d->cfg->daemon.state_dir, PID_FILE);
	char pid[24];
	struct stat sb;
	int n;

	d->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (d->lock_fd < 0)
		return abur_fail(-errno, "%s: %s", path, strerror(errno));
	if (fstat(d->lock_fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return abur_fail(-EINVAL, "%s: not a regular file", path);
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		pid_t other = lock_holder(d->lock_fd);
		if (errno != EWOULDBLOCK)
			return abur_fail(-errno, "lock %s: %s", path, strerror(errno));
		if (other)
			return abur_fail(-EBUSY, "another abur daemon (pid %d) is running on %s (it holds %s)",
					 (int)other, d->cfg->daemon.state_dir, path);
		return abur_fail(-EBUSY, "another abur daemon is running on %s (it holds %s)", d->cfg->daemon.state_dir,
				 path);
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n)
		log_warn("%s: cannot record the pid: %s", path, strerror(errno));
	return 0;
}

/* A state file that cannot be read (damaged, a symlink, a FIFO): said so,
 * kept aside as daemon.state.damaged for a look, and the daemon starts
 * fresh (the store then says what is backed up; unknown counts as dirty). */
static void state_unreadable(struct daemon *d, int r)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", d->cfg->daemon.state_dir, STATE_FILE);
	_cleanup_free_ char *aside = xasprintf("%s.damaged", path);
	_cleanup_free_ char *why = xstrdup(abur_errmsg(r));

	r = io_rename(path, aside);
	if (r == 0)
		log_warn("%s; kept as %s, starting with a fresh state", why, aside);
	else
		log_warn("%s; starting with a fresh state (no copy kept: %s)", why, abur_errmsg(r));
}

static int load_state(struct daemon *d)
{
	_cleanup_free_ char *logdir = xstrdup(d->cfg->daemon.event_log);
	time_t now = dclock_now(&d->clk);
	int r;

	r = mkdir_p(d->cfg->daemon.state_dir, 0755);
	if (r == 0)
		r = lock_state_dir(d);
	if (r < 0)
		return r;
	if (mkdir_p(dirname(logdir), 0755) < 0)
		log_warn("cannot create the event log directory for %s", d->cfg->daemon.event_log);
	events_init(&d->ev, d->cfg->daemon.event_log, d->cfg->daemon.event_log_max);
	r = state_load(d->cfg->daemon.state_dir, &d->st);
	if (r < 0 && r != -ENOENT)
		state_unreadable(d, r);
	/* First start: no night was missed, the next one is the first. */
	if (!d->st.last_slot)
		d->st.last_slot = sched_prev_slot(now, d->cfg->schedule.nightly);
	d->st.started = now;
	d->st.pid = getpid();
	d->st.flash_missing = 0; /* looked up afresh */
	d->save = true;
	return 0;
}

static int setup(struct daemon *d)
{
	int r;

	r = dclock_init(&d->clk);
	if (r == 0)
		r = setup_signals(d);
	if (r == 0)
		r = load_state(d);
	if (r == 0)
		r = start_watching(d);
	if (r < 0)
		return r;
	if (dclock_is_fake(&d->clk))
		log_info("using the test clock in $%s", CLOCK_ENV);
	daemon_sync_backed(d);
	daemon_rescan(d, true);
	event_emit(&d->ev, dclock_now(&d->clk), EV_START, NULL, 0, "watching %zu %s, pid %d", watcher_count(d->w),
		   noun(watcher_count(d->w), "directory", "directories"), (int)getpid());
	return 0;
}

int daemon_run(struct abur_config **cfg, const struct daemon_opts *opts)
{
	struct daemon d = {.cfg = *cfg, .opts = opts, .sig_fd = -1, .uevent_fd = -1, .lock_fd = -1};
	int r = setup(&d);

	if (r == 0) {
		notify_send("READY=1");
		while (!d.stop) {
			abur_fail_clear(); /* an entry point: each round records afresh */
			replan(&d);
			flush(&d);
			if (!d.stop)
				wait_events(&d);
		}
		if (d.stop_signal && sigabbrev_np(d.stop_signal))
			event_emit(&d.ev, dclock_now(&d.clk), EV_STOP, NULL, 0, "stopping on SIG%s",
				   sigabbrev_np(d.stop_signal));
		else
			event_emit(&d.ev, dclock_now(&d.clk), EV_STOP, NULL, 0, "stopping");
		notify_send("STOPPING=1");
		d.st.pid = 0; /* status: not running */
		d.save = true;
		flush(&d);
	}
	watcher_free(d.w);
	dclock_free(&d.clk);
	closep(&d.sig_fd);
	closep(&d.uevent_fd);
	closep(&d.lock_fd); /* last: the state is written */
	state_free(&d.st);
	for (size_t i = 0; i < ARRAY_SIZE(d.skip); i++)
		free(d.skip[i]);
	free(d.changed);
	free(d.retry_at);
	free(d.status);
	*cfg = d.cfg;
	return r;
}
