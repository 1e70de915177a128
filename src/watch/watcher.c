#include "watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

/* Everything that changes a file's content, metadata or presence.
 * IN_MODIFY as well as IN_CLOSE_WRITE: a writer that keeps a file open
 * still changes it; the kernel merges repeated identical events. */
#define DIR_MASK                                                                                                       \
	(IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |                \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
/* An ancestor only has to say when the path below it appears or goes, so
 * that busy directories like /etc do not wake us for every write. */
#define ANCESTOR_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_EXCL_UNLINK)

struct wentry {
	int wd;
	char *path; /* NULL: removed (wd kept so the array stays sorted) */
};

struct watcher {
	const struct abur_config *cfg;
	const char *const *skip;
	size_t nskip;
	int fd;
	/* Sorted by wd: the kernel hands out increasing descriptors, so
	 * appending keeps the order and a lookup is a binary search. */
	struct wentry *e;
	size_t n, cap, live;
};

bool comp_watched(const struct abur_component *c)
{
	return component_is(c, CT_WATCHED) && c->policy != POLICY_MANUAL;
}

/* path equals base or lies under it. */
static bool within(const char *path, const char *base)
{
	size_t n = strlen(base);

	if (n == 1 && base[0] == '/')
		return true;
	return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool skipped(const struct watcher *w, const char *path)
{
	for (size_t i = 0; i < w->nskip; i++) {
		const char *s = w->skip[i];
		size_t n = s ? strlen(s) : 0;
		if (n && s[n - 1] == '*' && strncmp(path, s, n - 1) == 0)
			return true;
		if (n && s[n - 1] != '*' && within(path, s))
			return true;
	}
	return false;
}

/* Whether path belongs to component c (inside one of its paths, not
 * excluded). */
static bool covers(const struct abur_component *c, const char *path)
{
	for (size_t i = 0; i < c->npaths; i++)
		if (within(path, c->paths[i]))
			return !component_excludes(c, path);
	return false;
}

static struct wentry *find(struct watcher *w, int wd)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w->e[mid].wd == wd)
			return &w->e[mid];
		if (w->e[mid].wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void forget(struct watcher *w, struct wentry *e)
{
	if (!e->path)
		return;
	free(e->path);
	e->path = NULL;
	w->live--;
}

/* Squeezes out removed entries once they are the majority, keeping order. */
static void compact(struct watcher *w)
{
	size_t out = 0;

	if (w->n - w->live < 64 || w->n - w->live < w->live)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].path)
			w->e[out++] = w->e[i];
	w->n = out;
}

static int add_one(struct watcher *w, const char *dir, uint32_t mask)
{
	/* IN_MASK_ADD: a directory can be both an ancestor and watched. */
	int wd = inotify_add_watch(w->fd, dir, mask | IN_MASK_ADD);
	struct wentry *e;

	if (wd < 0) {
		/* Gone already, or not a directory: its parent reports it. */
		if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
			return 0;
		return abur_fail(-errno, "inotify_add_watch %s: %s%s", dir, strerror(errno),
				 errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
	}
	e = find(w, wd);
	if (e && e->path) /* the same directory again, or by another path */
		return 0;
	if (e) {
		e->path = xstrdup(dir);
		w->live++;
		return 0;
	}
	if (w->n && w->e[w->n - 1].wd > wd)
		return abur_fail(-EINVAL, "inotify descriptors out of order");
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->e = xrealloc(w->e, w->cap * sizeof(*w->e));
	}
	w->e[w->n++] = (struct wentry){.wd = wd, .path = xstrdup(dir)};
	w->live++;
	return 0;
}

/* Watches dir and every directory under it that belongs to a watched
 * component (is_comp says which one, to honour its excludes). */
static int add_tree(struct watcher *w, const char *dir, const struct abur_component *c)
{
	DIR *d;
	struct dirent *de;
	int r;

	if (skipped(w, dir) || (c && !covers(c, dir)))
		return 0;
	r = add_one(w, dir, DIR_MASK);
	if (r < 0)
		return r;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && r == 0) {
		struct stat st;
		char *sub;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sub = xasprintf("%s%s%s", dir, streq(dir, "/") ? "" : "/", de->d_name);
		if (de->d_type == DT_DIR || (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)))
			r = add_tree(w, sub, c);
		free(sub);
	}
	closedir(d);
	return r;
}

/* The nearest existing directory at or above path's parent. */
static char *existing_parent(const char *path)
{
	char *p = xstrdup(path);
	struct stat st;

	for (;;) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p) {
			strcpy(p, "/");
			return p;
		}
		*slash = '\0';
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			return p;
	}
}

static int add_path(struct watcher *w, const struct abur_component *c, const char *path)
{
	_cleanup_free_ char *parent = existing_parent(path);
	struct stat st;
	bool is_dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
	const char *slash = strrchr(path, '/');
	bool direct = slash && (size_t)(slash - path) == (streq(parent, "/") ? 0 : strlen(parent));
	int r;

	/* A file (or a path still to come) is watched through its directory,
	 * which must then report writes too. */
	if (direct && !is_dir)
		r = add_one(w, parent, DIR_MASK);
	else
		r = add_one(w, parent, ANCESTOR_MASK);
	if (r == 0 && is_dir)
		r = add_tree(w, path, c);
	return r;
}

static int add_all(struct watcher *w)
{
	for (size_t i = 0; i < w->cfg->ncomps; i++) {
		const struct abur_component *c = &w->cfg->comps[i];
		if (!comp_watched(c))
			continue;
		for (size_t p = 0; p < c->npaths; p++) {
			int r = add_path(w, c, c->paths[p]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int watcher_new(const struct abur_config *cfg, const char *const *skip, size_t nskip, struct watcher **out)
{
	struct watcher *w = xcalloc(1, sizeof(*w));
	int r;

	w->cfg = cfg;
	w->skip = skip;
	w->nskip = nskip;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		r = abur_fail(-errno, "inotify_init1: %s", strerror(errno));
		free(w);
		return r;
	}
	r = add_all(w);
	if (r < 0) {
		watcher_free(w);
		return r;
	}
	*out = w;
	return 0;
}

static void drop_all(struct watcher *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].path) {
			inotify_rm_watch(w->fd, w->e[i].wd);
			forget(w, &w->e[i]);
		}
	w->n = 0;
}

int watcher_rewatch(struct watcher *w)
{
	char buf[4096];

	drop_all(w);
	/* Discard what is queued (IN_IGNORED for the old watches, stale
	 * events): the caller rescans by digest anyway. */
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
	return add_all(w);
}

void watcher_free(struct watcher *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->e[i].path);
	free(w->e);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int watcher_fd(const struct watcher *w)
{
	return w->fd;
}

size_t watcher_count(const struct watcher *w)
{
	return w->live;
}

/* Drops the watches of dir and everything under it (moved away). */
static void drop_tree(struct watcher *w, const char *dir)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].path && within(w->e[i].path, dir)) {
			inotify_rm_watch(w->fd, w->e[i].wd);
			forget(w, &w->e[i]);
		}
}

/* A directory appeared at path: watch it if it belongs to a component, or
 * if a component path lies below it (an ancestor being recreated).  In the
 * second case the component path may already exist (mkdir -p, a tree moved
 * in) before its own events could be seen: that counts as its change. */
static int new_dir(struct watcher *w, const char *path, bool *changed)
{
	for (size_t i = 0; i < w->cfg->ncomps; i++) {
		const struct abur_component *c = &w->cfg->comps[i];
		struct stat st;
		if (!comp_watched(c))
			continue;
		for (size_t p = 0; p < c->npaths; p++) {
			int r = 0;
			if (within(path, c->paths[p])) {
				r = add_tree(w, path, c);
			} else if (within(c->paths[p], path)) {
				r = add_path(w, c, c->paths[p]);
				if (lstat(c->paths[p], &st) == 0)
					changed[i] = true;
			}
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int handle(struct watcher *w, const struct inotify_event *ev, bool *changed)
{
	struct wentry *e = find(w, ev->wd);
	_cleanup_free_ char *path = NULL;
	int r = 0;

	if (!e || !e->path)
		return 0;
	if (ev->len && ev->name[0])
		path = xasprintf("%s%s%s", e->path, streq(e->path, "/") ? "" : "/", ev->name);
	else
		path = xstrdup(e->path);
	if (skipped(w, path))
		return 0;
	for (size_t i = 0; i < w->cfg->ncomps; i++)
		if (comp_watched(&w->cfg->comps[i]) && covers(&w->cfg->comps[i], path))
			changed[i] = true;
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
		r = new_dir(w, path, changed);
	else if ((ev->mask & IN_ISDIR) && (ev->mask & IN_MOVED_FROM))
		drop_tree(w, path);
	if (ev->mask & IN_IGNORED)
		forget(w, e);
	return r;
}

int watcher_read(struct watcher *w, bool *changed, bool *overflow)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return abur_fail(n < 0 ? -errno : -EIO, "inotify read: %s", n < 0 ? strerror(errno) : "EOF");
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				*overflow = true;
				continue;
			}
			int r = handle(w, ev, changed);
			if (r < 0)
				return r;
		}
	}
	compact(w);
	return 0;
}

static void newest_in(const struct abur_component *c, const char *path, time_t *t)
{
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (component_excludes(c, path) || lstat(path, &st) < 0)
		return;
	if (st.st_mtime > *t)
		*t = st.st_mtime;
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return;
	while ((de = readdir(d)) != NULL) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		char *sub = xasprintf("%s/%s", path, de->d_name);
		newest_in(c, sub, t);
		free(sub);
	}
	closedir(d);
}

time_t comp_newest_mtime(const struct abur_component *c)
{
	time_t t = 0;

	for (size_t i = 0; i < c->npaths; i++)
		newest_in(c, c->paths[i], &t);
	return t;
}
