/* A component's configured paths under a root: which exist, which are
 * symlinks to follow (once, beneath the root), which another covers. */
#include "tops.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool path_within(const char *a, const char *b)
{
	size_t n = strlen(b);
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* Where the symlink at root + t->conf leads, resolved beneath root as that
 * system would (an absolute target is root's /). A dangling or looping
 * link is not followed: it is stored as the link it is. */
static int follow_top(const char *root, struct top *t)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
	_cleanup_free_ char *proc = NULL, *rroot = realpath(root, NULL);
	char text[PATH_MAX], real[PATH_MAX];
	ssize_t n = readlink(t->src, text, sizeof(text) - 1), m;
	size_t rl;

	if (n < 0 || rfd < 0 || !rroot)
		return abur_fail(-errno, "%s: %m", n < 0 ? t->src : root);
	text[n] = '\0';
	fd = (int)syscall(SYS_openat2, rfd, t->conf + 1, &how, sizeof(how));
	if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR))
		return 0;
	if (fd < 0)
		return abur_fail(-errno, "%s: cannot follow the symlink: %m", t->src);
	proc = xasprintf("/proc/self/fd/%d", fd);
	m = readlink(proc, real, sizeof(real) - 1);
	if (m < 0)
		return abur_fail(-errno, "%s: cannot follow the symlink: %m", t->src);
	real[m] = '\0';
	rl = streq(rroot, "/") ? 0 : strlen(rroot);
	if (strncmp(real, rroot, rl) != 0 || real[rl] != '/' || !real[rl + 1])
		return abur_fail(-EINVAL, "%s: a symlink to %s, which is the root itself: not backed up", t->conf,
				 text);
	t->link = xstrdup(text);
	t->content = xstrdup(real + rl);
	free(t->src);
	t->src = xstrdup(real);
	return 0;
}

/* The name a top's content restores to. */
static const char *restore_name(const struct top *t)
{
	return t->link ? t->content : t->conf;
}

/* Configured paths inside another are covered by it (and would be
 * archived twice, which a restore refuses); a followed link whose target
 * another path also covers cannot be restored to both: refused. */
static int check_overlap(const struct abur_component *c, struct top *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n && !t[i].absent && !t[i].nested; j++)
			if (j != i && !t[j].absent && path_within(t[i].conf, t[j].conf) &&
			    (!streq(t[i].conf, t[j].conf) || j < i))
				t[i].nested = true;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (i == j || t[i].absent || t[j].absent || t[i].nested || t[j].nested || !t[i].link)
				continue;
			if (path_within(restore_name(&t[i]), restore_name(&t[j])) ||
			    path_within(restore_name(&t[j]), restore_name(&t[i])))
				return abur_fail(
				    -EINVAL,
				    "component '%s': %s is a symlink to %s, which %s also covers: a restore "
				    "cannot put both back; configure one of them",
				    c->name, t[i].conf, t[i].content, t[j].conf);
		}
	return 0;
}

void tops_free(struct top *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].src);
		free(t[i].link);
		free(t[i].content);
	}
	free(t);
}

int find_tops(const struct abur_component *c, const char *root, struct top **out)
{
	struct top *t = xcalloc(c->npaths + 1, sizeof(*t));
	int r = 0;

	for (size_t i = 0; r == 0 && i < c->npaths; i++) {
		struct stat st;
		t[i].conf = c->paths[i];
		t[i].src = xasprintf("%s%s", streq(root, "/") ? "" : root, c->paths[i]);
		if (lstat(t[i].src, &st) < 0)
			t[i].absent = true;
		else if (S_ISLNK(st.st_mode))
			r = follow_top(root, &t[i]);
	}
	if (r == 0)
		r = check_overlap(c, t, c->npaths);
	if (r < 0) {
		tops_free(t, c->npaths);
		return r;
	}
	*out = t;
	return 0;
}
