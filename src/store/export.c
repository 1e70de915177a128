/* abur export: any generation as one standard pax tar.zst outside the
 * store (doc/design.md "Seeing and getting updates").  The file is written
 * beside its final name and renamed there once complete and synced, so a
 * failed export leaves nothing that looks like one. */
#include <fcntl.h>
#include <string.h>

#include "core/io.h"
#include "payload.h"
#include "store_int.h"

struct export_archive {
	struct pwriter w;
	char *path, *tmp;
	int fd;
};

static bool exists(const char *path)
{
	return access(path, F_OK) == 0 || errno != ENOENT;
}

static int create_tmp(const char *path, char **tmp)
{
	int fd;

	if (exists(path))
		return abur_fail(-EEXIST, "%s exists: remove it or name another file", path);
	*tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
	fd = io_open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

/* Syncs, then renames tmp onto path without replacing anything there. */
static int publish(int fd, const char *tmp, const char *path)
{
	int r = io_fsync(fd, tmp);

	if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
		r = abur_fail(-errno, "%s: %m", path);
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

static void archive_free_handle(struct export_archive *x)
{
	if (x->fd >= 0)
		close(x->fd);
	free(x->tmp);
	free(x->path);
	free(x);
}

int export_archive_create(const char *path, struct export_archive **out, struct archive **a)
{
	struct export_archive *x = xcalloc(1, sizeof(*x));
	int r;

	x->path = xstrdup(path);
	x->fd = create_tmp(path, &x->tmp);
	r = x->fd < 0 ? x->fd : pwriter_open(&x->w, x->fd, x->tmp, a);
	if (r < 0) {
		if (x->fd >= 0)
			(void)unlink(x->tmp);
		archive_free_handle(x);
		return r;
	}
	*out = x;
	return 0;
}

int export_archive_finish(struct export_archive *x, struct archive *a)
{
	int r = pwriter_close(&x->w, a);

	if (r == 0)
		r = publish(x->fd, x->tmp, x->path);
	else
		(void)unlink(x->tmp);
	archive_free_handle(x);
	return r;
}

void export_archive_abort(struct export_archive *x, struct archive *a)
{
	pwriter_abort(&x->w, a);
	(void)unlink(x->tmp);
	archive_free_handle(x);
}

/* ---- a payload as it is ---- */

static int copy_checked(int in, int out, const struct payload_info *pi, const char *src, const char *dst,
			const struct progress_hook *progress, const char *stage)
{
	char buf[128 * 1024];
	char hex[SHA256_HEX_LEN];
	struct sha256 h;
	uint64_t total = 0;
	ssize_t n;

	sha256_init(&h);
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		int r = io_write_all(out, buf, (size_t)n, dst);
		if (r < 0)
			return r;
		sha256_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
		progress_tell(progress, stage, total, pi->size);
	}
	if (n < 0)
		return abur_fail(-errno, "read %s: %m", src);
	sha256_final_hex(&h, hex);
	if (total != pi->size || !streq(hex, pi->sha256))
		return abur_fail(-EBADMSG, "%s does not match its manifest: not exported", src);
	return 0;
}

int export_payload(struct store *s, const struct generation *g, const char *name, const char *path,
		   const struct progress_hook *progress)
{
	const struct payload_info *pi = NULL;
	_cleanup_free_ char *rel = NULL, *tmp = NULL, *stage = NULL;
	_cleanup_close_ int in = -1, out = -1;
	int r;

	for (size_t i = 0; g->valid && i < g->m.npayloads; i++)
		if (streq(g->m.payloads[i].name, name))
			pi = &g->m.payloads[i];
	if (!pi)
		return abur_fail(-ENOENT, "g%06llu has no payload %s", (unsigned long long)g->seq, name);
	rel = xasprintf("%s/%s", g->rel, name);
	in = io_open_beneath(s->root_fd, rel, O_RDONLY, IO_REGULAR);
	if (in < 0)
		return abur_fail_wrap(in, "%s", s->root);
	out = create_tmp(path, &tmp);
	if (out < 0)
		return out;
	stage = xasprintf("export %s", g->m.component);
	progress_tell(progress, stage, 0, pi->size);
	r = copy_checked(in, out, pi, rel, tmp, progress, stage);
	if (r == 0)
		return publish(out, tmp, path);
	(void)unlink(tmp);
	return r;
}
