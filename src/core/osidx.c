/* The os file index format (doc/design.md "The index"): one header line,
 * then one tab-separated line per entry:
 *   op type mode uid gid size mtime ctime ino nlink racy sha meta ref
 *   ref_name target xattrs acl path
 * Text fields are escaped (\\, \t, \n, bytes < 0x20 and 0x7f as \xHH); an
 * empty text or hash field is "-", a literal "-" is written "\x2d". */
#include "osidx.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define NFIELDS 19

/* ---- building ---- */

struct osidx_ent *osidx_add(struct osidx *x, const char *path)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 256;
		x->e = xrealloc(x->e, x->cap * sizeof(*x->e));
	}
	struct osidx_ent *e = &x->e[x->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	return e;
}

static void ent_clear(struct osidx_ent *e)
{
	free(e->path);
	free(e->ref_name);
	free(e->target);
	free(e->xattrs);
	free(e->acl);
	memset(e, 0, sizeof(*e));
}

void osidx_free(struct osidx *x)
{
	for (size_t i = 0; i < x->n; i++)
		ent_clear(&x->e[i]);
	free(x->e);
	memset(x, 0, sizeof(*x));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void osidx_ent_copy(struct osidx_ent *dst, const struct osidx_ent *src)
{
	ent_clear(dst);
	*dst = *src;
	dst->path = dup_or_null(src->path);
	dst->ref_name = dup_or_null(src->ref_name);
	dst->target = dup_or_null(src->target);
	dst->xattrs = dup_or_null(src->xattrs);
	dst->acl = dup_or_null(src->acl);
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct osidx_ent *)a)->path, ((const struct osidx_ent *)b)->path);
}

int osidx_sort(struct osidx *x)
{
	if (x->n > 1)
		qsort(x->e, x->n, sizeof(*x->e), cmp_ent);
	for (size_t i = 1; i < x->n; i++)
		if (streq(x->e[i - 1].path, x->e[i].path))
			return abur_fail(-EINVAL, "index: path '%s' twice", x->e[i].path);
	return 0;
}

const struct osidx_ent *osidx_find(const struct osidx *x, const char *path)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(x->e[mid].path, path);
		if (c == 0)
			return &x->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int64_t osidx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

void osidx_set_stat(struct osidx_ent *e, const struct stat *st, int64_t seen_ns, int64_t racy_ns)
{
	e->op = OSIDX_SAME;
	e->type = S_ISDIR(st->st_mode) ? OSIDX_DIR : S_ISLNK(st->st_mode) ? OSIDX_SYMLINK : OSIDX_FILE;
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	e->mtime_ns = ts_ns(&st->st_mtim);
	e->ctime_ns = ts_ns(&st->st_ctim);
	e->ino = st->st_ino;
	e->nlink = (uint32_t)st->st_nlink;
	e->racy = e->ctime_ns + racy_ns > seen_ns;
}

/* A hard link is a regular file's inode seen under a second path. */
static char inode_type(char t)
{
	return t == OSIDX_HARDLINK ? OSIDX_FILE : t;
}

bool osidx_same_stat(const struct osidx_ent *a, const struct osidx_ent *b)
{
	return inode_type(a->type) == inode_type(b->type) && a->mode == b->mode && a->uid == b->uid &&
	       a->gid == b->gid && a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
	       a->ino == b->ino && a->nlink == b->nlink;
}

static bool str_eq(const char *a, const char *b)
{
	return streq(a ? a : "", b ? b : "");
}

bool osidx_same_restored(const struct osidx_ent *a, const struct osidx_ent *b)
{
	if (a->type != b->type || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid)
		return false;
	if (a->mtime_ns != b->mtime_ns)
		return false;
	if (a->type == OSIDX_HARDLINK)
		return str_eq(a->target, b->target);
	return a->size == b->size && streq(a->sha, b->sha) && streq(a->meta, b->meta);
}

void osidx_resolve_self(struct osidx *x, uint64_t seq)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->e[i].ref == OSIDX_REF_SELF)
			x->e[i].ref = seq;
}

static void digest_text(struct sha256 *h, const char *s)
{
	sha256_update(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

void osidx_digest(const struct osidx *x, struct sha256 *h)
{
	for (size_t i = 0; i < x->n; i++) {
		const struct osidx_ent *e = &x->e[i];
		char line[160];
		snprintf(line, sizeof(line), "%c %c %o %u %u %llu %lld", e->op, e->type, (unsigned)e->mode,
			 (unsigned)e->uid, (unsigned)e->gid, (unsigned long long)e->size, (long long)e->mtime_ns);
		digest_text(h, e->path);
		digest_text(h, line);
		digest_text(h, e->sha);
		digest_text(h, e->meta);
		digest_text(h, e->target);
		digest_text(h, e->xattrs);
		digest_text(h, e->acl);
	}
}

/* ---- formatting ---- */

static void put_text(FILE *f, const char *s)
{
	if (!s || !*s) {
		fputc('-', f);
		return;
	}
	if (streq(s, "-")) {
		fputs("\\x2d", f);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

static void put_hash(FILE *f, const char *h)
{
	fputs(*h ? h : "-", f);
}

static void put_ent(FILE *f, const struct osidx_ent *e)
{
	fprintf(f, "%c\t%c\t%o\t%u\t%u\t%llu\t%lld\t%lld\t%llu\t%u\t%d\t", e->op, e->type, (unsigned)e->mode,
		(unsigned)e->uid, (unsigned)e->gid, (unsigned long long)e->size, (long long)e->mtime_ns,
		(long long)e->ctime_ns, (unsigned long long)e->ino, (unsigned)e->nlink, e->racy ? 1 : 0);
	put_hash(f, e->sha);
	fputc('\t', f);
	put_hash(f, e->meta);
	fputc('\t', f);
	if (e->ref == OSIDX_REF_SELF)
		fputc('.', f);
	else if (e->ref)
		fprintf(f, "%llu", (unsigned long long)e->ref);
	else
		fputc('-', f);
	const char *texts[] = {e->ref_name, e->target, e->xattrs, e->acl, e->path};
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		fputc('\t', f);
		put_text(f, texts[i]);
	}
	fputc('\n', f);
}

char *osidx_format(const struct osidx *x, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		abort(); /* out of memory, as xmalloc */
	fprintf(f, "%s %d %s\n", OSIDX_MAGIC, OSIDX_VERSION, x->kind == OSIDX_BASE ? "base" : "state");
	for (size_t i = 0; i < x->n; i++)
		put_ent(f, &x->e[i]);
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

/* ---- parsing ---- */

struct lparse {
	size_t line;
	char why[160];
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes an escaped field in place; false when malformed.  "-" is empty. */
static bool unescape(char *s, char **out)
{
	char *w = s;

	*out = NULL;
	if (streq(s, "-"))
		return true;
	for (char *p = s; *p; p++) {
		if (*p != '\\') {
			*w++ = *p;
			continue;
		}
		p++;
		if (*p == '\\' || *p == 't' || *p == 'n') {
			*w++ = *p == '\\' ? '\\' : *p == 't' ? '\t' : '\n';
		} else if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			int v = hexval(p[1]) * 16 + hexval(p[2]);
			if (v == 0)
				return false;
			*w++ = (char)v;
			p += 2;
		} else {
			return false;
		}
	}
	*w = '\0';
	if (!*s)
		return false;
	*out = xstrdup(s);
	return true;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *v, int base)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, base);
	if (errno || *end || x > max)
		return false;
	*v = x;
	return true;
}

static bool parse_s64(const char *s, int64_t *v)
{
	char *end;

	if (!*s || isspace((unsigned char)*s) || *s == '+')
		return false;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static bool parse_hash(const char *s, char out[SHA256_HEX_LEN])
{
	if (streq(s, "-")) {
		out[0] = '\0';
		return true;
	}
	if (strlen(s) != SHA256_HEX_LEN - 1)
		return false;
	for (const char *p = s; *p; p++)
		if (hexval(*p) < 0)
			return false;
	memcpy(out, s, SHA256_HEX_LEN);
	return true;
}

/* "." (the filesystem's root directory), or relative, at most
 * OSIDX_MAX_PATH bytes, no empty, "." or ".." part. */
static bool good_path(const char *p)
{
	size_t n = strlen(p);

	if (streq(p, OSIDX_ROOT))
		return true;
	if (n == 0 || n > OSIDX_MAX_PATH || p[0] == '/' || p[n - 1] == '/')
		return false;
	for (const char *c = p; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		size_t k = strcspn(c, "/");
		if (k == 0 || (k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return true;
}

static bool ops_allowed(enum osidx_kind kind, char op)
{
	if (kind == OSIDX_BASE)
		return op == OSIDX_SAME;
	return op == OSIDX_ADD || op == OSIDX_DEL || op == OSIDX_META;
}

static int fail_line(struct lparse *lp, const char *what)
{
	return abur_fail(-EINVAL, "index line %zu: %s", lp->line, what);
}

static int ent_numbers(struct lparse *lp, char **f, struct osidx_ent *e)
{
	uint64_t mode, uid, gid, nlink, racy;

	if (!parse_u64(f[2], 07777, &mode, 8) || !parse_u64(f[3], UINT32_MAX, &uid, 10) ||
	    !parse_u64(f[4], UINT32_MAX, &gid, 10))
		return fail_line(lp, "bad mode or owner");
	if (!parse_u64(f[5], INT64_MAX, &e->size, 10) || !parse_s64(f[6], &e->mtime_ns) ||
	    !parse_s64(f[7], &e->ctime_ns) || !parse_u64(f[8], UINT64_MAX, &e->ino, 10) ||
	    !parse_u64(f[9], UINT32_MAX, &nlink, 10) || !parse_u64(f[10], 1, &racy, 10))
		return fail_line(lp, "bad size, time, inode, link count or racy flag");
	e->mode = (uint32_t)mode;
	e->uid = (uint32_t)uid;
	e->gid = (uint32_t)gid;
	e->nlink = (uint32_t)nlink;
	e->racy = racy == 1;
	if (!parse_hash(f[11], e->sha) || !parse_hash(f[12], e->meta))
		return fail_line(lp, "bad hash");
	if (streq(f[13], "."))
		e->ref = OSIDX_REF_SELF;
	else if (!streq(f[13], "-") && !parse_u64(f[13], 999999, &e->ref, 10))
		return fail_line(lp, "bad generation reference");
	return 0;
}

static int ent_texts(struct lparse *lp, char **f, struct osidx_ent *e)
{
	char *path;

	if (!unescape(f[14], &e->ref_name) || !unescape(f[15], &e->target) || !unescape(f[16], &e->xattrs) ||
	    !unescape(f[17], &e->acl))
		return fail_line(lp, "bad escape");
	if (!unescape(f[18], &path) || !path || !good_path(path)) {
		free(path);
		return fail_line(lp, "bad path");
	}
	free(e->path);
	e->path = path;
	return 0;
}

/* What each type and op needs, so a consumer can trust the fields. */
static int ent_consistent(struct lparse *lp, enum osidx_kind kind, const struct osidx_ent *e)
{
	bool file = e->type == OSIDX_FILE, link = e->type == OSIDX_SYMLINK || e->type == OSIDX_HARDLINK;

	if (!ops_allowed(kind, e->op))
		return fail_line(lp, "op not allowed in this kind of index");
	if (e->op == OSIDX_DEL)
		return 0;
	if (link != (e->target != NULL))
		return fail_line(lp, "a link needs a target, and only a link has one");
	if (e->type == OSIDX_HARDLINK && !good_path(e->target))
		return fail_line(lp, "bad hard-link target");
	if ((file || e->type == OSIDX_SYMLINK) && !e->sha[0])
		return fail_line(lp, "a file or symlink needs its hash");
	if (e->op == OSIDX_ADD && file && (!e->ref || !e->ref_name))
		return fail_line(lp, "an added file needs the generation that holds it");
	if (!file && (e->ref || e->ref_name))
		return fail_line(lp, "only a file refers to a generation");
	return 0;
}

static int parse_line(struct lparse *lp, enum osidx_kind kind, char *line, struct osidx *x)
{
	char *f[NFIELDS];
	size_t nf = 0;
	struct osidx_ent *e;
	int r;

	for (char *p = line; nf < NFIELDS; nf++) {
		f[nf] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (nf != NFIELDS - 1 || strchr(f[NFIELDS - 1], '\t'))
		return fail_line(lp, "wrong number of fields");
	if (strlen(f[0]) != 1 || strlen(f[1]) != 1 || !strchr("fdlh", f[1][0]))
		return fail_line(lp, "bad op or type");
	if (x->n >= OSIDX_MAX_ENTRIES)
		return fail_line(lp, "too many entries");
	e = osidx_add(x, "");
	e->op = f[0][0];
	e->type = f[1][0];
	r = ent_numbers(lp, f, e);
	if (r == 0)
		r = ent_texts(lp, f, e);
	if (r == 0)
		r = ent_consistent(lp, kind, e);
	if (r == 0 && x->n > 1 && strcmp(x->e[x->n - 2].path, e->path) >= 0)
		r = fail_line(lp, "paths not in order, or a path twice");
	return r;
}

static int parse_header(const char *line, enum osidx_kind *kind)
{
	char magic[16], what[8];
	int ver;
	char tail;

	if (sscanf(line, "%15s %d %7s%c", magic, &ver, what, &tail) != 3 || !streq(magic, OSIDX_MAGIC))
		return abur_fail(-EINVAL, "index: not an ABUR os index");
	if (ver != OSIDX_VERSION)
		return abur_fail(-EPROTO, "index: version %d, this abur reads version %d", ver, OSIDX_VERSION);
	if (streq(what, "base"))
		*kind = OSIDX_BASE;
	else if (streq(what, "state"))
		*kind = OSIDX_STATE;
	else
		return abur_fail(-EINVAL, "index: unknown kind '%s'", what);
	return 0;
}

static int parse_lines(char *buf, size_t len, struct osidx *x)
{
	struct lparse lp = {0};
	char *p = buf, *end = buf + len;
	int r = 0;

	while (r == 0 && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		lp.line++;
		if (!nl)
			return fail_line(&lp, "no newline at the end");
		if ((size_t)(nl - p) > OSIDX_MAX_LINE)
			return fail_line(&lp, "line too long");
		*nl = '\0';
		if (lp.line == 1)
			r = parse_header(p, &x->kind);
		else
			r = parse_line(&lp, x->kind, p, x);
		p = nl + 1;
	}
	if (r == 0 && lp.line == 0)
		r = abur_fail(-EINVAL, "index: empty");
	return r;
}

int osidx_parse(const char *text, size_t len, struct osidx *x)
{
	_cleanup_free_ char *buf = NULL;
	int r;

	memset(x, 0, sizeof(*x));
	if (memchr(text, '\0', len))
		return abur_fail(-EINVAL, "index: NUL byte");
	buf = xmalloc(len + 1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	r = parse_lines(buf, len, x);
	if (r < 0)
		osidx_free(x);
	return r;
}

static bool same_inode_state(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int osidx_hash_file(int fd, const char *path, const struct stat *before, char hex[SHA256_HEX_LEN], uint64_t *bytes,
		    bool *steady)
{
	char buf[128 * 1024];
	struct sha256 h;
	struct stat after;
	ssize_t n;

	sha256_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sha256_update(&h, buf, (size_t)n);
		if (bytes)
			*bytes += (uint64_t)n;
	}
	if (n < 0)
		return abur_fail(-errno, "read %s: %m", path);
	sha256_final_hex(&h, hex);
	*steady = fstat(fd, &after) == 0 && same_inode_state(before, &after);
	return 0;
}
