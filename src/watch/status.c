#include "status.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "state.h"
#include "watcher.h"

struct watch_status {
	struct daemon_state st;
	int load; /* state_load() result */
	bool running;
	char *why; /* why there is no state */
};

/* Whether someone holds the flock on path: looked up in /proc/locks rather
 * than tried, so that `abur status` never makes a starting daemon find its
 * lock taken. False when path or /proc/locks cannot be read. */
static bool flock_held(const char *path)
{
	struct stat sb;
	char line[256];
	bool held = false;
	FILE *f;

	if (stat(path, &sb) < 0 || !(f = fopen("/proc/locks", "re")))
		return false;
	while (!held && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long ino;
		held = sscanf(line, "%*d: FLOCK %*s %*s %*d %x:%x:%llu", &maj, &min, &ino) == 3 &&
		       maj == major(sb.st_dev) && min == minor(sb.st_dev) && ino == sb.st_ino;
	}
	fclose(f);
	return held;
}

struct watch_status *watch_status_load(const struct abur_config *cfg)
{
	struct watch_status *ws = xcalloc(1, sizeof(*ws));

	ws->load = state_load(cfg->daemon.state_dir, &ws->st);
	if (ws->load < 0)
		ws->why = xstrdup(ws->load == -ENOENT ? "has not run yet" : abur_errmsg(ws->load));
	_cleanup_free_ char *lock = xasprintf("%s/%s", cfg->daemon.state_dir, PID_FILE);
	ws->running = flock_held(lock); /* the lock is the truth; a crashed daemon's pid is not */
	return ws;
}

void watch_status_free(struct watch_status *ws)
{
	if (!ws)
		return;
	state_free(&ws->st);
	free(ws->why);
	free(ws);
}

void watch_status_text(const struct watch_status *ws, FILE *f)
{
	const struct daemon_state *st = &ws->st;
	char a[48], b[48];

	if (ws->load < 0) {
		fprintf(f, "daemon: %s\n", ws->why);
		return;
	}
	if (ws->running)
		fprintf(f, "daemon: running (pid %d), state of %s\n", (int)st->pid,
			fmt_time(st->updated, a, sizeof(a)));
	else
		fprintf(f, "daemon: not running, state of %s\n", fmt_time(st->updated, a, sizeof(a)));
	fprintf(f, "daemon: next nightly run %s\n", fmt_time(st->next_run, a, sizeof(a)));
	if (st->deferred_until)
		fprintf(f, "daemon: deferred until %s: %s\n", fmt_time(st->deferred_until, a, sizeof(a)),
			st->defer_reason ? st->defer_reason : "");
	if (st->flash_missing)
		fprintf(f, "daemon: flash missing since %s\n", fmt_time(st->flash_missing, b, sizeof(b)));
}

void watch_status_json(const struct watch_status *ws, struct json *j)
{
	const struct daemon_state *st = &ws->st;

	json_obj_begin(j, "daemon");
	json_bool(j, "state_read", ws->load == 0);
	if (ws->load < 0) {
		json_str(j, "problem", ws->why);
		json_obj_end(j);
		return;
	}
	json_bool(j, "running", ws->running);
	json_int(j, "pid", st->pid);
	json_time_or_never(j, "updated", st->updated);
	json_time_or_never(j, "next_run", st->next_run);
	json_uint(j, "deferrals", st->deferrals);
	if (st->deferred_until) {
		json_time(j, "deferred_until", st->deferred_until);
		json_str(j, "deferred_why", st->defer_reason);
	}
	if (st->flash_missing)
		json_time(j, "flash_missing_since", st->flash_missing);
	json_obj_end(j);
}

void watch_status_comp_text(const struct watch_status *ws, const struct abur_component *c, FILE *f)
{
	const struct comp_state *cs = ws->load == 0 ? state_find(&ws->st, c->name) : NULL;
	char a[48];

	if (!comp_watched(c)) {
		fprintf(f, "  daemon: not watched (policy %s)\n", policy_name(c->policy));
		return;
	}
	if (!cs) {
		fprintf(f, "  daemon: no record yet\n");
		return;
	}
	fprintf(f, "  daemon: %s; last change %s\n", cs->dirty ? "changed since the last backup" : "clean",
		fmt_time(cs->last_change, a, sizeof(a)));
	fprintf(f, "  daemon: last backup %s%s%s\n", fmt_time(cs->last_backup, a, sizeof(a)), cs->result ? ": " : "",
		cs->result ? cs->result : "");
	if (cs->dirty && cs->next_run)
		fprintf(f, "  daemon: next run %s%s\n", fmt_time(cs->next_run, a, sizeof(a)),
			c->policy == POLICY_NIGHTLY && ws->st.deferred_until ? " (deferred)" : "");
	if (cs->retry && ws->st.flash_missing)
		fprintf(f, "  daemon: waiting for the flash (missing since %s)\n",
			fmt_time(ws->st.flash_missing, a, sizeof(a)));
}

void watch_status_comp_json(const struct watch_status *ws, const struct abur_component *c, struct json *j)
{
	const struct comp_state *cs = ws->load == 0 ? state_find(&ws->st, c->name) : NULL;

	json_obj_begin(j, "daemon");
	json_bool(j, "watched", comp_watched(c));
	if (cs && comp_watched(c)) {
		json_bool(j, "dirty", cs->dirty);
		json_time_or_never(j, "last_change", cs->last_change);
		json_time_or_never(j, "last_backup", cs->last_backup);
		json_uint(j, "last_generation", cs->last_seq);
		json_time_or_never(j, "next_run", cs->dirty ? cs->next_run : 0);
		json_bool(j, "deferred", c->policy == POLICY_NIGHTLY && cs->dirty && ws->st.deferred_until);
		json_bool(j, "waiting_for_flash", cs->retry && ws->st.flash_missing);
		json_str(j, "result", cs->result);
	}
	json_obj_end(j);
}

bool watch_status_running(const struct watch_status *ws)
{
	return ws->running;
}

unsigned watch_status_deferrals(const struct watch_status *ws, const char **why)
{
	*why = ws->st.defer_reason;
	return ws->load == 0 && ws->st.deferred_until ? ws->st.deferrals : 0;
}

time_t watch_status_flash_missing(const struct watch_status *ws)
{
	return ws->load == 0 ? ws->st.flash_missing : 0;
}

const char *watch_status_failed(const struct watch_status *ws, const struct abur_component *c)
{
	const struct comp_state *cs = ws->load == 0 ? state_find(&ws->st, c->name) : NULL;

	return cs && comp_watched(c) && cs->retry ? (cs->result ? cs->result : "failed") : NULL;
}
