#include "osmeta.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "core/io.h"

int osmeta_parent(int rootfd, const char *rel, const char **leaf)
{
	const char *slash = strrchr(rel, '/');
	int fd;

	*leaf = slash ? slash + 1 : rel;
	if (!slash)
		fd = dup(rootfd);
	else {
		_cleanup_free_ char *dir = strndup(rel, (size_t)(slash - rel));
		fd = io_open_beneath(rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	}
	if (fd < 0)
		return fd == -1 ? abur_fail(-errno, "%s: %m", rel) : abur_fail_wrap(fd, "%s", rel);
	return fd;
}

int osmeta_remove(int rootfd, const char *rel)
{
	const char *leaf;
	int dfd = osmeta_parent(rootfd, rel, &leaf), r;

	if (dfd == -ENOENT)
		return 0; /* its directory is gone already */
	if (dfd < 0)
		return dfd;
	r = rm_rf_at(dfd, leaf);
	close(dfd);
	return r;
}

static char type_of(mode_t m)
{
	return S_ISDIR(m) ? OSIDX_DIR : S_ISLNK(m) ? OSIDX_SYMLINK : S_ISREG(m) ? OSIDX_FILE : '?';
}

int osmeta_clear_for(int rootfd, const char *rel, char type)
{
	const char *leaf;
	_cleanup_close_ int dfd = osmeta_parent(rootfd, rel, &leaf);
	struct stat st;

	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", rel);
	if (type_of(st.st_mode) == (type == OSIDX_HARDLINK ? OSIDX_FILE : type))
		return 0;
	return rm_rf_at(dfd, leaf);
}

/* ---- ACLs (libacl): libarchive's text, "default:" lines apart ---- */

static char *acl_part(const char *text, bool dflt)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *out = xstrdup(""), *save = NULL;

	for (char *l = strtok_r(copy, "\n,", &save); l; l = strtok_r(NULL, "\n,", &save)) {
		bool is_default = startswith(l, "default:");
		if (is_default != dflt)
			continue;
		char *more = xasprintf("%s%s\n", out, is_default ? l + 8 : l);
		free(out);
		out = more;
	}
	return out;
}

static int set_acl(int fd, const char *rel, const char *mnt, const struct osidx_ent *e)
{
	_cleanup_free_ char *access = e->acl ? acl_part(e->acl, false) : NULL;
	_cleanup_free_ char *dflt = e->acl ? acl_part(e->acl, true) : NULL;
	_cleanup_free_ char *path = xasprintf("%s/%s", mnt, rel);
	acl_t a;

	if (access && *access) {
		a = acl_from_text(access);
		if (!a || acl_set_fd(fd, a) < 0) {
			int r = abur_fail(-errno, "%s: setting its ACL: %m", rel);
			if (a)
				acl_free(a);
			return r;
		}
		acl_free(a);
	} else {
		a = acl_from_mode(e->mode & 0777); /* no extended ACL: just the mode */
		if (a && acl_set_fd(fd, a) < 0 && errno != ENOTSUP) {
			acl_free(a);
			return abur_fail(-errno, "%s: clearing its ACL: %m", rel);
		}
		if (a)
			acl_free(a);
	}
	if (e->type != OSIDX_DIR)
		return 0;
	if (!dflt || !*dflt)
		return acl_delete_def_file(path) < 0 && errno != ENOTSUP && errno != ENODATA
			   ? abur_fail(-errno, "%s: %m", rel)
			   : 0;
	a = acl_from_text(dflt);
	if (!a || acl_set_file(path, ACL_TYPE_DEFAULT, a) < 0) {
		int r = abur_fail(-errno, "%s: setting its default ACL: %m", rel);
		if (a)
			acl_free(a);
		return r;
	}
	acl_free(a);
	return 0;
}

/* ---- xattrs: "HEXNAME=HEXVAL;..." ---- */

static int unhex(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (sscanf(s + i, "%2x", &v) != 1)
			return -1;
		out[i / 2] = (char)v;
	}
	return 0;
}

/* The wanted xattrs of e as names and values; false when malformed. */
static bool parse_xattrs(const char *text, char ***names, char ***vals, size_t **lens, size_t *n)
{
	_cleanup_free_ char *copy = xstrdup(text ? text : "");
	char *save = NULL;

	*names = *vals = NULL;
	*lens = NULL;
	*n = 0;
	for (char *w = strtok_r(copy, ";", &save); w; w = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(w, '=');
		size_t kn = eq ? (size_t)(eq - w) : 0, vn = eq ? strlen(eq + 1) : 0;
		if (!eq || !kn || kn % 2 || vn % 2 || kn > 510 || vn > 2 * 65536)
			return false;
		*names = xrealloc(*names, (*n + 1) * sizeof(char *));
		*vals = xrealloc(*vals, (*n + 1) * sizeof(char *));
		*lens = xrealloc(*lens, (*n + 1) * sizeof(size_t));
		(*names)[*n] = xcalloc(kn / 2 + 1, 1);
		(*vals)[*n] = xcalloc(vn / 2 + 1, 1);
		(*lens)[*n] = vn / 2;
		(*n)++;
		if (unhex(w, kn, (*names)[*n - 1]) < 0 || unhex(eq + 1, vn, (*vals)[*n - 1]) < 0)
			return false;
	}
	return true;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Removes xattrs e does not have (system.* is the ACLs': set_acl's), then
 * sets e's. */
static int set_xattrs(int fd, const char *rel, const struct osidx_ent *e)
{
	char **names, **vals, list[65536];
	size_t *lens, n;
	ssize_t ln = flistxattr(fd, list, sizeof(list));
	int r = 0;

	if (!parse_xattrs(e->xattrs, &names, &vals, &lens, &n))
		r = abur_fail(-EINVAL, "%s: malformed xattrs in the state", rel);
	for (ssize_t i = 0; r == 0 && ln > 0 && i < ln; i += (ssize_t)strlen(list + i) + 1) {
		bool keep = startswith(list + i, "system.");
		for (size_t k = 0; k < n && !keep; k++)
			keep = streq(names[k], list + i);
		if (!keep && fremovexattr(fd, list + i) < 0 && errno != ENODATA)
			r = abur_fail(-errno, "%s: removing xattr %s: %m", rel, list + i);
	}
	for (size_t k = 0; r == 0 && k < n; k++)
		if (fsetxattr(fd, names[k], vals[k], lens[k], 0) < 0)
			r = abur_fail(-errno, "%s: setting xattr %s: %m", rel, names[k]);
	free_strv(names, n);
	free_strv(vals, n);
	free(lens);
	return r;
}

static int set_times(int dfd, const char *leaf, const char *rel, const struct osidx_ent *e)
{
	struct timespec ts[2] = {{(time_t)(e->mtime_ns / 1000000000), (long)(e->mtime_ns % 1000000000)}};

	if (ts[0].tv_nsec < 0) {
		ts[0].tv_sec--;
		ts[0].tv_nsec += 1000000000;
	}
	ts[1] = ts[0];
	return utimensat(dfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0 ? abur_fail(-errno, "%s: setting its times: %m", rel)
								 : 0;
}

int osmeta_apply(int rootfd, const char *mnt, const struct osidx_ent *e)
{
	const char *leaf;
	_cleanup_close_ int dfd = osmeta_parent(rootfd, e->path, &leaf);
	_cleanup_close_ int fd = -1;
	int r = 0;

	if (dfd < 0)
		return dfd;
	if (fchownat(dfd, leaf, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return abur_fail(-errno, "%s: setting its owner: %m", e->path);
	if (e->type != OSIDX_SYMLINK) {
		/* Opened without following a link: the entry placed a moment ago. */
		fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return abur_fail(-errno, "%s: %m", e->path);
		if (fchmod(fd, e->mode) < 0)
			return abur_fail(-errno, "%s: setting its mode: %m", e->path);
		r = set_acl(fd, e->path, mnt, e);
		if (r == 0)
			r = set_xattrs(fd, e->path, e);
	}
	return r < 0 ? r : set_times(dfd, leaf, e->path, e);
}
