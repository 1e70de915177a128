/* abur export of an os update generation: one standard pax tar.zst that
 * GNU tar extracts (doc/design.md "Seeing and getting updates").  Per
 * captured filesystem N, under pN/: every directory, symlink and file the
 * update adds or changes, with its metadata (xattrs, ACLs), content taken
 * from whichever generation holds it, and hard links to exported files.
 * Under .abur/: the states themselves, the deleted paths, the hard links
 * to files of the seal, and the raw areas the update restores. */
#include <archive_entry.h>
#include <string.h>

#include "image.h"
#include "osbase.h"
#include "osraw.h"
#include "osupd.h"

/* The export's progress: content bytes written, of every state's added
 * files. */
struct xprogress {
	const struct progress_hook *hook;
	uint64_t done, total;
};

struct xport {
	struct store *s;
	const struct gen_list *gl;
	struct archive *out;
	unsigned part;
	const struct osidx *st;
	FILE *spool; /* the last exported content that another path shares */
	const struct osidx_ent *spooled;
	uint64_t files;
	struct xprogress *pr;
};

static char *out_name(unsigned part, const char *path)
{
	return streq(path, OSIDX_ROOT) ? xasprintf("p%u/", part) : xasprintf("p%u/%s", part, path);
}

static int unhex_into(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned v;
		if (sscanf(s + i, "%2x", &v) != 1)
			return -1;
		out[i / 2] = (char)v;
	}
	return 0;
}

/* "HEXNAME=HEXVAL;..." onto an archive entry. */
static int add_xattrs(struct archive_entry *ae, const struct osidx_ent *e)
{
	_cleanup_free_ char *copy = xstrdup(e->xattrs ? e->xattrs : "");
	char *save = NULL;

	for (char *w = strtok_r(copy, ";", &save); w; w = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(w, '=');
		size_t kn = eq ? (size_t)(eq - w) : 0, vn = eq ? strlen(eq + 1) : 0;
		if (!eq || !kn || kn % 2 || vn % 2)
			return abur_fail(-EBADMSG, "%s: malformed xattrs in the state", e->path);
		_cleanup_free_ char *name = xcalloc(kn / 2 + 1, 1), *val = xcalloc(vn / 2 + 1, 1);
		if (unhex_into(w, kn, name) < 0 || unhex_into(eq + 1, vn, val) < 0)
			return abur_fail(-EBADMSG, "%s: malformed xattrs in the state", e->path);
		archive_entry_xattr_add_entry(ae, name, val, vn / 2);
	}
	return 0;
}

static struct archive_entry *entry_of(const struct osidx_ent *e, unsigned part, int *r)
{
	struct archive_entry *ae = archive_entry_new();
	_cleanup_free_ char *name = out_name(part, e->path);
	mode_t type = e->type == OSIDX_DIR ? AE_IFDIR : e->type == OSIDX_SYMLINK ? AE_IFLNK : AE_IFREG;

	archive_entry_copy_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, e->mode);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, e->mtime_ns / 1000000000, e->mtime_ns % 1000000000);
	if (e->type == OSIDX_SYMLINK)
		archive_entry_copy_symlink(ae, e->target);
	if (e->type == OSIDX_FILE)
		archive_entry_set_size(ae, (la_int64_t)e->size);
	*r = add_xattrs(ae, e);
	if (*r == 0 && e->acl && archive_entry_acl_from_text(ae, e->acl, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E) != ARCHIVE_OK)
		*r = abur_fail(-EBADMSG, "%s: malformed ACL in the state", e->path);
	return ae;
}

static int put_header(struct xport *x, const struct osidx_ent *e, struct archive_entry **out)
{
	int r;
	struct archive_entry *ae = entry_of(e, x->part, &r);

	if (r == 0 && archive_write_header(x->out, ae) < ARCHIVE_WARN)
		r = abur_fail(archive_r(x->out), "export %s: %s", e->path, archive_error_string(x->out));
	if (out && r == 0)
		*out = ae;
	else
		archive_entry_free(ae);
	return r;
}

static int put_data(struct xport *x, const void *buf, size_t n, const char *path)
{
	if (archive_write_data(x->out, buf, n) != (la_ssize_t)n)
		return abur_fail(archive_r(x->out), "export %s: %s", path, archive_error_string(x->out));
	x->pr->done += n;
	progress_tell(x->pr->hook, "export " IMAGE_COMPONENT, x->pr->done, x->pr->total);
	return 0;
}

static uint64_t content_bytes(const struct osupd *u)
{
	uint64_t n = 0;

	for (size_t i = 0; i < u->n; i++)
		for (size_t k = 0; k < u->state[i].n; k++)
			if (u->state[i].e[k].op == OSIDX_ADD && u->state[i].e[k].type == OSIDX_FILE)
				n += u->state[i].e[k].size;
	return n;
}

/* Does another '+' file of the state take the same content entry? */
static bool shared(const struct xport *x, const struct osidx_ent *e)
{
	for (size_t i = 0; i < x->st->n; i++) {
		const struct osidx_ent *o = &x->st->e[i];
		if (o != e && o->op == OSIDX_ADD && o->type == OSIDX_FILE && o->ref == e->ref &&
		    streq(o->ref_name, e->ref_name))
			return true;
	}
	return false;
}

static int copy_from_payload(struct xport *x, struct archive *in, const struct osidx_ent *e)
{
	char hex[SHA256_HEX_LEN];
	struct sha256 h;
	const void *buf;
	size_t n;
	la_int64_t off;
	uint64_t total = 0;
	int k, r = 0;

	if (x->spool)
		fclose(x->spool);
	x->spool = shared(x, e) ? tmpfile() : NULL;
	x->spooled = e;
	sha256_init(&h);
	while (r == 0 && (k = archive_read_data_block(in, &buf, &n, &off)) == ARCHIVE_OK) {
		sha256_update(&h, buf, n);
		total += n;
		r = put_data(x, buf, n, e->path);
		if (r == 0 && x->spool && fwrite(buf, 1, n, x->spool) != n)
			r = abur_fail(-EIO, "export %s: spooling: %m", e->path);
	}
	if (r == 0 && k != ARCHIVE_EOF)
		r = abur_fail(-EBADMSG, "%s: %s", e->path, archive_error_string(in));
	sha256_final_hex(&h, hex);
	if (r == 0 && (total != e->size || !streq(hex, e->sha)))
		r = abur_fail(-EBADMSG, "%s: the files payload does not hold the content the state names", e->path);
	return r;
}

static int copy_from_spool(struct xport *x, const struct osidx_ent *e)
{
	char buf[64 * 1024];
	size_t n;
	int r = 0;

	if (!x->spool || x->spooled->size != e->size || fseek(x->spool, 0, SEEK_SET) < 0)
		return abur_fail(-EIO, "export %s: its content was not kept", e->path);
	while (r == 0 && (n = fread(buf, 1, sizeof(buf), x->spool)) > 0)
		r = put_data(x, buf, n, e->path);
	return r;
}

/* An osupd_contents() callback. */
static int put_file(void *arg, struct archive *in, const struct osidx_ent *e, const struct osidx_ent *first)
{
	struct xport *x = arg;
	int r = put_header(x, e, NULL);

	if (r == 0)
		r = first ? copy_from_spool(x, e) : copy_from_payload(x, in, e);
	x->files += r == 0;
	return r;
}

static int put_structure(struct xport *x)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < x->st->n; i++) {
		const struct osidx_ent *e = &x->st->e[i];
		if (e->op == OSIDX_ADD && (e->type == OSIDX_DIR || e->type == OSIDX_SYMLINK))
			r = put_header(x, e, NULL);
	}
	return r;
}

/* Hard links to exported files as tar hard links; those to files of the
 * seal (not in this archive) into .abur/links. */
static int put_links(struct xport *x, FILE *links)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < x->st->n; i++) {
		const struct osidx_ent *e = &x->st->e[i], *t;
		if (e->op != OSIDX_ADD || e->type != OSIDX_HARDLINK)
			continue;
		t = osidx_find(x->st, e->target);
		if (!t || t->op != OSIDX_ADD || t->type != OSIDX_FILE) {
			fprintf(links, "p%u/%s -> p%u/%s\n", x->part, e->path, x->part, e->target);
			continue;
		}
		struct archive_entry *ae = archive_entry_new();
		_cleanup_free_ char *name = out_name(x->part, e->path), *target = out_name(x->part, e->target);
		archive_entry_copy_pathname(ae, name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_copy_hardlink(ae, target);
		if (archive_write_header(x->out, ae) < ARCHIVE_WARN)
			r = abur_fail(archive_r(x->out), "export %s: %s", e->path, archive_error_string(x->out));
		archive_entry_free(ae);
	}
	return r;
}

static void list_deleted(const struct xport *x, FILE *f)
{
	for (size_t i = 0; i < x->st->n; i++)
		if (x->st->e[i].op == OSIDX_DEL)
			fprintf(f, "p%u/%s\n", x->part, x->st->e[i].path);
}

static int put_fs(struct xport *x, FILE *deleted, FILE *links)
{
	size_t len;
	_cleanup_free_ char *state = osidx_format(x->st, &len), *name = xasprintf(".abur/p%u.state", x->part);
	int r = put_structure(x);

	if (r == 0)
		r = osupd_contents(x->s, x->gl, x->st, x->part, put_file, x);
	if (r == 0)
		r = put_links(x, links);
	if (r == 0)
		r = diskimg_put_blob(x->out, name, state, len);
	list_deleted(x, deleted);
	if (x->spool)
		fclose(x->spool);
	x->spool = NULL;
	return r;
}

static int put_raw(struct store *s, const struct gen_list *gl, const struct generation *g, struct archive *a,
		   const struct layout *l, unsigned *nraw)
{
	size_t n;
	_cleanup_free_ struct osraw *v = osraw_list(l, &n);
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *bytes = NULL, *name = xasprintf(".abur/raw/%s.bin", v[i].name);
		r = osupd_raw(s, gl, g, &v[i], &bytes);
		if (r == 0 && bytes) {
			r = diskimg_put_blob(a, name, bytes, v[i].len);
			(*nraw)++;
		}
	}
	return r;
}

static const char readme[] = "This archive is one os update generation of an ABUR store, exported by 'abur export'.\n"
			     "pN/ holds what the update adds or changes on partition N of the sealed disk, with\n"
			     "owners, modes, mtimes, xattrs and ACLs (tar --zstd -xpf FILE --xattrs --acls).\n"
			     ".abur/deleted lists the paths the update removed from the seal; .abur/links the hard\n"
			     "links it makes to files of the seal; .abur/pN.state the full machine-readable state;\n"
			     ".abur/raw/ the raw disk areas (boot code, gap, small partitions) it restores.\n"
			     "Files whose metadata alone changed are only in the state: their content is the seal's.\n";

static int export_update(struct store *s, const struct gen_list *gl, const struct generation *g, const struct layout *l,
			 struct archive *a, struct xprogress *pr, struct export_result *res)
{
	struct osupd u;
	char *dtext = NULL, *ltext = NULL;
	size_t dlen = 0, llen = 0;
	FILE *deleted = open_memstream(&dtext, &dlen), *links = open_memstream(&ltext, &llen);
	int r = osupd_load(s, g, &u);

	if (r == 0) {
		pr->total = content_bytes(&u);
		progress_tell(pr->hook, "export " IMAGE_COMPONENT, 0, pr->total);
	}
	for (size_t i = 0; r == 0 && i < u.n; i++) {
		struct xport x = {.s = s, .gl = gl, .out = a, .part = u.parts[i], .st = &u.state[i], .pr = pr};
		r = put_fs(&x, deleted, links);
		res->files += x.files;
	}
	fclose(deleted);
	fclose(links);
	if (r == 0)
		r = diskimg_put_blob(a, ".abur/deleted", dtext, dlen);
	if (r == 0)
		r = diskimg_put_blob(a, ".abur/links", ltext, llen);
	if (r == 0)
		r = diskimg_put_blob(a, ".abur/README", readme, sizeof(readme) - 1);
	if (r == 0 && l)
		r = put_raw(s, gl, g, a, l, &res->raw);
	free(dtext);
	free(ltext);
	osupd_free(&u);
	return r;
}

int image_export_update(struct store *s, const struct gen_list *gl, const struct generation *g, const char *path,
			const struct progress_hook *progress, struct export_result *res)
{
	struct xprogress pr = {progress, 0, 0};
	struct osbase_loaded base;
	struct export_archive *x;
	struct archive *a;
	int r;

	memset(res, 0, sizeof(*res));
	r = osbase_load_of(s, gl, g, &base);
	if (r < 0)
		return r;
	r = export_archive_create(path, &x, &a);
	if (r == 0) {
		r = export_update(s, gl, g, &base.l, a, &pr, res);
		if (r == 0)
			r = export_archive_finish(x, a);
		else
			export_archive_abort(x, a);
	}
	osbase_loaded_free(&base);
	return r;
}
