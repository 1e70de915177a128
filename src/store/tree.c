/* File-level components: content digest, backup into data.tar.zst, and a
 * restore that checks the whole archive before it writes anything. */
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "store_int.h"

#define DATA_PAYLOAD "data.tar.zst"
/* Starts every tree digest (with its NUL): a version for the scheme. */
#define TREE_DIGEST_TAG "abur-tree-1"

/* ---- walking a component's paths under a root ---- */

struct walk;
typedef int (*visit_fn)(struct walk *w, struct archive_entry *e, int fd);

struct walk {
	const struct abur_component *c;
	const char *root;     /* "/" or a mount point */
	struct archive *disk; /* archive_read_disk: xattrs, ACLs, names */
	struct archive_entry_linkresolver *links;
	visit_fn visit;
	void *arg;
	uint64_t files;
	struct sha256 *sha; /* for the digest walk */
};

static int visit_one(struct walk *w, const char *abs, const char *rel, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new(), *spare = NULL;
	_cleanup_close_ int fd = -1;
	int r = 0;

	if (S_ISREG(st->st_mode)) {
		fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
		if (fd < 0 && errno == EPERM)
			fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			archive_entry_free(e);
			return abur_fail(-errno, "%s: %m", abs);
		}
	}
	archive_entry_copy_sourcepath(e, abs);
	if (archive_read_disk_entry_from_file(w->disk, e, fd, st) != ARCHIVE_OK) {
		r = abur_fail(-EIO, "%s: %s", abs, archive_error_string(w->disk));
		archive_entry_free(e);
		return r;
	}
	archive_entry_copy_pathname(e, rel);
	archive_entry_linkify(w->links, &e, &spare);
	if (e)
		r = w->visit(w, e, archive_entry_size(e) > 0 ? fd : -1);
	w->files++;
	archive_entry_free(e);
	archive_entry_free(spare);
	return r;
}

static int walk_path(struct walk *w, const char *rel);

static int walk_dir(struct walk *w, const char *abs, const char *rel)
{
	struct dirent **list;
	int n = scandir(abs, &list, NULL, alphasort), r = 0;

	if (n < 0)
		return abur_fail(-errno, "%s: %m", abs);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (r == 0 && !streq(name, ".") && !streq(name, "..")) {
			_cleanup_free_ char *child = xasprintf("%s/%s", rel, name);
			r = walk_path(w, child);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

/* rel: path relative to root, without a leading slash. */
static int walk_path(struct walk *w, const char *rel)
{
	_cleanup_free_ char *sys = xasprintf("/%s", rel);
	_cleanup_free_ char *abs = xasprintf("%s/%s", streq(w->root, "/") ? "" : w->root, rel);
	struct stat st;
	int r;

	if (component_excludes(w->c, sys))
		return 0;
	if (lstat(abs, &st) < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", abs); /* vanished meanwhile */
	if (S_ISSOCK(st.st_mode))
		return 0; /* cannot be archived; daemons recreate them */
	r = visit_one(w, abs, rel, &st);
	if (r == 0 && S_ISDIR(st.st_mode))
		r = walk_dir(w, abs, rel);
	return r;
}

static int walk(const struct abur_component *c, const char *root, visit_fn visit, void *arg, struct sha256 *sha,
		uint64_t *files)
{
	struct walk w = {.c = c, .root = root, .visit = visit, .arg = arg, .sha = sha};
	unsigned found = 0;
	int r = 0;

	w.disk = archive_read_disk_new();
	w.links = archive_entry_linkresolver_new();
	archive_read_disk_set_standard_lookup(w.disk);
	archive_entry_linkresolver_set_strategy(w.links, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	for (size_t i = 0; r == 0 && i < c->npaths; i++) {
		_cleanup_free_ char *abs = xasprintf("%s%s", streq(root, "/") ? "" : root, c->paths[i]);
		struct stat st;
		if (lstat(abs, &st) < 0) {
			if (sha) /* an absent path is content too: its appearance is a change */
				sha256_update(sha, c->paths[i], strlen(c->paths[i]) + 1);
			continue;
		}
		found++;
		r = walk_path(&w, c->paths[i] + 1);
	}
	archive_entry_linkresolver_free(w.links);
	archive_read_free(w.disk);
	if (r == 0 && !found)
		r = abur_fail(-ENOENT, "component '%s': none of its paths exist under %s", c->name, root);
	if (files)
		*files = w.files;
	return r;
}

/* ---- digest ---- */

static int hash_content(struct sha256 *sha, int fd, const char *path)
{
	char buf[64 * 1024];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(sha, buf, (size_t)n);
	return n < 0 ? abur_fail(-errno, "read %s: %m", path) : 0;
}

/* Everything but the contents; both passes (digest, archive) use it. */
static void digest_meta(struct sha256 *sha, struct archive_entry *e)
{
	const char *name, *hl = archive_entry_hardlink(e), *sl = archive_entry_symlink(e);
	const void *val;
	size_t size;
	char *acl;
	char line[512];

	snprintf(line, sizeof(line), "%o %lld %lld %lld\n", (unsigned)archive_entry_mode(e),
		 (long long)archive_entry_uid(e), (long long)archive_entry_gid(e), (long long)archive_entry_size(e));
	sha256_update(sha, archive_entry_pathname(e), strlen(archive_entry_pathname(e)) + 1);
	sha256_update(sha, line, strlen(line));
	if (hl)
		sha256_update(sha, hl, strlen(hl) + 1);
	if (sl)
		sha256_update(sha, sl, strlen(sl) + 1);
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		sha256_update(sha, name, strlen(name) + 1);
		sha256_update(sha, val, size);
	}
	acl = archive_entry_acl_to_text(e, NULL, ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT);
	if (acl)
		sha256_update(sha, acl, strlen(acl) + 1);
	free(acl);
}

static int digest_visit(struct walk *w, struct archive_entry *e, int fd)
{
	digest_meta(w->sha, e);
	return fd >= 0 ? hash_content(w->sha, fd, archive_entry_sourcepath(e)) : 0;
}

int tree_digest(const struct abur_component *c, const char *root, char digest[SHA256_HEX_LEN])
{
	struct sha256 sha;
	int r;

	sha256_init(&sha);
	sha256_update(&sha, TREE_DIGEST_TAG, sizeof(TREE_DIGEST_TAG));
	r = walk(c, root, digest_visit, NULL, &sha, NULL);
	if (r < 0)
		return r;
	sha256_final_hex(&sha, digest);
	return 0;
}

/* ---- backup ---- */

/* Copies exactly the size in the header, hashing as it goes, then checks
 * the file did not change meanwhile: a file being rewritten is retried
 * later rather than stored cut short or padded. */
static int copy_data(struct archive *a, struct sha256 *sha, int fd, struct archive_entry *e, int64_t size)
{
	const char *path = archive_entry_sourcepath(e);
	int64_t left = size;
	char buf[64 * 1024];
	struct stat st;

	while (left > 0) {
		ssize_t n = read(fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0)
			return abur_fail(-errno, "read %s: %m", path);
		if (n == 0)
			return abur_fail(-EAGAIN, "%s shrank while being backed up: will retry", path);
		sha256_update(sha, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return abur_fail(-EIO, "archive %s: %s", path, archive_error_string(a));
		left -= n;
	}
	if (fstat(fd, &st) < 0)
		return abur_fail(-errno, "%s: %m", path);
	if (st.st_size != size || st.st_mtime != archive_entry_mtime(e) ||
	    st.st_mtim.tv_nsec != archive_entry_mtime_nsec(e))
		return abur_fail(-EAGAIN, "%s changed while being backed up: will retry", path);
	return 0;
}

static int archive_visit(struct walk *w, struct archive_entry *e, int fd)
{
	struct archive *a = w->arg;

	/* ARCHIVE_WARN: written, but a name could not be converted to UTF-8
	 * (any non-ASCII name in the C locale abur runs in); the pax writer
	 * then stores the name's bytes as they are (hdrcharset=BINARY),
	 * which is what a restore needs. */
	int64_t size = archive_entry_size(e);

	/* Before the header: the pax writer normalises the entry in place
	 * (a '/' after directory names, size 0 for directories and links). */
	digest_meta(w->sha, e);
	if (archive_write_header(a, e) < ARCHIVE_WARN)
		return abur_fail(-EIO, "archive %s: %s", archive_entry_pathname(e), archive_error_string(a));
	return fd >= 0 && size > 0 ? copy_data(a, w->sha, fd, e, size) : 0;
}

struct tree_fill {
	const struct abur_component *c;
	const char *root;
	const char *digest; /* what the manifest will say */
	uint64_t files;
};

/* Archives the tree and re-derives its digest from exactly what was
 * archived: if the tree changed since tree_digest(), the commit is
 * abandoned (-EAGAIN) so a manifest never describes other content. */
static int fill_tree(struct archive *a, void *arg)
{
	struct tree_fill *f = arg;
	char hex[SHA256_HEX_LEN];
	struct sha256 sha;
	int r;

	sha256_init(&sha);
	sha256_update(&sha, TREE_DIGEST_TAG, sizeof(TREE_DIGEST_TAG));
	r = walk(f->c, f->root, archive_visit, a, &sha, &f->files);
	if (r < 0)
		return r;
	sha256_final_hex(&sha, hex);
	if (!streq(hex, f->digest))
		return abur_fail(-EAGAIN, "component '%s' changed while being backed up: will retry", f->c->name);
	return 0;
}

static bool unchanged(struct store *s, const char *component, const char *digest)
{
	struct gen_list l;
	const struct generation *g;
	bool same = false;

	/* Deep: a newest generation that no longer verifies must not stop the
	 * same content from being stored again, or a restore would fall back
	 * to older content while the live system still has this. */
	if (store_list(s, component, &l) == 0 && store_newest_valid(s, &l, true, 0, &g, NULL) == 0)
		same = streq(g->m.content_digest, digest);
	gen_list_free(&l);
	abur_fail_clear();
	return same;
}

int backup_component(struct store *s, const struct abur_component *c, const char *root, const char *trigger,
		     bool pinned, struct backup_result *res)
{
	char digest[SHA256_HEX_LEN];
	struct tree_fill f = {c, root, digest, 0};
	struct payload_spec ps = {DATA_PAYLOAD, fill_tree, &f};
	struct commit_info info = {.component = c->name,
				   .trigger = trigger,
				   .content_digest = digest,
				   .pinned = pinned,
				   .sources = (const char *const *)c->paths,
				   .nsources = c->npaths,
				   .keep = c->keep};
	int r;

	memset(res, 0, sizeof(*res));
	if (c->type != COMP_FILES)
		return abur_fail(-EINVAL, "component '%s' is not file-level", c->name);
	r = tree_digest(c, root, digest);
	if (r < 0)
		return r;
	/* A seal always records a pinned generation, even of unchanged content. */
	if (!pinned && unchanged(s, c->name, digest)) {
		res->unchanged = true;
		return 0;
	}
	r = store_commit(s, &info, &ps, 1, &res->seq);
	if (r < 0)
		return r;
	res->files = f.files;
	res->payload_bytes = store_generation_bytes(s, c->name, res->seq);
	return 0;
}
