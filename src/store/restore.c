/* Restoring a file-level component: the whole archive is checked first
 * (hash, zstd checksums, every entry's type, path, links and the limits),
 * and only then extracted with libarchive's secure flags.  A hostile or
 * corrupt archive writes nothing. */
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "payload.h"
#include "restore_int.h"

#define DATA_PAYLOAD "data.tar.zst"

/* A configured path that was a symlink when backed up (manifest [extra]
 * linkN*): its content, archived under the link's name, goes back to the
 * link's target, and the link is recreated where it was. */
struct linkmap {
	char *from;   /* "etc/vms", normalised */
	char *to;     /* "data/vms", normalised */
	char *target; /* the link's text */
};

/* The paths asked for (restore_want.paths), in the spelling of the
 * checked entries (normalised, mapped); n 0: everything. */
struct selection {
	char **v;
	char *const *asked; /* as given, for the error naming one not held */
	bool *hit;
	size_t n;
};

struct check {
	const struct restore_limits *lim;
	const struct linkmap *map;
	size_t nmap;
	struct selection *sel;
	uint64_t entries, bytes, selected;
	uint64_t selected_bytes; /* content of the selected entries: pass 2's progress total */
	struct strset seen, files, symlinks, names;
};

/* The one spelling of an archive path that every check and the extraction
 * use: leading "./" and "/." runs, "//" and trailing "/" collapsed, so
 * "a/./l/x", "a//l/x" and "l/" name what "a/l/x" and "l" name.  NULL (with
 * *why) when the path is empty, absolute, has a ".." component or is too
 * long for a restore (PATH_MAX, NAME_MAX per component). Malloc'd. */
static char *normal_path(const char *raw, const char **why)
{
	size_t n = strlen(raw), o = 0;
	char *out;

	*why = n >= PATH_MAX ? "name too long" : "path leaves the restore root or is empty";
	if (!n || raw[0] == '/' || n >= PATH_MAX)
		return NULL;
	out = xcalloc(n + 1, 1);
	for (const char *c = raw; *c;) {
		size_t len = strcspn(c, "/");
		if (len > NAME_MAX)
			*why = "name too long";
		if (len > NAME_MAX || (len == 2 && c[0] == '.' && c[1] == '.')) {
			free(out);
			return NULL;
		}
		if (len && !(len == 1 && c[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, c, len);
			o += len;
		}
		c += len;
		c += *c == '/';
	}
	if (!o) {
		free(out);
		return NULL;
	}
	return out;
}

static bool under(const char *path, const char *top)
{
	size_t n = strlen(top);

	return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The name an entry restores to: under a followed link's name, the same
 * under its target. Takes path, returns it or a replacement. */
static char *map_path(const struct check *ck, char *path)
{
	for (size_t i = 0; path && i < ck->nmap; i++) {
		if (under(path, ck->map[i].from)) {
			char *m = xasprintf("%s%s", ck->map[i].to, path + strlen(ck->map[i].from));
			free(path);
			return m;
		}
	}
	return path;
}

/* Fails when any leading component of path is a symlink from this archive. */
static bool through_symlink(const struct check *ck, const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		bool hit = strset_has(&ck->symlinks, p);
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

static int check_link(struct check *ck, const char *path, const char *hl)
{
	const char *why;
	_cleanup_free_ char *target = map_path(ck, normal_path(hl, &why));

	/* Only to a regular file of this archive, so never to a symlink or
	 * anything outside; its name was already checked for symlinks. */
	if (!target || !strset_has(&ck->files, target))
		return abur_fail(-EPERM, "entry '%s': hard link to '%s', which is not a file restored before it", path,
				 hl);
	return 0;
}

/* A name seen again replaces the earlier entry.  With the same type that
 * is harmless (an older backup with overlapping paths archived some names
 * twice); another type would undo what was checked against the first (a
 * file that becomes a symlink for a later hard link to write through, a
 * symlink that becomes a directory): refused. */
static int check_again(struct check *ck, const char *raw, const char *path, mode_t t)
{
	static const mode_t types[] = {AE_IFREG, AE_IFDIR, AE_IFLNK};
	char tag[2] = {0};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		_cleanup_free_ char *key = NULL;
		tag[0] = (char)('0' + i);
		key = xasprintf("%s%s", tag, path);
		if (types[i] == t)
			strset_add(&ck->seen, key);
		else if (strset_has(&ck->seen, key))
			return abur_fail(-EPERM, "entry '%s': '%s' appeared before as another type", raw, path);
	}
	return 0;
}

/* Whether path is asked for; marks the paths asked that hold it. */
static bool select_path(struct selection *sel, const char *path)
{
	bool any = !sel || !sel->n;

	for (size_t i = 0; sel && i < sel->n; i++)
		if (under(path, sel->v[i]))
			any = sel->hit[i] = true;
	return any;
}

/* Checks one entry; *norm gets its normalised path (malloc'd) on success. */
static int check_one(struct check *ck, struct archive_entry *e, char **norm)
{
	const char *raw = archive_entry_pathname(e), *hl = archive_entry_hardlink(e), *why = "no path";
	_cleanup_free_ char *path = raw ? map_path(ck, normal_path(raw, &why)) : NULL;
	mode_t t = archive_entry_filetype(e);
	int r;

	if (!path) /* a name of 4 KiB would hide the reason: its start will do */
		return abur_fail(-EPERM, "entry '%.200s%s': %s", raw ? raw : "", raw && strlen(raw) > 200 ? "..." : "",
				 why);
	if (++ck->entries > ck->lim->max_entries)
		return abur_fail(-EFBIG, "more than %llu entries (restore max_entries)",
				 (unsigned long long)ck->lim->max_entries);
	if (through_symlink(ck, path))
		return abur_fail(-EPERM, "entry '%s' goes through a symlink in the archive", raw);
	if ((r = check_again(ck, raw, path, hl ? AE_IFREG : t)) < 0)
		return r;
	if (hl && (r = check_link(ck, path, hl)) < 0)
		return r;
	if (!hl && t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK)
		return abur_fail(-EPERM, "entry '%s' is %s: not allowed in a restore", path, type_name(t));
	if (archive_entry_size(e) < 0 || (ck->bytes += (uint64_t)archive_entry_size(e)) > ck->lim->max_total_size)
		return abur_fail(-EFBIG, "entry '%s': contents exceed %llu bytes (restore max_total_size)", path,
				 (unsigned long long)ck->lim->max_total_size);
	if (!hl && t == AE_IFREG)
		strset_add(&ck->files, path);
	else if (!hl && t == AE_IFLNK)
		strset_add(&ck->symlinks, path);
	strset_add(&ck->names, path);
	*norm = path;
	path = NULL;
	return 0;
}

/* check_one(), then the entry names exactly what was checked. */
static int check_entry(struct check *ck, struct archive_entry *e)
{
	_cleanup_free_ char *path = NULL, *link = NULL;
	int r = check_one(ck, e, &path);

	if (r < 0)
		return r;
	if (archive_entry_hardlink(e)) {
		const char *why;
		link = map_path(ck, normal_path(archive_entry_hardlink(e), &why));
		archive_entry_copy_hardlink(e, link);
	}
	archive_entry_copy_pathname(e, path);
	return 0;
}

static void check_free(struct check *ck)
{
	strset_free(&ck->seen);
	strset_free(&ck->files);
	strset_free(&ck->symlinks);
	strset_free(&ck->names);
}

/* Pass 1 over a; ck keeps what it saw (the caller frees it). */
static int check_all(struct archive *a, struct check *ck)
{
	struct archive_entry *e;
	int r = 0, k;

	while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = check_entry(ck, e);
		if (r == 0 && select_path(ck->sel, archive_entry_pathname(e))) {
			ck->selected++;
			ck->selected_bytes += (uint64_t)archive_entry_size(e);
		}
		if (r == 0 && archive_read_data_skip(a) != ARCHIVE_OK)
			k = ARCHIVE_FATAL;
		if (r < 0 || k != ARCHIVE_OK)
			break;
	}
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "%s", archive_error_string(a) ? archive_error_string(a) : "unreadable archive");
	return r;
}

int restore_check_archive(struct archive *a, const struct restore_limits *lim)
{
	struct check ck = {.lim = lim};
	int r = check_all(a, &ck);

	check_free(&ck);
	return r;
}

static void links_free(struct linkmap *map, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(map[i].from);
		free(map[i].to);
		free(map[i].target);
	}
	free(map);
}

/* The manifest's followed links; a malformed one refuses the restore. */
static int read_links(const struct generation *g, struct linkmap **out, size_t *n)
{
	struct linkmap *map = NULL;
	size_t k = 0;
	int r = 0;

	for (unsigned i = 1; r == 0; i++) {
		char key[3][32];
		const char *v[3], *why;
		snprintf(key[0], sizeof(key[0]), "link%u", i);
		snprintf(key[1], sizeof(key[1]), "link%u_target", i);
		snprintf(key[2], sizeof(key[2]), "link%u_content", i);
		for (int j = 0; j < 3; j++)
			v[j] = manifest_extra(&g->m, key[j]);
		if (!v[0])
			break;
		map = xrealloc(map, (k + 1) * sizeof(*map));
		map[k] = (struct linkmap){v[0][0] == '/' ? normal_path(v[0] + 1, &why) : NULL,
					  v[2] && v[2][0] == '/' ? normal_path(v[2] + 1, &why) : NULL,
					  v[1] && *v[1] ? xstrdup(v[1]) : NULL};
		if (!map[k].from || !map[k].to || !map[k].target)
			r = abur_fail(-EBADMSG, "g%06llu: manifest: bad followed link %s", (unsigned long long)g->seq,
				      key[0]);
		k++;
	}
	if (r < 0) {
		links_free(map, k);
		return r;
	}
	*out = map;
	*n = k;
	return 0;
}

/* Opens (creating) directory rel under dir, never through a symlink. */
static int open_dirs(int dir, const char *rel)
{
	_cleanup_free_ char *p = xstrdup(rel);
	int fd = dup(dir);

	for (char *c = strtok(p, "/"); c && fd >= 0; c = strtok(NULL, "/")) {
		int next = -1, err;
		if (mkdirat(fd, c, 0755) == 0 || errno == EEXIST)
			next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		err = errno;
		close(fd);
		fd = next;
		errno = err;
	}
	return fd < 0 ? abur_fail(-errno, "restore %s: %m", rel) : fd;
}

/* Recreates a followed link where it was, unless something is there. */
static int place_link(int root, const struct linkmap *l)
{
	_cleanup_free_ char *parent = xstrdup(l->from);
	char *slash = strrchr(parent, '/');
	const char *name = slash ? slash + 1 : l->from;
	_cleanup_close_ int pfd = -1;
	struct stat st;

	if (slash)
		*slash = '\0';
	pfd = slash ? open_dirs(root, parent) : dup(root);
	if (pfd < 0)
		return slash ? pfd : abur_fail(-errno, "restore %s: %m", l->from);
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0; /* the target system has it already (a link, or not): left as it is */
	if (errno != ENOENT || symlinkat(l->target, pfd, name) < 0)
		return abur_fail(-errno, "restore the symlink %s -> %s: %m", l->from, l->target);
	return 0;
}

/* Pass 1: read everything, check every entry, check the hash. */
/* "check config", "restore config": the stage of a pass over g. */
static char *stage_name(char *buf, size_t len, const char *pass, const struct generation *g)
{
	snprintf(buf, len, "%s %s", pass, g->m.component);
	return buf;
}

static int check_archive(struct store *s, const struct generation *g, const struct restore_want *w, struct check *ck)
{
	struct payload_reader *p;
	char stage[64];
	int r = payload_open_max(s, g, DATA_PAYLOAD, restore_stream_cap(ck->lim), &p);

	if (r < 0)
		return r;
	payload_reader_progress(p, w->progress, stage_name(stage, sizeof(stage), "check", g), 0,
				payload_reader_size(p));
	r = check_all(payload_archive(p), ck);
	if (r == -EBADMSG)
		r = abur_fail_wrap(r, "g%06llu", (unsigned long long)g->seq);
	/* After a failure, no more of a hostile stream is decompressed. */
	return payload_close(p, r);
}

/* Pass 2's progress: content bytes written, of the selected entries'. */
struct written {
	const struct progress_hook *hook;
	char stage[64];
	uint64_t done, total;
};

static int copy_entry_data(struct archive *in, struct archive *out, const char *path, struct written *wb)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int k;

	while ((k = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
			return abur_fail(archive_r(out), "restore %s: %s", path, archive_error_string(out));
		wb->done += size;
		progress_tell(wb->hook, wb->stage, wb->done, wb->total);
	}
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

static int extract_entry(struct archive *a, struct archive *w, struct archive_entry *e, struct written *wb)
{
	int r = 0;

	if (archive_write_header(w, e) != ARCHIVE_OK)
		return abur_fail(archive_r(w), "restore %s: %s", archive_entry_pathname(e), archive_error_string(w));
	if (archive_entry_size(e) > 0)
		r = copy_entry_data(a, w, archive_entry_pathname(e), wb);
	if (r == 0 && archive_write_finish_entry(w) != ARCHIVE_OK)
		r = abur_fail(archive_r(w), "restore %s: %s", archive_entry_pathname(e), archive_error_string(w));
	return r;
}

/* Pass 2: extract (the entries were all checked; checked again as we go). */
static int extract(struct store *s, const struct generation *g, const struct restore_want *w, const struct check *ck1,
		   uint64_t *written)
{
	struct check ck = {.lim = w->lim, .map = ck1->map, .nmap = ck1->nmap};
	struct written wb = {.hook = w->progress, .total = ck1->selected_bytes};
	struct dirtimes dt = {0};
	_cleanup_close_ int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct payload_reader *p;
	struct archive *a, *wr;
	struct archive_entry *e;
	int r = root < 0 ? abur_fail(-errno, "restore: the target directory: %m")
			 : payload_open_max(s, g, DATA_PAYLOAD, restore_stream_cap(w->lim), &p);
	int k = ARCHIVE_OK;

	if (r < 0)
		return r;
	a = payload_archive(p);
	wr = disk_writer();
	stage_name(wb.stage, sizeof(wb.stage), "restore", g);
	progress_tell(wb.hook, wb.stage, 0, wb.total);
	while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = check_entry(&ck, e);
		if (r < 0 || !select_path(ck1->sel, archive_entry_pathname(e)))
			continue; /* the next header skips its data */
		dt_note(&dt, root, e);
		r = extract_entry(a, wr, e, &wb);
		*written += r == 0;
	}
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)g->seq, archive_error_string(a));
	if (archive_write_close(wr) != ARCHIVE_OK && r == 0)
		r = abur_fail(archive_r(wr), "restore: %s", archive_error_string(wr));
	archive_write_free(wr);
	r = abur_after(r, dt_apply(&dt, root));
	r = payload_close(p, r);
	check_free(&ck);
	return r;
}

static bool held(const void *arg, const char *rel)
{
	return strset_has(&((const struct check *)arg)->names, rel);
}

/* The strays under the restored paths (the asked ones, else the
 * component's configured ones, where their content lives). */
static int scan_strays(int root, const struct restore_want *w, const struct check *ck, bool remove, uint64_t *n)
{
	struct stray_scan st = {root, 0, w->comp, held, ck, remove, 0};
	struct stat sb;
	const char *why;
	int r = fstat(root, &sb) < 0 ? abur_fail(-errno, "restore: the target directory: %m") : 0;

	st.dev = sb.st_dev;
	for (size_t i = 0; r == 0 && i < ck->sel->n; i++)
		r = stray_scan(&st, ck->sel->v[i]);
	for (size_t i = 0; r == 0 && !ck->sel->n && i < w->comp->npaths; i++) {
		_cleanup_free_ char *top = map_path(ck, normal_path(w->comp->paths[i] + 1, &why));
		if (top)
			r = stray_scan(&st, top);
	}
	*n = st.n;
	return r;
}

/* A followed link is placed again when the restore covers it. */
static bool link_wanted(const struct selection *sel, const struct linkmap *l)
{
	for (size_t i = 0; i < sel->n; i++)
		if (under(sel->v[i], l->to) || under(l->to, sel->v[i]))
			return true;
	return !sel->n;
}

static int restore_into(struct store *s, const struct generation *g, const char *root, const struct restore_want *w,
			const struct check *ck, struct restore_result *res)
{
	_cleanup_close_ int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dir = -1;
	bool remove = w->flags & RESTORE_EXACT;
	int r = mkdir_p(root, 0755);

	if (r < 0)
		return r;
	dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || here < 0)
		return abur_fail(-errno, "%s: %m", root);
	/* Removed first, so the directory times set after extraction stay. */
	if ((r = scan_strays(dir, w, ck, remove, &res->strays)) < 0)
		return r;
	res->removed = remove;
	/* libarchive extracts relative to the working directory. */
	if (fchdir(dir) < 0)
		return abur_fail(-errno, "chdir %s: %m", root);
	r = extract(s, g, w, ck, &res->written);
	if (fchdir(here) < 0 && r == 0)
		r = abur_fail(-errno, "chdir back: %m");
	for (size_t i = 0; r == 0 && i < ck->nmap; i++)
		if (link_wanted(ck->sel, &ck->map[i]))
			r = place_link(dir, &ck->map[i]);
	return r;
}

/* RESTORE_PLAN: the counts, nothing written (a root not there yet holds no strays). */
static int plan(const char *root, const struct restore_want *w, const struct check *ck, struct restore_result *res)
{
	_cleanup_close_ int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	res->written = ck->selected;
	res->removed = false;
	if (dir < 0)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", root);
	return scan_strays(dir, w, ck, false, &res->strays);
}

static void selection_free(struct selection *sel)
{
	for (size_t i = 0; i < sel->n; i++)
		free(sel->v[i]);
	free(sel->v);
	free(sel->hit);
}

/* The paths asked for, spelt as checked entries are; -EINVAL for one
 * that is not absolute or cannot be held. */
static int selection_make(const struct restore_want *w, struct check *ck, struct selection *sel)
{
	const char *why;

	*sel = (struct selection){xcalloc(w->npaths + 1, sizeof(char *)), w->paths, xcalloc(w->npaths + 1, 1), 0};
	for (; sel->n < w->npaths; sel->n++) {
		const char *p = w->paths[sel->n];
		if (p[0] != '/' || !(sel->v[sel->n] = map_path(ck, normal_path(p + 1, &why))))
			return abur_fail(-EINVAL, "%s: not an absolute path the component can hold", p);
	}
	return 0;
}

static int selection_held(const struct generation *g, const struct selection *sel)
{
	for (size_t i = 0; i < sel->n; i++)
		if (!sel->hit[i])
			return abur_fail(-ENOENT, "g%06llu does not hold %s", (unsigned long long)g->seq,
					 sel->asked[i]);
	return 0;
}

static int restore_checked(struct store *s, const struct generation *g, const char *root, const struct restore_want *w,
			   struct check *ck, struct restore_result *res)
{
	int r = check_archive(s, g, w, ck);

	if (r < 0)
		return abur_fail_wrap(r, "refusing to restore g%06llu", (unsigned long long)g->seq);
	if ((r = selection_held(g, ck->sel)) < 0)
		return r;
	if (w->flags & RESTORE_PLAN)
		return plan(root, w, ck, res);
	return restore_into(s, g, root, w, ck, res);
}

int restore_component(struct store *s, const struct generation *g, const char *root, const struct restore_want *w,
		      struct restore_result *res)
{
	struct restore_result ignored;
	struct linkmap *map = NULL;
	struct selection sel = {0};
	size_t nmap = 0;
	int r;

	if (!g->valid)
		return abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)g->seq, g->problem);
	r = read_links(g, &map, &nmap);
	if (r < 0)
		return abur_fail_wrap(r, "refusing to restore g%06llu", (unsigned long long)g->seq);
	struct check ck = {.lim = w->lim, .map = map, .nmap = nmap, .sel = &sel};
	*(res ? res : &ignored) = (struct restore_result){0};
	r = selection_make(w, &ck, &sel);
	if (r == 0)
		r = restore_checked(s, g, root, w, &ck, res ? res : &ignored);
	check_free(&ck);
	selection_free(&sel);
	links_free(map, nmap);
	return r;
}

int restore_newest(struct store *s, const char *root, const struct restore_want *w, uint64_t *seq, unsigned *skipped,
		   struct restore_result *res)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g = NULL;
	const char *component = w->comp->name;
	int r = store_newest_progress(s, component, GEN_CHECK_VERIFY, GEN_SEQ_ANY, w->progress, &l, &g);

	if (skipped) /* the newer ones that failed */
		*skipped = g ? (unsigned)(l.g + l.n - 1 - g) : (unsigned)l.n;
	if (r == -ENOENT && l.n == 0)
		return abur_fail(-ENODATA, "%s: no generation stored", component);
	if (r == -ENOENT)
		return abur_fail(-EBADMSG, "%s: no generation verifies", component);
	if (r < 0)
		return r;
	*seq = g->seq;
	return restore_component(s, g, root, w, res);
}
