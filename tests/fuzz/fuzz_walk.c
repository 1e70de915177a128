/* The store walk over a generated directory tree.  The input describes a
 * small tree of records
 *
 *     T LEN PATH\n  followed by LEN bytes of data
 *
 * T is d (directory), f (file: the data), M (a manifest file written
 * after every other record: in its data, "size = @" and "sha256 = @" under
 * "[payload NAME]" become the real size and sha256 of file NAME beside it,
 * so generations can pass the cheap checks and reach the payload reader),
 * and, only with ABUR_FUZZ_WALK_SPECIAL=1 in the environment, l (a symlink
 * to the data) and p (a FIFO).  They are off by default: today's store
 * opens payloads with a blocking open() and follows symlinks, so a FIFO or
 * a link to one hangs the walk (issue 10 case 3/4; the store sandbox work
 * fixes that).
 *
 * The tree is made under a scratch directory in /dev/shm (tmpfs, never
 * followed out of: every record is created with *at() calls beneath it,
 * O_NOFOLLOW), then store_open(STORE_READ) + store_components + store_list
 * (through store_newest) + store_verify_all run over it, and it is removed. */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sha256.h"
#include "fuzz.h"
#include "store/store.h"

#define MAX_RECORDS 64
#define MAX_DEPTH 8

static char *base;   /* the scratch directory: the working directory */
static bool special; /* make symlinks and FIFOs too */
static const char *tree = "t";

struct rec {
	char type;
	char path[256];
	const uint8_t *data;
	size_t len;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *sp = getenv("ABUR_FUZZ_WALK_SPECIAL");

	(void)argc;
	(void)argv;
	special = sp && streq(sp, "1");
	base = fuzz_scratch("walk");
	/* A relative store spec: an absolute /dev/... one would be taken for a device. */
	if (chdir(base) < 0)
		abort();
	nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS); /* left by a run that crashed */
	return 0;
}

/* One record from *p; false at the end or on malformed input. */
static bool next_rec(const uint8_t **p, const uint8_t *end, struct rec *r)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	char head[300], *path;
	unsigned long len;

	if (!nl || nl - *p < 4 || (size_t)(nl - *p) >= sizeof(head))
		return false;
	memcpy(head, *p, (size_t)(nl - *p));
	head[nl - *p] = '\0';
	r->type = head[0];
	len = strtoul(head + 2, &path, 10);
	if (head[1] != ' ' || *path != ' ' || strlen(path + 1) >= sizeof(r->path) || memchr(*p, 0, (size_t)(nl - *p)))
		return false;
	strcpy(r->path, path + 1);
	*p = nl + 1;
	r->len = len < (size_t)(end - *p) ? len : (size_t)(end - *p);
	r->data = *p;
	*p += r->len;
	return true;
}

/* Opens the parent directory of r->path beneath root (creating it, never
 * following a symlink); *leaf gets the last component. -1 when the path is
 * not a plain relative one. */
static int open_parent(int root, char *path, char **leaf)
{
	int fd = dup(root), depth = 0;
	char *s = path, *slash;

	while ((slash = strchr(s, '/'))) {
		*slash = '\0';
		if (!*s || streq(s, ".") || streq(s, "..") || ++depth > MAX_DEPTH) {
			close(fd);
			return -1;
		}
		mkdirat(fd, s, 0755);
		int sub = openat(fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		*slash = '/';
		close(fd);
		if (sub < 0)
			return -1;
		fd = sub;
		s = slash + 1;
	}
	if (!*s || streq(s, ".") || streq(s, "..")) {
		close(fd);
		return -1;
	}
	*leaf = s;
	return fd;
}

static void write_file(int dir, const char *leaf, const void *data, size_t len)
{
	int fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	struct stat st;

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static const struct rec *find_file(const struct rec *recs, size_t n, const char *dir, const char *name)
{
	for (size_t i = n; i-- > 0;) {
		size_t dl = strlen(dir);
		if (recs[i].type == 'f' && strncmp(recs[i].path, dir, dl) == 0 && streq(recs[i].path + dl, name))
			return &recs[i];
	}
	return NULL;
}

/* The manifest text with its "@" placeholders filled in. */
static char *fill_manifest(const struct rec *m, const struct rec *recs, size_t n)
{
	_cleanup_free_ char *text = xmalloc(m->len + 1), *dir = xstrdup(m->path);
	char *out = xstrdup(""), *save = NULL, *slash = strrchr(dir, '/');
	const struct rec *payload = NULL;

	memcpy(text, m->data, m->len);
	text[m->len] = '\0';
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char hex[SHA256_HEX_LEN], *prev = out;
		if (startswith(line, "[payload ") && line[strlen(line) - 1] == ']') {
			line[strlen(line) - 1] = '\0';
			payload = find_file(recs, n, dir, line + strlen("[payload "));
			line[strlen(line)] = ']';
		}
		if (payload && streq(line, "size = @")) {
			out = xasprintf("%ssize = %zu\n", prev, payload->len);
		} else if (payload && streq(line, "sha256 = @")) {
			sha256_hex(payload->data, payload->len, hex);
			out = xasprintf("%ssha256 = %s\n", prev, hex);
		} else {
			out = xasprintf("%s%s\n", prev, line);
		}
		free(prev);
	}
	return out;
}

static void make_rec(int root, const struct rec *r, const struct rec *recs, size_t n)
{
	char path[sizeof(r->path)], *leaf;
	int dir;

	strcpy(path, r->path);
	dir = open_parent(root, path, &leaf);
	if (dir < 0)
		return;
	if (r->type == 'd') {
		mkdirat(dir, leaf, 0755);
	} else if (r->type == 'f') {
		write_file(dir, leaf, r->data, r->len);
	} else if (r->type == 'M') {
		_cleanup_free_ char *text = fill_manifest(r, recs, n);
		write_file(dir, leaf, text, strlen(text));
	} else if (r->type == 'l' && special) {
		_cleanup_free_ char *target = xmalloc(r->len + 1);
		memcpy(target, r->data, r->len);
		target[r->len] = '\0';
		if (*target && !memchr(r->data, 0, r->len))
			symlinkat(target, dir, leaf);
	} else if (r->type == 'p' && special) {
		mkfifoat(dir, leaf, 0644);
	}
	close(dir);
}

/* A store call that blocks (open() of a FIFO: only with special files on)
 * is interrupted by libFuzzer's SIGALRM (every -timeout/2 + 1 s) and fails
 * with EINTR, which would hide the hang as a slow unit: make it a crash.
 * msg is a generation's problem or an error: a read error ends with
 * ": <strerror>"; a manifest parse error (whose quoted text the input
 * chooses) says "manifest line". */
static void not_blocked(const char *what, const char *msg)
{
	const char *eintr = strerror(EINTR);
	size_t n = msg ? strlen(msg) : 0, e = strlen(eintr);

	if (!special || n < e + 2 || strstr(msg, "manifest line"))
		return;
	FUZZ_ASSERT(memcmp(msg + n - e - 2, ": ", 2) != 0 || strcmp(msg + n - e, eintr) != 0,
		    "%s blocked (the walk would hang here): %s", what, msg);
}

static void verified(void *arg, const char *component, const struct generation *g, int result)
{
	(void)arg;
	(void)component;
	(void)g;
	FUZZ_ASSERT(result != -EINTR, "gen_verify blocked (the walk would hang here)");
	not_blocked("gen_verify", result < 0 ? abur_errmsg(result) : NULL);
}

/* With special files on, the store's sandbox rule: a generation reported
 * valid has no symlink from the store root down to it, and its manifest
 * and payloads are regular files. */
static void sandboxed(const struct store *s, const struct generation *g)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", g->dir, STORE_MANIFEST);
	size_t rl = strlen(store_root(s));
	struct stat st;

	if (!special || !g->valid)
		return;
	FUZZ_ASSERT(strncmp(g->dir, store_root(s), rl) == 0, "generation %s outside the store", g->dir);
	for (char *p = path + rl; p; p = strchr(p + 1, '/')) {
		*p = '\0';
		FUZZ_ASSERT(lstat(path, &st) == 0 && S_ISDIR(st.st_mode), "valid generation through a non-directory %s",
			    path);
		*p = '/';
	}
	FUZZ_ASSERT(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "valid generation, manifest not a file: %s", path);
	for (size_t i = 0; i < g->m.npayloads; i++) {
		_cleanup_free_ char *pl = xasprintf("%s/%s", g->dir, g->m.payloads[i].name);
		FUZZ_ASSERT(lstat(pl, &st) == 0 && S_ISREG(st.st_mode), "valid generation, payload not a file: %s", pl);
	}
}

static void walk(void)
{
	struct abur_config cfg = {0};
	struct store *s;
	char **names;
	size_t n;
	unsigned checked;

	cfg.flash.mount = "/nonexistent/abur-fuzz";
	if (store_open(&cfg, tree, STORE_READ, &s) < 0)
		return;
	FUZZ_ASSERT(store_components(s, &names, &n) == 0 || n == 0, "store_components");
	for (size_t i = 0; i < n; i++) {
		_cleanup_(gen_list_free) struct gen_list l = {0};
		const struct generation *g;
		/* Lists names[i] (l stays empty when it cannot be listed). */
		(void)!store_newest(s, names[i], GEN_CHECK_VALID, GEN_SEQ_ANY, &l, &g);
		for (size_t k = 0; k < l.n; k++) {
			FUZZ_ASSERT(l.g[k].valid || l.g[k].problem, "invalid generation without a problem");
			not_blocked("store_list", l.g[k].problem);
			sandboxed(s, &l.g[k]);
			(void)gen_bytes(&l.g[k]);
			(void)store_generation_bytes(s, names[i], l.g[k].seq);
		}
		free(names[i]);
	}
	free(names);
	(void)store_verify_all(s, NULL, 0, verified, NULL, NULL, &checked);
	store_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rec recs[MAX_RECORDS];
	const uint8_t *p = data, *end = data + size;
	size_t n = 0;
	int root;

	while (n < MAX_RECORDS && next_rec(&p, end, &recs[n]))
		n++;
	if (mkdir(tree, 0755) < 0 || (root = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		abort();
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if ((recs[i].type == 'M') == (pass == 1))
				make_rec(root, &recs[i], recs, n);
	close(root);
	walk();
	nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	FUZZ_ASSERT(access(tree, F_OK) < 0, "scratch tree not removed");
	abur_fail_clear();
	return 0;
}
