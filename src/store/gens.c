/* Generations: listing, cheap and deep checks, small files in the store. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/io.h"
#include "core/parse.h"
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

bool gen_entry(int dfd, const char *name, uint64_t *seq)
{
	struct stat st;

	*seq = gen_seq_from_name(name);
	return *seq && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Cheap checks: manifest well-formed and naming this component and number,
 * payload files present, regular, with the recorded sizes. */
static void check_generation(struct store *s, struct generation *g, const char *component)
{
	_cleanup_free_ char *mrel = xasprintf("%s/%s", g->rel, STORE_MANIFEST);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = io_read_file_at(s->root_fd, mrel, STORE_MANIFEST_MAX, &text, &len);
	if (r == -ENOENT) {
		g->problem = xstrdup("manifest missing");
		return;
	}
	if (r == 0)
		r = manifest_parse(text, len, &g->m);
	if (r < 0) {
		g->problem = xasprintf("manifest unreadable: %s", abur_errmsg(r));
		return;
	}
	if (!streq(g->m.component, component) || g->m.seq != g->seq) {
		g->problem = xasprintf("manifest names %.40s g%06llu", g->m.component, (unsigned long long)g->m.seq);
		return;
	}
	for (size_t i = 0; i < g->m.npayloads; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", g->rel, g->m.payloads[i].name);
		struct stat st;
		r = fstatat(s->root_fd, p, &st, AT_SYMLINK_NOFOLLOW);
		if (r < 0) {
			g->problem = xasprintf("payload %s missing", g->m.payloads[i].name);
			return;
		}
		if (!S_ISREG(st.st_mode)) {
			g->problem = xasprintf("payload %s is %s, not a regular file", g->m.payloads[i].name,
					       io_type_name(st.st_mode));
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

/* An entry of a component folder that is not ABUR's, for list/verify. */
static void add_foreign(struct gen_list *out, int dfd, const char *comp, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	/* Our own temp directories are swept by the next commit; any other
	 * .tmp-* name is foreign like the rest. */
	if (store_tmp_name(name) && S_ISDIR(st.st_mode))
		return;
	out->foreign = xrealloc(out->foreign, (out->nforeign + 1) * sizeof(char *));
	out->foreign[out->nforeign++] = xasprintf("%s/%.64s (%s)", comp, name, io_type_name(st.st_mode));
}

int store_list(struct store *s, const char *component, struct gen_list *out)
{
	DIR *d;
	struct dirent *de;
	int r;

	*out = (struct gen_list){0};
	if (!valid_component_name(component))
		return abur_fail(-EINVAL, "bad component name '%s'", component);
	r = store_opendir(s, component, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		uint64_t seq;
		struct generation *g;
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (!gen_entry(dirfd(d), de->d_name, &seq)) {
			add_foreign(out, dirfd(d), component, de->d_name);
			continue;
		}
		out->g = xrealloc(out->g, (out->n + 1) * sizeof(*out->g));
		g = &out->g[out->n++];
		*g = (struct generation){.seq = seq,
					 .dir = xasprintf("%s/%s/%s", s->root, component, de->d_name),
					 .rel = xasprintf("%s/%s", component, de->d_name)};
		check_generation(s, g, component);
	}
	closedir(d);
	if (out->n)
		qsort(out->g, out->n, sizeof(*out->g), cmp_gen);
	return 0;
}

const struct generation *gen_list_find(const struct gen_list *l, uint64_t seq)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->g[i].seq == seq)
			return &l->g[i];
	return NULL;
}

void gen_list_free(struct gen_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->g[i].dir);
		free(l->g[i].rel);
		free(l->g[i].problem);
		manifest_clear(&l->g[i].m);
	}
	for (size_t i = 0; i < l->nforeign; i++)
		free(l->foreign[i]);
	free(l->foreign);
	free(l->g);
	*l = (struct gen_list){0};
}

/* Every ABUR-named entry counts, whatever it is, so a new generation's
 * name never meets one already there. */
int store_max_seq(struct store *s, uint64_t *max)
{
	char **names;
	size_t n;
	int r = store_components(s, &names, &n);

	*max = 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		DIR *d = NULL;
		struct dirent *de;
		abur_ignore(store_opendir(s, names[i], &d)); /* gone: none of its numbers */
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

int gen_payload_open(struct store *s, const struct generation *g, const struct payload_info *pi, uint64_t out_limit,
		     struct payload_reader **out)
{
	_cleanup_free_ char *rel = xasprintf("%s/%s", g->rel, pi->name);
	_cleanup_free_ char *path = xasprintf("%s/%s", g->dir, pi->name);
	int fd = io_open_beneath(s->root_fd, rel, O_RDONLY, IO_REGULAR);

	if (fd < 0)
		return abur_fail_wrap(fd, "%s", s->root);
	return payload_reader_open(fd, path, pi->sha256, pi->size, out_limit, out);
}

/* A verification's progress: bytes of payloads read, of all it reads. */
struct verify_run {
	const struct progress_hook *hook;
	const char *stage;
	uint64_t done, total;
};

static int verify_payload(struct store *s, const struct generation *g, const struct payload_info *pi,
			  struct verify_run *vr)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", g->dir, pi->name);
	struct payload_reader *p;
	struct archive *a;
	struct archive_entry *e;
	int r, k;

	r = gen_payload_open(s, g, pi, 0, &p);
	if (r < 0)
		return r;
	if (vr) {
		payload_reader_progress(p, vr->hook, vr->stage, vr->done, vr->total);
		vr->done += pi->size;
	}
	a = payload_archive(p);
	while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (archive_read_data_skip(a) != ARCHIVE_OK)
			break;
	if (k != ARCHIVE_EOF && k != ARCHIVE_OK)
		r = abur_fail(-EBADMSG, "%s: %s", path, archive_error_string(a));
	else if (k == ARCHIVE_OK)
		r = abur_fail(-EBADMSG, "%s: %s", path, archive_error_string(a));
	k = payload_close(p, 0);
	return r < 0 ? r : k;
}

static int verify_gen(struct store *s, const struct generation *g, struct verify_run *vr)
{
	if (!g->valid)
		return abur_fail(-EBADMSG, "g%06llu: %s", (unsigned long long)g->seq, g->problem);
	for (size_t i = 0; i < g->m.npayloads; i++) {
		int r = verify_payload(s, g, &g->m.payloads[i], vr);
		if (r < 0)
			return abur_fail_wrap(r, "g%06llu", (unsigned long long)g->seq);
	}
	return 0;
}

int gen_verify(struct store *s, const struct generation *g)
{
	return verify_gen(s, g, NULL);
}

int gens_verify_progress(struct store *s, const struct generation *const *g, size_t n,
			 const struct progress_hook *progress)
{
	_cleanup_free_ char *stage =
	    progress && progress->fn && n && g[0]->valid ? xasprintf("verify %s", g[0]->m.component) : NULL;
	struct verify_run vr = {progress, stage, 0, 0};
	int r = 0;

	for (size_t i = 0; i < n; i++)
		vr.total += gen_bytes(g[i]);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = verify_gen(s, g[i], stage ? &vr : NULL);
	if (stage)
		progress_tell(progress, stage, vr.done, vr.total);
	return r;
}

int gen_verify_progress(struct store *s, const struct generation *g, const struct progress_hook *progress)
{
	return gens_verify_progress(s, &g, 1, progress);
}

/* The bytes store_verify_all() will read: of every valid generation it
 * will verify (an invalid one is refused without a read). */
static uint64_t verify_total(struct store *s, char **names, size_t n, const char *component, uint64_t only)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		_cleanup_(gen_list_free) struct gen_list l = {0};
		if ((component && !streq(component, names[i])) || store_list(s, names[i], &l) < 0)
			continue;
		for (size_t k = 0; k < l.n; k++)
			total += !only || l.g[k].seq == only ? gen_bytes(&l.g[k]) : 0;
	}
	return total;
}

static int verify_component(struct store *s, const char *comp, uint64_t only, store_verify_fn fn, void *arg,
			    struct verify_run *vr, unsigned *checked)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	int bad = 0, r = store_list(s, comp, &l);

	for (size_t i = 0; r == 0 && i < l.n; i++) {
		int k;
		if (only && l.g[i].seq != only)
			continue;
		k = verify_gen(s, &l.g[i], vr);
		(*checked)++;
		bad += k < 0;
		if (fn)
			fn(arg, comp, &l.g[i], k);
	}
	return r < 0 ? r : bad;
}

int store_verify_all(struct store *s, const char *component, uint64_t only, store_verify_fn fn, void *arg,
		     const struct progress_hook *progress, unsigned *checked)
{
	struct verify_run vr = {progress, "verify", 0, 0};
	unsigned n_checked = 0;
	char **names;
	size_t n;
	int bad = 0, r = store_components(s, &names, &n);

	if (r < 0)
		return r;
	if (progress && progress->fn)
		vr.total = verify_total(s, names, n, component, only);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (component && !streq(component, names[i]))
			continue;
		r = verify_component(s, names[i], only, fn, arg, &vr, &n_checked);
		bad += r > 0 ? r : 0;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (checked)
		*checked = n_checked;
	return r < 0 ? r : bad;
}

static bool passes(struct store *s, const struct generation *g, enum gen_check check,
		   const struct progress_hook *progress)
{
	return g->valid && (!(check & GEN_CHECK_VERIFY) || gen_verify_progress(s, g, progress) == 0);
}

int store_newest(struct store *s, const char *component, enum gen_check check, uint64_t max_seq, struct gen_list *l,
		 const struct generation **out)
{
	return store_newest_progress(s, component, check, max_seq, NULL, l, out);
}

int store_newest_progress(struct store *s, const char *component, enum gen_check check, uint64_t max_seq,
			  const struct progress_hook *progress, struct gen_list *l, const struct generation **out)
{
	int r = store_list(s, component, l);

	if (r < 0)
		return r;
	for (size_t i = l->n; i-- > 0;) {
		if (max_seq != GEN_SEQ_ANY && l->g[i].seq > max_seq)
			continue;
		if (passes(s, &l->g[i], check, progress)) {
			*out = &l->g[i];
			return 0;
		}
	}
	return abur_fail(-ENOENT, "no valid generation");
}

int payload_open_max(struct store *s, const struct generation *g, const char *name, uint64_t out_max,
		     struct payload_reader **out)
{
	for (size_t i = 0; g->valid && i < g->m.npayloads; i++)
		if (streq(g->m.payloads[i].name, name))
			return gen_payload_open(s, g, &g->m.payloads[i], out_max, out);
	return abur_fail(-ENOENT, "g%06llu has no payload %s", (unsigned long long)g->seq, name);
}

int payload_open(struct store *s, const struct generation *g, const char *name, struct payload_reader **out)
{
	return payload_open_max(s, g, name, 0, out);
}

/* Makes the directories of rel (not its last name) beneath the root. */
static int mkdir_parents(struct store *s, const char *rel)
{
	_cleanup_free_ char *p = xstrdup(rel);
	int r = 0;

	for (char *slash = strchr(p, '/'); r == 0 && slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		r = io_mkdirat(s->root_fd, p, 0755);
		*slash = '/';
	}
	return r;
}

int store_put_file(struct store *s, const char *rel, const void *data, size_t n)
{
	int r = mkdir_parents(s, rel);

	if (r == 0)
		r = io_write_file_atomic_at(s->root_fd, rel, data, n, 0644);
	return r < 0 ? abur_fail_wrap(r, "%s", s->root) : 0;
}

int store_get_file(struct store *s, const char *rel, size_t max, char **data, size_t *n)
{
	int r = io_read_file_at(s->root_fd, rel, max, data, n);

	return r < 0 && r != -ENOENT ? abur_fail_wrap(r, "%s", s->root) : r;
}

int store_remove_file(struct store *s, const char *rel)
{
	_cleanup_free_ char *dir = xstrdup(rel);
	char *slash = strrchr(dir, '/');
	struct stat st;
	int r;

	/* Only a regular file of ours goes; never what a link names. */
	if (fstatat(s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
		return abur_fail(-EINVAL, "%s/%s is %s, not a file of ours: left alone", s->root, rel,
				 io_type_name(st.st_mode));
	r = io_unlinkat(s->root_fd, rel);
	if (r < 0)
		return r;
	if (slash)
		*slash = '\0';
	return io_fsync_dirat(s->root_fd, slash ? dir : ".");
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
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

uint64_t dir_usage(struct store *s, const char *rel)
{
	_cleanup_close_ int fd = io_open_beneath(s->root_fd, rel, O_PATH | O_DIRECTORY, 0);

	if (fd < 0)
		return 0;
	return usage_at(fd, ".");
}

uint64_t gen_bytes(const struct generation *g)
{
	uint64_t n = 0;

	for (size_t i = 0; g->valid && i < g->m.npayloads; i++)
		n += g->m.payloads[i].size;
	return n;
}

uint64_t store_generation_bytes(struct store *s, const char *component, uint64_t seq)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;

	if (store_list(s, component, &l) < 0 || !(g = gen_list_find(&l, seq)))
		return 0;
	return gen_bytes(g);
}

/* ---- the seal record ---- */

#define SEAL_RECORD "SEALED"
#define SEAL_RECORD_MAX 4096

int store_put_seal(struct store *s, const char *const *components, const uint64_t *seqs, size_t n)
{
	_cleanup_free_ char *text = xstrdup("; ABUR seal record: the generations of the newest complete seal\n");

	for (size_t i = 0; i < n; i++) {
		char *t;
		if (!valid_component_name(components[i]) || !seqs[i] || seqs[i] > STORE_SEQ_MAX)
			return abur_fail(-EINVAL, "bad seal record entry '%s' %llu", components[i],
					 (unsigned long long)seqs[i]);
		t = xasprintf("%s%s = %llu\n", text, components[i], (unsigned long long)seqs[i]);
		free(text);
		text = t;
	}
	if (strlen(text) + 5 > SEAL_RECORD_MAX)
		return abur_fail(-E2BIG, "seal record too large");
	char *t = xasprintf("%send\n", text);
	free(text);
	text = t;
	return store_put_file(s, SEAL_RECORD, text, strlen(text));
}

/* One "component = seq" line; -EINVAL when malformed. */
static int seal_line(const char *line, char name[33], uint64_t *seq)
{
	char num[24];
	int end = 0;

	if (sscanf(line, "%32[a-z0-9_-] = %23[0-9]%n", name, num, &end) != 2 || line[end] != '\0' ||
	    !valid_component_name(name) || parse_uint(num, 1, STORE_SEQ_MAX, seq) < 0)
		return -EINVAL;
	return 0;
}

int store_sealed_seq(struct store *s, const char *component, uint64_t *seq)
{
	_cleanup_free_ char *text = NULL;
	uint64_t found = 0;
	bool ended = false;
	char *save = NULL;
	int r = store_get_file(s, SEAL_RECORD, SEAL_RECORD_MAX, &text, NULL);

	if (r < 0)
		return r;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[33];
		uint64_t v;
		if (line[0] == ';')
			continue;
		if (ended || (!streq(line, "end") && seal_line(line, name, &v) < 0))
			return abur_fail(-EINVAL, "%s/%s: malformed line '%.64s'", s->root, SEAL_RECORD, line);
		if (streq(line, "end"))
			ended = true;
		else if (streq(name, component))
			found = v;
	}
	if (!ended)
		return abur_fail(-EINVAL, "%s/%s: truncated (no end line)", s->root, SEAL_RECORD);
	if (!found)
		return abur_fail(-ENOENT, "the seal record names no %s generation", component);
	*seq = found;
	return 0;
}

uint64_t store_os_base_max(struct store *s)
{
	uint64_t seq = 0;

	if (store_sealed_seq(s, "os", &seq) < 0)
		seq = 0;
	return seq;
}

static void push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

/* Root entries that sit where ABUR expects its own: a link anywhere, or a
 * component's name that is not a real directory. */
static void root_foreign(struct store *s, char ***out, size_t *n)
{
	DIR *d;
	struct dirent *de;
	struct stat st;

	if (store_opendir(s, ".", &d) < 0)
		return;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode) || (valid_component_name(de->d_name) && !S_ISDIR(st.st_mode)))
			push(out, n, xasprintf("%.64s (%s)", de->d_name, io_type_name(st.st_mode)));
	}
	closedir(d);
}

int store_foreign(struct store *s, char ***out, size_t *n)
{
	char **names;
	size_t nn;
	int r = store_components(s, &names, &nn);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	root_foreign(s, out, n);
	for (size_t i = 0; i < nn; i++) {
		_cleanup_(gen_list_free) struct gen_list l = {0};
		if (store_list(s, names[i], &l) == 0)
			for (size_t k = 0; k < l.nforeign; k++)
				push(out, n, xstrdup(l.foreign[k]));
		free(names[i]);
	}
	free(names);
	return 0;
}

int gen_needs(const struct generation *g, uint64_t **needs, size_t *n)
{
	const char *v = g->valid ? manifest_extra(&g->m, "needs") : NULL;
	_cleanup_free_ char *copy = xstrdup(v ? v : "");
	char *save = NULL;

	*needs = NULL;
	*n = 0;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		uint64_t seq;
		if (parse_uint(w, 1, STORE_SEQ_MAX, &seq) < 0 || seq >= g->seq || *n >= 4096) {
			free(*needs);
			*needs = NULL;
			*n = 0;
			return abur_fail(-EBADMSG, "g%06llu: bad needs '%s'", (unsigned long long)g->seq, v);
		}
		*needs = xrealloc(*needs, (*n + 1) * sizeof(**needs));
		(*needs)[(*n)++] = seq;
	}
	return 0;
}

/* ---- tags (restore points) ---- */

bool store_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	const char *num = tag[0] == 'g' ? tag + 1 : tag;

	if (n == 0 || n > STORE_TAG_MAX || !isalnum((unsigned char)tag[0]))
		return false;
	for (const char *p = tag; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	/* "12" and "g000012" name generations. */
	return !*num || strspn(num, "0123456789") != strlen(num);
}

const char *gen_tag(const struct generation *g)
{
	return g->valid ? manifest_extra(&g->m, "tag") : NULL;
}

const struct generation *gen_list_find_tag(const struct gen_list *l, const char *tag)
{
	for (size_t i = 0; i < l->n; i++)
		if (gen_tag(&l->g[i]) && streq(gen_tag(&l->g[i]), tag))
			return &l->g[i];
	return NULL;
}

int store_find_tag(struct store *s, const char *component, const char *tag, uint64_t *seq)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;
	int r = store_list(s, component, &l);

	if (r < 0)
		return r;
	if (!(g = gen_list_find_tag(&l, tag)))
		return abur_fail(-ENOENT, "%s has no generation tagged '%s'", component, tag);
	*seq = g->seq;
	return 0;
}
