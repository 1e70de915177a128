/* Generations: listing, cheap and deep checks, small files in the store. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "payload.h"
#include "store_int.h"

uint64_t gen_seq_from_name(const char *name)
{
	uint64_t v = 0;

	if (name[0] != 'g' || strlen(name) != 7)
		return 0;
	for (const char *p = name + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v;
}

/* Cheap checks: manifest well-formed and naming this component and number,
 * payload files present with the recorded sizes. */
static void check_generation(struct generation *g, const char *component)
{
	_cleanup_free_ char *mpath = xasprintf("%s/%s", g->dir, STORE_MANIFEST);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = read_file(mpath, STORE_MANIFEST_MAX, &text, &len);
	if (r == -ENOENT) {
		g->problem = xstrdup("manifest missing");
		return;
	}
	if (r < 0 || manifest_parse(text, len, &g->m) < 0) {
		g->problem = xasprintf("manifest unreadable: %s", abur_errmsg(r));
		return;
	}
	if (!streq(g->m.component, component) || g->m.seq != g->seq) {
		g->problem = xasprintf("manifest names %s g%06llu", g->m.component, (unsigned long long)g->m.seq);
		return;
	}
	for (size_t i = 0; i < g->m.npayloads; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", g->dir, g->m.payloads[i].name);
		struct stat st;
		if (stat(p, &st) < 0) {
			g->problem = xasprintf("payload %s missing", g->m.payloads[i].name);
			return;
		}
		if ((uint64_t)st.st_size != g->m.payloads[i].size) {
			g->problem = xasprintf("payload %s is %lld bytes, manifest says %llu", g->m.payloads[i].name,
					       (long long)st.st_size, (unsigned long long)g->m.payloads[i].size);
			return;
		}
	}
	g->valid = true;
}

static int cmp_gen(const void *a, const void *b)
{
	const struct generation *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int store_list(struct store *s, const char *component, struct gen_list *out)
{
	_cleanup_free_ char *dir = NULL;
	DIR *d;
	struct dirent *de;

	out->g = NULL;
	out->n = 0;
	if (!valid_component_name(component))
		return abur_fail(-EINVAL, "bad component name '%s'", component);
	dir = xasprintf("%s/%s", s->root, component);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", dir);
	while ((de = readdir(d))) {
		uint64_t seq = gen_seq_from_name(de->d_name);
		struct generation *g;
		if (!seq)
			continue;
		out->g = xrealloc(out->g, (out->n + 1) * sizeof(*out->g));
		g = &out->g[out->n++];
		*g = (struct generation){.seq = seq, .dir = xasprintf("%s/%s", dir, de->d_name)};
		check_generation(g, component);
	}
	closedir(d);
	if (out->n)
		qsort(out->g, out->n, sizeof(*out->g), cmp_gen);
	return 0;
}

void gen_list_free(struct gen_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->g[i].dir);
		free(l->g[i].problem);
		manifest_clear(&l->g[i].m);
	}
	free(l->g);
	l->g = NULL;
	l->n = 0;
}

int store_max_seq(struct store *s, uint64_t *max)
{
	char **names;
	size_t n;
	int r = store_components(s, &names, &n);

	*max = 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", s->root, names[i]);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			uint64_t seq = gen_seq_from_name(de->d_name);
			if (seq > *max)
				*max = seq;
		}
		if (d)
			closedir(d);
		free(names[i]);
	}
	free(names);
	return 0;
}

static int verify_payload(const struct generation *g, const struct payload_info *pi)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", g->dir, pi->name);
	struct archive *a;
	struct archive_entry *e;
	int r, k;

	r = payload_reader_open(path, pi->sha256, pi->size, 0, &a);
	if (r < 0)
		return r;
	while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (archive_read_data_skip(a) != ARCHIVE_OK)
			break;
	if (k != ARCHIVE_EOF && k != ARCHIVE_OK)
		r = abur_fail(-EBADMSG, "%s: %s", path, archive_error_string(a));
	else if (k == ARCHIVE_OK)
		r = abur_fail(-EBADMSG, "%s: %s", path, archive_error_string(a));
	k = payload_reader_close(a);
	return r < 0 ? r : k;
}

int store_verify(struct store *s, const struct generation *g)
{
	(void)s;
	if (!g->valid)
		return abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)g->seq, g->problem);
	for (size_t i = 0; i < g->m.npayloads; i++) {
		int r = verify_payload(g, &g->m.payloads[i]);
		if (r < 0)
			return abur_fail_wrap(r, "g%06llu", (unsigned long long)g->seq);
	}
	return 0;
}

static int verify_component(struct store *s, const char *comp, uint64_t only, store_verify_fn fn, void *arg,
			    unsigned *checked)
{
	struct gen_list l;
	int bad = 0, r = store_list(s, comp, &l);

	for (size_t i = 0; r == 0 && i < l.n; i++) {
		int k;
		if (only && l.g[i].seq != only)
			continue;
		k = store_verify(s, &l.g[i]);
		(*checked)++;
		bad += k < 0;
		if (fn)
			fn(arg, comp, &l.g[i], k);
	}
	gen_list_free(&l);
	return r < 0 ? r : bad;
}

int store_verify_all(struct store *s, const char *component, uint64_t only, store_verify_fn fn, void *arg,
		     unsigned *checked)
{
	unsigned n_checked = 0;
	char **names;
	size_t n;
	int bad = 0, r = store_components(s, &names, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (component && !streq(component, names[i]))
			continue;
		r = verify_component(s, names[i], only, fn, arg, &n_checked);
		bad += r > 0 ? r : 0;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (checked)
		*checked = n_checked;
	return r < 0 ? r : bad;
}

int store_newest_valid(struct store *s, const struct gen_list *l, bool deep, uint64_t max_seq,
		       const struct generation **out, unsigned *skipped)
{
	unsigned n = 0;

	for (size_t i = l->n; i-- > 0;) {
		const struct generation *g = &l->g[i];
		if (max_seq && g->seq > max_seq)
			continue;
		if (g->valid && (!deep || store_verify(s, g) == 0)) {
			*out = g;
			if (skipped)
				*skipped = n;
			return 0;
		}
		n++;
	}
	if (skipped)
		*skipped = n;
	return abur_fail(-ENOENT, "no valid generation");
}

int payload_read_open(struct store *s, const struct generation *g, const char *name, struct archive **a)
{
	(void)s;
	for (size_t i = 0; i < g->m.npayloads; i++) {
		const struct payload_info *pi = &g->m.payloads[i];
		if (streq(pi->name, name)) {
			_cleanup_free_ char *path = xasprintf("%s/%s", g->dir, name);
			return payload_reader_open(path, pi->sha256, pi->size, 0, a);
		}
	}
	return abur_fail(-ENOENT, "g%06llu has no payload %s", (unsigned long long)g->seq, name);
}

int payload_read_close(struct archive *a)
{
	return payload_reader_close(a);
}

void payload_read_discard(struct archive *a)
{
	payload_reader_discard(a);
}

static bool safe_rel(const char *rel)
{
	return rel[0] != '/' && !strstr(rel, "..") && *rel;
}

int store_put_file(struct store *s, const char *rel, const void *data, size_t n)
{
	_cleanup_free_ char *path = NULL, *dir = NULL;
	char *slash;
	int r;

	if (!safe_rel(rel))
		return abur_fail(-EINVAL, "bad store path '%s'", rel);
	path = xasprintf("%s/%s", s->root, rel);
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	return io_write_file_atomic(path, data, n, 0644);
}

int store_get_file(struct store *s, const char *rel, size_t max, char **data, size_t *n)
{
	_cleanup_free_ char *path = NULL;

	if (!safe_rel(rel))
		return abur_fail(-EINVAL, "bad store path '%s'", rel);
	path = xasprintf("%s/%s", s->root, rel);
	return read_file(path, max, data, n);
}

int store_remove_file(struct store *s, const char *rel)
{
	_cleanup_free_ char *path = NULL, *dir = NULL;
	int r;

	if (!safe_rel(rel))
		return abur_fail(-EINVAL, "bad store path '%s'", rel);
	path = xasprintf("%s/%s", s->root, rel);
	r = io_unlink(path);
	if (r < 0)
		return r;
	dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	return io_fsync_dir(dir);
}

static uint64_t usage_at(int dfd, const char *name)
{
	struct stat st;
	uint64_t sum;
	int fd;
	DIR *d;
	struct dirent *de;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	sum = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return sum;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return sum;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			sum += usage_at(dirfd(d), de->d_name);
	closedir(d);
	return sum;
}

uint64_t dir_usage(const char *path)
{
	return usage_at(AT_FDCWD, path);
}

uint64_t generation_bytes(const struct generation *g)
{
	uint64_t n = 0;

	for (size_t i = 0; g->valid && i < g->m.npayloads; i++)
		n += g->m.payloads[i].size;
	return n;
}

uint64_t store_generation_bytes(struct store *s, const char *component, uint64_t seq)
{
	struct gen_list l;
	uint64_t n = 0;

	if (store_list(s, component, &l) == 0)
		for (size_t i = 0; i < l.n; i++)
			if (l.g[i].seq == seq)
				n = generation_bytes(&l.g[i]);
	gen_list_free(&l);
	abur_fail_clear();
	return n;
}
