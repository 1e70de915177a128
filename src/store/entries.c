/* A file component's generation as a list of entries (abur ls, abur diff):
 * its data.tar.zst read to the end, each entry's stat and content hash.
 * The payload reader's messages name the payload; ours name g. */
#include <archive_entry.h>
#include <string.h>

#include "core/osidx.h"
#include "store.h"

/* raw without leading "./" or "/" and trailing "/"; "" stays "". */
static char *entry_path(const char *raw)
{
	char *out;
	size_t n;

	while (raw[0] == '.' && raw[1] == '/')
		raw += 2;
	while (raw[0] == '/')
		raw++;
	out = xstrdup(raw);
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

static int content_hash(struct archive *a, char hex[SHA256_HEX_LEN])
{
	struct sha256 h;
	const void *buf;
	size_t n;
	la_int64_t off;
	int k;

	sha256_init(&h);
	while ((k = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK)
		sha256_update(&h, buf, n);
	if (k != ARCHIVE_EOF)
		return abur_fail(archive_r(a), "%s", archive_error_string(a));
	sha256_final_hex(&h, hex);
	return 0;
}

static char type_of(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae))
		return OSIDX_HARDLINK;
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		return OSIDX_FILE;
	case AE_IFDIR:
		return OSIDX_DIR;
	case AE_IFLNK:
		return OSIDX_SYMLINK;
	default:
		return 0;
	}
}

static int add_entry(struct archive *a, struct archive_entry *ae, const char *where, struct osidx *out)
{
	_cleanup_free_ char *path = entry_path(archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "");
	const char *link = archive_entry_hardlink(ae) ? archive_entry_hardlink(ae) : archive_entry_symlink(ae);
	char type = type_of(ae);
	struct osidx_ent *e;

	if (!*path || !type)
		return abur_fail(-EBADMSG, "%s: entry '%s': %s", where, path,
				 *path ? "not a file, directory or link" : "no name");
	if (out->n >= OSIDX_MAX_ENTRIES)
		return abur_fail(-EFBIG, "%s: more than %u entries", where, OSIDX_MAX_ENTRIES);
	e = osidx_add(out, path);
	e->op = OSIDX_SAME;
	e->type = type;
	e->mode = archive_entry_perm(ae) & 07777;
	e->uid = (uint32_t)archive_entry_uid(ae);
	e->gid = (uint32_t)archive_entry_gid(ae);
	e->size = type == OSIDX_FILE ? (uint64_t)archive_entry_size(ae) : 0;
	e->mtime_ns = (int64_t)archive_entry_mtime(ae) * 1000000000 + archive_entry_mtime_nsec(ae);
	if (link)
		e->target = type == OSIDX_HARDLINK ? entry_path(link) : xstrdup(link);
	return type == OSIDX_FILE ? content_hash(a, e->sha) : 0;
}

int gen_entries(struct store *s, const struct generation *g, struct osidx *out)
{
	_cleanup_(payload_discardp) struct payload_reader *p = NULL;
	struct archive_entry *ae;
	struct archive *a;
	int k, r;

	memset(out, 0, sizeof(*out));
	out->kind = OSIDX_BASE;
	r = payload_open(s, g, STORE_PAYLOAD_DATA, &p);
	if (r < 0)
		return r;
	a = payload_archive(p);
	while (r == 0 && (k = archive_read_next_header(a, &ae)) != ARCHIVE_EOF)
		r = k == ARCHIVE_OK ? add_entry(a, ae, g->rel, out)
				    : abur_fail(archive_r(a), "%s", archive_error_string(a));
	r = payload_close(TAKE_PTR(p), r);
	if (r == 0 && (r = osidx_sort(out)) < 0)
		r = abur_fail_wrap(r, "%s", g->rel);
	if (r < 0)
		osidx_free(out);
	return r;
}
