/* Restoring a file-level component: the whole archive is checked first
 * (hash, zstd checksums, every entry's type, path, links and the limits),
 * and only then extracted with libarchive's secure flags.  A hostile or
 * corrupt archive writes nothing. */
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "payload.h"
#include "store_int.h"

#define DATA_PAYLOAD "data.tar.zst"

/* A string set (open addressing) for paths seen in the archive. */
struct strset {
	char **slot;
	size_t cap, n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool set_has(const struct strset *s, const char *k)
{
	if (!s->cap)
		return false;
	for (size_t i = fnv(k) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (streq(s->slot[i], k))
			return true;
	return false;
}

static void set_add(struct strset *s, const char *k)
{
	if (set_has(s, k))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		struct strset bigger = {xcalloc(s->cap ? s->cap * 2 : 64, sizeof(char *)), s->cap ? s->cap * 2 : 64, 0};
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i]) {
				set_add(&bigger, s->slot[i]);
				free(s->slot[i]);
			}
		free(s->slot);
		*s = bigger;
	}
	size_t i = fnv(k) & (s->cap - 1);
	while (s->slot[i])
		i = (i + 1) & (s->cap - 1);
	s->slot[i] = xstrdup(k);
	s->n++;
}

static void set_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

struct check {
	const struct restore_limits *lim;
	uint64_t entries, bytes;
	struct strset files, symlinks;
};

/* Relative, no "..", no empty path; a leading "./" is allowed. */
static const char *safe_path(const char *p)
{
	while (startswith(p, "./"))
		p += 2;
	if (!*p || *p == '/')
		return NULL;
	for (const char *c = p; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (startswith(c, "..") && (c[2] == '/' || c[2] == '\0'))
			return NULL;
	}
	return p;
}

/* Fails when any leading component of path is a symlink from this archive. */
static bool through_symlink(const struct check *ck, const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		bool hit = set_has(&ck->symlinks, p);
		*s = '/';
		if (hit)
			return true;
	}
	return false;
}

static const char *type_name(mode_t t)
{
	switch (t) {
	case AE_IFCHR:
		return "a character device";
	case AE_IFBLK:
		return "a block device";
	case AE_IFIFO:
		return "a FIFO";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "of an unknown type";
	}
}

static int check_entry(struct check *ck, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e), *path = raw ? safe_path(raw) : NULL;
	const char *hl = archive_entry_hardlink(e);
	mode_t t = archive_entry_filetype(e);

	if (!path)
		return abur_fail(-EPERM, "entry '%s': path leaves the restore root", raw ? raw : "(none)");
	if (++ck->entries > ck->lim->max_entries)
		return abur_fail(-EFBIG, "more than %llu entries (restore max_entries)",
				 (unsigned long long)ck->lim->max_entries);
	if (through_symlink(ck, path))
		return abur_fail(-EPERM, "entry '%s' goes through a symlink in the archive", path);
	if (hl) {
		const char *target = safe_path(hl);
		if (!target || !set_has(&ck->files, target))
			return abur_fail(
			    -EPERM, "entry '%s': hard link to '%s', which is not a file restored before it", path, hl);
		return 0;
	}
	if (t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK)
		return abur_fail(-EPERM, "entry '%s' is %s: not allowed in a restore", path, type_name(t));
	if (archive_entry_size(e) < 0 || (ck->bytes += (uint64_t)archive_entry_size(e)) > ck->lim->max_total_size)
		return abur_fail(-EFBIG, "entry '%s': contents exceed %llu bytes (restore max_total_size)", path,
				 (unsigned long long)ck->lim->max_total_size);
	if (t == AE_IFREG)
		set_add(&ck->files, path);
	else if (t == AE_IFLNK)
		set_add(&ck->symlinks, path);
	return 0;
}

static int open_data(struct store *s, const struct generation *g, const struct restore_limits *lim, struct archive **a)
{
	for (size_t i = 0; i < g->m.npayloads; i++) {
		if (!streq(g->m.payloads[i].name, DATA_PAYLOAD))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", g->dir, DATA_PAYLOAD);
		/* tar headers and padding add at most a few KiB per entry */
		uint64_t cap = lim->max_total_size + lim->max_entries * 4096 + (1 << 20);
		(void)s;
		return payload_reader_open(path, g->m.payloads[i].sha256, g->m.payloads[i].size, cap, a);
	}
	return abur_fail(-ENOENT, "g%06llu has no %s", (unsigned long long)g->seq, DATA_PAYLOAD);
}

int restore_check_archive(struct archive *a, const struct restore_limits *lim)
{
	struct check ck = {.lim = lim};
	struct archive_entry *e;
	int r = 0, k;

	while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = check_entry(&ck, e);
		if (r == 0 && archive_read_data_skip(a) != ARCHIVE_OK)
			k = ARCHIVE_FATAL;
		if (r == 0 && k != ARCHIVE_OK)
			break;
	}
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "%s", archive_error_string(a) ? archive_error_string(a) : "unreadable archive");
	set_free(&ck.files);
	set_free(&ck.symlinks);
	return r;
}

/* Pass 1: read everything, check every entry, check the hash. */
static int check_archive(struct store *s, const struct generation *g, const struct restore_limits *lim)
{
	struct archive *a;
	int r = open_data(s, g, lim, &a);

	if (r < 0)
		return r;
	r = restore_check_archive(a, lim);
	if (r < 0)
		payload_reader_discard(a); /* do not decompress the rest of a hostile stream */
	else
		r = payload_reader_close(a);
	return r;
}

static int copy_entry_data(struct archive *in, struct archive *out, const char *path)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int k;

	while ((k = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
			return abur_fail(-EIO, "restore %s: %s", path, archive_error_string(out));
	if (k != ARCHIVE_EOF)
		return abur_fail(-EBADMSG, "read %s: %s", path, archive_error_string(in));
	return 0;
}

static struct archive *disk_writer(void)
{
	struct archive *w = archive_write_disk_new();

	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
					      ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR |
					      ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
					      ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	archive_write_disk_set_standard_lookup(w);
	return w;
}

/* Pass 2: extract (the entries were all checked; checked again as we go). */
static int extract(struct store *s, const struct generation *g, const struct restore_limits *lim)
{
	struct check ck = {.lim = lim};
	struct archive *a, *w;
	struct archive_entry *e;
	int r = open_data(s, g, lim, &a), k = ARCHIVE_OK;

	if (r < 0)
		return r;
	w = disk_writer();
	while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = check_entry(&ck, e);
		if (r == 0)
			archive_entry_set_pathname(e, safe_path(archive_entry_pathname(e)));
		if (r == 0 && archive_write_header(w, e) != ARCHIVE_OK)
			r = abur_fail(-EIO, "restore %s: %s", archive_entry_pathname(e), archive_error_string(w));
		if (r == 0 && archive_entry_size(e) > 0)
			r = copy_entry_data(a, w, archive_entry_pathname(e));
		if (r == 0 && archive_write_finish_entry(w) != ARCHIVE_OK)
			r = abur_fail(-EIO, "restore %s: %s", archive_entry_pathname(e), archive_error_string(w));
	}
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)g->seq, archive_error_string(a));
	if (archive_write_close(w) != ARCHIVE_OK && r == 0)
		r = abur_fail(-EIO, "restore: %s", archive_error_string(w));
	archive_write_free(w);
	if (r < 0)
		payload_reader_discard(a);
	else
		r = payload_reader_close(a);
	set_free(&ck.files);
	set_free(&ck.symlinks);
	return r;
}

int restore_component(struct store *s, const struct generation *g, const char *root, const struct restore_limits *lim)
{
	_cleanup_close_ int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dir = -1;
	int r;

	if (!g->valid)
		return abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)g->seq, g->problem);
	r = check_archive(s, g, lim);
	if (r < 0)
		return abur_fail_wrap(r, "refusing to restore g%06llu", (unsigned long long)g->seq);
	r = mkdir_p(root, 0755);
	if (r < 0)
		return r;
	dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || here < 0)
		return abur_fail(-errno, "%s: %m", root);
	/* libarchive extracts relative to the working directory. */
	if (fchdir(dir) < 0)
		return abur_fail(-errno, "chdir %s: %m", root);
	r = extract(s, g, lim);
	if (fchdir(here) < 0 && r == 0)
		r = abur_fail(-errno, "chdir back: %m");
	return r;
}

int restore_newest(struct store *s, const char *component, const char *root, const struct restore_limits *lim,
		   uint64_t *seq, unsigned *skipped)
{
	struct gen_list l;
	const struct generation *g;
	int r = store_list(s, component, &l);

	if (r == 0 && l.n == 0)
		r = abur_fail(-ENODATA, "%s: no generation stored", component);
	if (r == 0 && store_newest_valid(s, &l, true, 0, &g, skipped) < 0)
		r = abur_fail(-EBADMSG, "%s: no generation verifies", component);
	if (r == 0) {
		*seq = g->seq;
		r = restore_component(s, g, root, lim);
	}
	gen_list_free(&l);
	return r;
}
