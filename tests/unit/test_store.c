/* The store's decisions: content digest, retention choice, space planning,
 * and the commit basics (monotonic numbers, sweeping leftovers).  Real
 * temporary directories; the space test mounts a small tmpfs in a private
 * mount namespace (as root, or in a user namespace when allowed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "core/config.h"
#include "core/osidx.h"
#include "store/store.h"

static char *tmp; /* per test */
static struct abur_config *cfg;
static bool have_ns;   /* main() entered a private mount namespace */
static bool real_root; /* may chown to any id */

static void sh(const char *fmt, ...) PRINTF(1, 2);
static void sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
	free(cmd);
}

static void put(const char *rel, const char *content)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", tmp, rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static char *path(const char *rel)
{
	return xasprintf("%s/%s", tmp, rel);
}

static int setup(void **state)
{
	char t[] = "/tmp/abur-unit-store.XXXXXX";
	_cleanup_free_ char *text = NULL, *errors = NULL;
	(void)state;

	assert_non_null(mkdtemp(t));
	tmp = xstrdup(t);
	text = xasprintf("[flash]\nstore = %s/store\nmount = %s/mnt\n"
			 "[component config]\npaths = /etc/vms /etc/other\nexclude = /etc/vms/skip.ini\nkeep = 3\n"
			 "[component license]\npaths = /etc/vms/skip.ini\n",
			 tmp, tmp);
	if (config_parse(text, strlen(text), "t.ini", &cfg, &errors) < 0)
		fail_msg("config: %s", errors);
	sh("mkdir -p %s/store %s/root/etc/vms/sub", tmp, tmp);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (have_ns) {
		_cleanup_free_ char *mnt = xasprintf("%s/store", tmp);
		umount2(mnt, MNT_DETACH);
	}
	sh("rm -rf %s", tmp);
	free(tmp);
	config_free(cfg);
	cfg = NULL;
	return 0;
}

/* ---- content digest ---- */

static void digest_of(char out[SHA256_HEX_LEN])
{
	_cleanup_free_ char *root = path("root");

	assert_int_equal(backup_digest(config_component(cfg, "config"), root, NULL, out), 0);
	assert_int_equal(strlen(out), 64);
}

static void make_tree(void)
{
	put("root/etc/vms/a.ini", "[recorder]\nfps = 25\n");
	put("root/etc/vms/sub/b.xml", "<cameras><cam id=\"1\"/></cameras>\n");
	put("root/etc/vms/skip.ini", "excluded\n");
	sh("cd %s/root/etc/vms && ln -s a.ini current.ini && ln a.ini hard.ini && chmod 0640 a.ini", tmp);
}

static void digest_stable(void **state)
{
	char d1[SHA256_HEX_LEN], d2[SHA256_HEX_LEN], d3[SHA256_HEX_LEN];
	_cleanup_free_ char *copy = path("copy");
	(void)state;

	make_tree();
	digest_of(d1);
	digest_of(d2);
	assert_string_equal(d1, d2);
	/* The same tree under another root has the same digest: paths are
	 * relative to the root, and copying keeps modes, owners, links. */
	sh("cp -a %s/root %s", tmp, copy);
	assert_int_equal(backup_digest(config_component(cfg, "config"), copy, NULL, d3), 0);
	assert_string_equal(d1, d3);
	/* Nothing under any path: an error, not the digest of nothing. */
	sh("rm -rf %s/root/etc", tmp);
	_cleanup_free_ char *empty = path("root");
	assert_int_equal(backup_digest(config_component(cfg, "config"), empty, NULL, d3), -ENOENT);
}

static void digest_ignores_mtime(void **state)
{
	char d1[SHA256_HEX_LEN], d2[SHA256_HEX_LEN];
	(void)state;

	make_tree();
	digest_of(d1);
	sh("touch -d '2001-02-03 04:05:06' %s/root/etc/vms/a.ini %s/root/etc/vms/sub %s/root/etc/vms", tmp, tmp, tmp);
	sh("touch -h -d '2002-02-03' %s/root/etc/vms/current.ini", tmp);
	digest_of(d2);
	assert_string_equal(d1, d2);
	/* Rewriting a file with the same bytes is no change either. */
	put("root/etc/vms/sub/b.xml", "<cameras><cam id=\"1\"/></cameras>\n");
	digest_of(d2);
	assert_string_equal(d1, d2);
	/* An excluded file may change freely. */
	put("root/etc/vms/skip.ini", "changed\n");
	digest_of(d2);
	assert_string_equal(d1, d2);
}

/* Applies a change and asserts the digest moved; returns the new one. */
static void expect_change(char before[SHA256_HEX_LEN], const char *what, const char *cmd)
{
	char after[SHA256_HEX_LEN];

	sh("cd %s/root && %s", tmp, cmd);
	digest_of(after);
	if (streq(before, after))
		fail_msg("digest unchanged after %s (%s)", what, cmd);
	memcpy(before, after, SHA256_HEX_LEN);
}

static void digest_sees_changes(void **state)
{
	char d[SHA256_HEX_LEN];
	_cleanup_free_ char *a = path("root/etc/vms/a.ini");
	(void)state;

	make_tree();
	digest_of(d);
	expect_change(d, "same-size content change", "printf '[recorder]\\nfps = 30\\n' > etc/vms/a.ini");
	expect_change(d, "mode change", "chmod 0600 etc/vms/sub/b.xml");
	expect_change(d, "directory mode change", "chmod 0700 etc/vms/sub");
	expect_change(d, "symlink target change", "ln -sfn sub/b.xml etc/vms/current.ini");
	expect_change(d, "new empty file", ": > etc/vms/sub/new.ini");
	expect_change(d, "new empty directory", "mkdir etc/vms/sub/d");
	expect_change(d, "rename", "mv etc/vms/sub/new.ini etc/vms/sub/new2.ini");
	expect_change(d, "removal", "rm etc/vms/sub/new2.ini");
	expect_change(d, "hard link broken", "rm etc/vms/hard.ini && cp -p etc/vms/a.ini etc/vms/hard.ini");
	expect_change(d, "a listed path appearing", "mkdir -p etc/other");
	expect_change(d, "file in the new path", "echo x > etc/other/x.ini");
	if (real_root)
		expect_change(d, "owner change", "chown 1234:1234 etc/vms/a.ini");
	if (setxattr(a, "user.abur-test", "1", 1, 0) < 0) {
		print_message("# xattr checks skipped: %s does not take user xattrs (%s)\n", a, strerror(errno));
		return;
	}
	expect_change(d, "xattr added", "true");
	assert_int_equal(setxattr(a, "user.abur-test", "2", 1, 0), 0);
	expect_change(d, "xattr value change", "true");
	expect_change(d, "ACL added", "setfacl -m u:$(id -u):r etc/vms/a.ini");
}

/* ---- the stat cache ---- */

static void digest_cached(char out[SHA256_HEX_LEN])
{
	_cleanup_free_ char *root = path("root"), *state = path("state");

	assert_int_equal(backup_digest(config_component(cfg, "config"), root, state, out), 0);
}

static void load_cache(struct osidx *x)
{
	_cleanup_free_ char *p = path("state/tree-cache/config.idx"), *text = NULL;
	size_t len;

	assert_int_equal(read_file(p, 1 << 20, &text, &len), 0);
	assert_int_equal(osidx_parse(text, len, x), 0);
}

/* Rewrites the cache as it would read once its entries were old enough
 * (racy cleared: a test cannot wait 2 s), then lets edit change a.ini's. */
static void edit_cache(void (*edit)(struct osidx_ent *e))
{
	_cleanup_free_ char *p = path("state/tree-cache/config.idx"), *text = NULL;
	struct osidx x;
	size_t len;
	FILE *f;

	load_cache(&x);
	for (size_t i = 0; i < x.n; i++) {
		x.e[i].racy = false;
		if (streq(x.e[i].path, "etc/vms/a.ini"))
			edit(&x.e[i]);
	}
	text = osidx_format(&x, &len);
	osidx_free(&x);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void fake_sha(struct osidx_ent *e)
{
	memset(e->sha, 'f', SHA256_HEX_LEN - 1);
}
static void no_edit(struct osidx_ent *e)
{
	(void)e;
}
/* Each: the hash is a lie, and the stat says so by one field. */
static void edit_racy(struct osidx_ent *e)
{
	fake_sha(e);
	e->racy = true;
}
static void edit_mode(struct osidx_ent *e)
{
	fake_sha(e);
	e->mode ^= 1;
}
static void edit_uid(struct osidx_ent *e)
{
	fake_sha(e);
	e->uid++;
}
static void edit_gid(struct osidx_ent *e)
{
	fake_sha(e);
	e->gid++;
}
static void edit_size(struct osidx_ent *e)
{
	fake_sha(e);
	e->size++;
}
static void edit_mtime(struct osidx_ent *e)
{
	fake_sha(e);
	e->mtime_ns++;
}
static void edit_ctime(struct osidx_ent *e)
{
	fake_sha(e);
	e->ctime_ns++;
}
static void edit_ino(struct osidx_ent *e)
{
	fake_sha(e);
	e->ino++;
}
static void edit_nlink(struct osidx_ent *e)
{
	fake_sha(e);
	e->nlink++;
}

/* The cache is believed exactly when the stat matches and was not racy:
 * a lying hash behind a matching stat shows in the digest (so the file
 * was not read), behind any other stat it does not. */
static void cache_trusted_only_on_same_stat(void **state)
{
	static void (*const reread[])(struct osidx_ent *) = {edit_racy,  edit_mode,  edit_uid, edit_gid,  edit_size,
							     edit_mtime, edit_ctime, edit_ino, edit_nlink};
	char d0[SHA256_HEX_LEN], d[SHA256_HEX_LEN];
	struct osidx x;
	(void)state;

	make_tree();
	digest_of(d0);
	digest_cached(d);
	assert_string_equal(d, d0);
	/* Files with content of their own: not the symlink, not the hard link. */
	load_cache(&x);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.e[0].path, "etc/vms/a.ini");
	assert_string_equal(x.e[1].path, "etc/vms/sub/b.xml");
	osidx_free(&x);
	edit_cache(no_edit);
	digest_cached(d);
	assert_string_equal(d, d0);
	edit_cache(fake_sha);
	digest_cached(d);
	assert_string_not_equal(d, d0);
	digest_of(d);
	assert_string_equal(d, d0);
	for (size_t i = 0; i < ARRAY_SIZE(reread); i++) {
		edit_cache(reread[i]);
		digest_cached(d);
		if (!streq(d, d0))
			fail_msg("edit %zu: the cache was believed", i);
	}
}

/* A damaged or missing cache costs a full read, never an error or a wrong
 * digest, and the next pass writes a good one. */
static void cache_damage_costs_a_read(void **state)
{
	_cleanup_free_ char *p = path("state/tree-cache/config.idx");
	char d0[SHA256_HEX_LEN], d[SHA256_HEX_LEN];
	const char *garbage[] = {"", "abur-osidx 1 base\n=\tf\n", "abur-osidx 1 state\n", "abur-osidx 9 base\n",
				 "\x01\x02 not an index"};
	struct osidx x;
	(void)state;

	make_tree();
	digest_of(d0);
	for (size_t i = 0; i < ARRAY_SIZE(garbage); i++) {
		digest_cached(d);
		edit_cache(fake_sha);
		sh("printf '%s' > %s", garbage[i], p);
		digest_cached(d);
		if (!streq(d, d0))
			fail_msg("damaged cache %zu: wrong digest", i);
		load_cache(&x);
		assert_int_equal(x.n, 2);
		osidx_free(&x);
	}
	/* A lying entry before a bad line, or in a cut-off file: none of it is used. */
	for (int cut = 0; cut < 2; cut++) {
		edit_cache(fake_sha);
		sh(cut ? "truncate -s -1 %s" : "echo junk >> %s", p);
		digest_cached(d);
		assert_string_equal(d, d0);
	}
	edit_cache(fake_sha);
	sh("rm -rf %s/state/tree-cache", tmp);
	digest_cached(d);
	assert_string_equal(d, d0);
	load_cache(&x);
	osidx_free(&x);
}

/* ---- commits, retention ---- */

struct blob {
	uint64_t size;
	uint32_t seed;
};

/* One entry of `size` pseudo-random (incompressible) bytes, the same
 * every time (space planning runs fill twice). */
static int fill_blob(struct archive *a, void *arg)
{
	const struct blob *b = arg;
	struct archive_entry *e = archive_entry_new();
	static uint32_t buf[16384];
	uint32_t x = b->seed * 2654435761u + 1;
	int r = 0;

	archive_entry_set_pathname(e, "blob.bin");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)b->size);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		r = -EIO;
	for (uint64_t done = 0; r == 0 && done < b->size;) {
		size_t n = b->size - done < sizeof(buf) ? (size_t)(b->size - done) : sizeof(buf);
		for (size_t i = 0; i < ARRAY_SIZE(buf); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = x;
		}
		if (archive_write_data(a, buf, n) != (la_ssize_t)n)
			r = -EIO;
		done += n;
	}
	archive_entry_free(e);
	return r;
}

static struct store *open_store(void)
{
	struct store *s;
	_cleanup_free_ char *dir = path("store");

	assert_int_equal(store_open(cfg, dir, STORE_WRITE, &s), 0);
	return s;
}

static int commit(struct store *s, const char *comp, uint32_t seed, uint64_t size, bool pinned, unsigned keep,
		  uint64_t *seq)
{
	char digest[SHA256_HEX_LEN];
	struct blob b = {size, seed};
	struct payload_spec ps = {"data.tar.zst", fill_blob, &b};
	static const char *const src[] = {"/etc/vms"};
	struct commit_info info = {.component = comp,
				   .trigger = pinned ? "seal" : "manual",
				   .content_digest = digest,
				   .pinned = pinned,
				   .sources = src,
				   .nsources = 1,
				   .keep = keep};
	uint64_t dummy;

	snprintf(digest, sizeof(digest), "%064x", seed);
	return store_commit(s, &info, &ps, 1, seq ? seq : &dummy);
}

/* "1 3 5": the generations present, and which are invalid ("3!"). */
static char *listing(struct store *s, const char *comp)
{
	struct gen_list l;
	char *out = xstrdup("");

	assert_int_equal(store_list(s, comp, &l), 0);
	for (size_t i = 0; i < l.n; i++) {
		char *t =
		    xasprintf("%s%s%llu%s", out, i ? " " : "", (unsigned long long)l.g[i].seq, l.g[i].valid ? "" : "!");
		free(out);
		out = t;
	}
	gen_list_free(&l);
	return out;
}

static void expect_listing(struct store *s, const char *comp, const char *want)
{
	_cleanup_free_ char *got = listing(s, comp);

	if (!streq(got, want))
		fail_msg("%s: generations \"%s\", wanted \"%s\"", comp, got, want);
}

static void invalidate(struct store *s, const char *comp, uint64_t seq)
{
	_cleanup_free_ char *m = xasprintf("%s/%s/g%06llu/manifest.ini", store_root(s), comp, (unsigned long long)seq);

	assert_int_equal(unlink(m), 0);
}

/* A reader's handle keeps retention from removing what it may be reading;
 * once it is closed the next commit removes. No self-deadlock: a writer
 * handle opened beside a reader handle in one process only skips removal. */
static void readers_block_removal(void **state)
{
	struct store *s = open_store(), *r;
	_cleanup_free_ char *dir = path("store");
	(void)state;

	assert_int_equal(commit(s, "config", 1, 100, false, 1, NULL), 0);
	assert_int_equal(store_open(cfg, dir, STORE_READ, &r), 0);
	assert_int_equal(commit(s, "config", 2, 100, false, 1, NULL), 0);
	expect_listing(s, "config", "1 2");
	assert_int_equal(store_apply_retention(s, "config", 1), 0);
	store_close(r);
	assert_int_equal(commit(s, "config", 3, 100, false, 1, NULL), 0);
	expect_listing(s, "config", "3");
	store_close(s);
}

/* The seal record names the effective pin: pinned generations of a seal
 * that did not complete are no pin. */
static void seal_record_pins(void **state)
{
	struct store *s = open_store();
	const char *comp[] = {"config"};
	uint64_t seq, one = 1;
	(void)state;

	assert_int_equal(commit(s, "config", 1, 100, true, 1, NULL), 0);
	assert_int_equal(store_put_seal(s, comp, &one, 1), 0);
	assert_int_equal(store_sealed_seq(s, "config", &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(store_sealed_seq(s, "os", &seq), -ENOENT);
	/* A half seal (2), then ordinary backups: 1 stays, 2 is not pinned. */
	assert_int_equal(commit(s, "config", 2, 100, true, 1, NULL), 0);
	assert_int_equal(commit(s, "config", 3, 100, false, 1, NULL), 0);
	expect_listing(s, "config", "1 3");
	/* A malformed record is refused, not half-used. */
	assert_int_equal(store_put_file(s, "SEALED", "config = 3\n", 11), 0);
	assert_int_equal(store_sealed_seq(s, "config", &seq), -EINVAL);
	store_close(s);
}

static void commit_numbers_and_sweep(void **state)
{
	struct store *s = open_store();
	uint64_t seq;
	struct gen_list l;
	(void)state;

	assert_int_equal(commit(s, "config", 1, 100, false, 10, &seq), 0);
	assert_int_equal(seq, 1);
	/* Numbers are monotonic per store, across components. */
	assert_int_equal(commit(s, "license", 2, 100, false, 10, &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(commit(s, "config", 3, 100, false, 10, &seq), 0);
	assert_int_equal(seq, 3);
	/* A leftover temp directory is swept by the next commit and never
	 * counts as a generation. */
	sh("mkdir -p %s/config/.tmp-g000009-1 && echo x > %s/config/.tmp-g000009-1/data.tar.zst", store_root(s),
	   store_root(s));
	expect_listing(s, "config", "1 3");
	assert_int_equal(commit(s, "config", 4, 100, false, 10, &seq), 0);
	assert_int_equal(seq, 4);
	sh("test ! -e %s/config/.tmp-g000009-1", store_root(s));
	/* The manifest records the parent (the newest valid one before). */
	assert_int_equal(store_list(s, "config", &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.g[2].m.parent, 3);
	assert_int_equal(l.g[2].m.payloads[0].size > 100, true);
	assert_int_equal(gen_verify(s, &l.g[2]), 0);
	gen_list_free(&l);
	/* Bad requests. */
	assert_int_equal(commit(s, "../x", 5, 1, false, 1, NULL), -EINVAL);
	store_close(s);
}

static void retention_keep_n(void **state)
{
	struct store *s = open_store();
	(void)state;

	for (uint32_t i = 1; i <= 5; i++)
		assert_int_equal(commit(s, "config", i, 10, false, 10, NULL), 0);
	assert_int_equal(store_apply_retention(s, "config", 2), 3);
	expect_listing(s, "config", "4 5");
	assert_int_equal(store_apply_retention(s, "config", 2), 0);
	/* keep = 0 still keeps the newest valid generation. */
	assert_int_equal(store_apply_retention(s, "config", 0), 1);
	expect_listing(s, "config", "5");
	/* Other components are not touched. */
	assert_int_equal(commit(s, "license", 9, 10, false, 10, NULL), 0);
	assert_int_equal(store_apply_retention(s, "config", 0), 0);
	expect_listing(s, "license", "6");
	store_close(s);
}

static void retention_pinned(void **state)
{
	struct store *s = open_store();
	(void)state;

	assert_int_equal(commit(s, "config", 1, 10, true, 10, NULL), 0); /* the seal */
	for (uint32_t i = 2; i <= 6; i++)
		assert_int_equal(commit(s, "config", i, 10, false, 10, NULL), 0);
	/* keep 2 newest unpinned, besides the pinned one */
	assert_int_equal(store_apply_retention(s, "config", 2), 3);
	expect_listing(s, "config", "1 5 6");
	assert_int_equal(store_apply_retention(s, "config", 0), 1);
	expect_listing(s, "config", "1 6");
	/* A re-seal supersedes the old seal: only the newest pinned stays pinned. */
	assert_int_equal(commit(s, "config", 7, 10, true, 10, NULL), 0);
	assert_int_equal(commit(s, "config", 8, 10, false, 10, NULL), 0);
	assert_int_equal(store_apply_retention(s, "config", 1), 2);
	expect_listing(s, "config", "7 8");
	/* The pinned generation may be the newest: it still stays, and keep
	 * counts only unpinned ones. */
	assert_int_equal(commit(s, "config", 9, 10, true, 10, NULL), 0);
	assert_int_equal(store_apply_retention(s, "config", 1), 1);
	expect_listing(s, "config", "8 9");
	store_close(s);
}

static void retention_invalid(void **state)
{
	struct store *s = open_store();
	(void)state;

	for (uint32_t i = 1; i <= 6; i++)
		assert_int_equal(commit(s, "config", i, 10, false, 10, NULL), 0);
	invalidate(s, "config", 6); /* newest: broken */
	invalidate(s, "config", 3); /* an old one: broken */
	expect_listing(s, "config", "1 2 3! 4 5 6!");
	/* keep 2: the two newest valid (4, 5) and the broken newer one (kept for
	 * inspection); the broken old one does not count towards keep. */
	assert_int_equal(store_apply_retention(s, "config", 2), 3);
	expect_listing(s, "config", "4 5 6!");
	/* The newest valid one is never removed, even when all newer are broken. */
	assert_int_equal(store_apply_retention(s, "config", 0), 1);
	expect_listing(s, "config", "5 6!");
	invalidate(s, "config", 5);
	/* Nothing valid at all: nothing is removed. */
	assert_int_equal(store_apply_retention(s, "config", 0), 0);
	expect_listing(s, "config", "5! 6!");
	store_close(s);
}

static void commit_applies_retention(void **state)
{
	struct store *s = open_store();
	(void)state;

	assert_int_equal(commit(s, "config", 1, 10, true, 2, NULL), 0);
	for (uint32_t i = 2; i <= 6; i++)
		assert_int_equal(commit(s, "config", i, 10, false, 2, NULL), 0);
	expect_listing(s, "config", "1 5 6");
	store_close(s);
}

/* A commit with a tag (and same_as) through the same blob payload. */
static int commit_with(struct store *s, uint32_t seed, const char *tag, uint64_t same_as, unsigned keep, uint64_t *seq)
{
	char digest[SHA256_HEX_LEN];
	struct blob b = {10, seed};
	struct payload_spec ps = {"data.tar.zst", fill_blob, &b};
	struct commit_info info = {.component = "config",
				   .trigger = "manual",
				   .content_digest = digest,
				   .keep = keep,
				   .tag = tag,
				   .same_as = same_as};
	uint64_t dummy;

	snprintf(digest, sizeof(digest), "%064x", seed);
	return store_commit(s, &info, &ps, 1, seq ? seq : &dummy);
}

static void tag_names(void **state)
{
	static const char *const good[] = {"before-9.2", "a", "g", "9.2", "g12x", "x_y", "A.B-c"};
	static const char *const bad[] = {"", "12", "g000012", "g1", "-x", ".x", "a/b", "a b", "ü"};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!store_tag_valid(good[i]))
			fail_msg("tag '%s' refused", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (store_tag_valid(bad[i]))
			fail_msg("tag '%s' accepted", bad[i]);
	assert_true(store_tag_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	assert_false(store_tag_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
}

/* A tagged generation stays through retention (not counted in keep) until
 * forgotten; one tag names one generation; the plan is what retention
 * removes. */
static void tags_retention_forget(void **state)
{
	struct store *s = open_store();
	uint64_t seq;
	char **names = NULL;
	const char *why;
	(void)state;

	assert_int_equal(commit_with(s, 1, NULL, 0, 10, NULL), 0);
	assert_int_equal(commit_with(s, 2, "before", 0, 10, NULL), 0);
	assert_int_equal(commit_with(s, 2, "before", 0, 10, NULL), -EEXIST);
	assert_int_equal(commit_with(s, 2, "12", 0, 10, NULL), -EINVAL);
	for (uint32_t i = 3; i <= 5; i++)
		assert_int_equal(commit_with(s, i, NULL, 0, 10, NULL), 0);
	assert_int_equal(store_find_tag(s, "config", "before", &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(store_find_tag(s, "config", "after", &seq), -ENOENT);
	/* keep 1: the plan names 1, 3, 4 (not the tag, not the newest) */
	assert_int_equal(store_retention_plan(s, "config", 1, &names, &why), 3);
	assert_string_equal(names[0], "config/g000001");
	assert_string_equal(names[2], "config/g000004");
	for (size_t i = 0; i < 3; i++)
		free(names[i]);
	free(names);
	expect_listing(s, "config", "1 2 3 4 5");
	assert_int_equal(store_apply_retention(s, "config", 1), 3);
	expect_listing(s, "config", "2 5");
	assert_int_equal(store_retention_plan(s, "config", 1, &names, &why), 0);
	assert_null(names);
	/* forget: the newest valid one stays, the tagged one goes */
	assert_int_equal(store_forget(s, "config", 5, false), -EBUSY);
	assert_int_equal(store_forget(s, "config", 9, false), -ENOENT);
	assert_int_equal(store_forget(s, "config", 2, false), 0);
	expect_listing(s, "config", "5");
	/* a restore point of unchanged content may go although newest */
	assert_int_equal(commit_with(s, 5, "same", 0, 10, &seq), 0);
	assert_int_equal(store_forget(s, "config", seq, false), 0);
	expect_listing(s, "config", "5");
	store_close(s);
}

/* The effective pin goes only with unpin. */
static void forget_pin(void **state)
{
	struct store *s = open_store();
	(void)state;

	assert_int_equal(commit(s, "config", 1, 10, true, 10, NULL), 0);
	assert_int_equal(commit(s, "config", 2, 10, false, 10, NULL), 0);
	assert_int_equal(store_forget(s, "config", 1, false), -EPERM);
	expect_listing(s, "config", "1 2");
	assert_int_equal(store_forget(s, "config", 1, true), 0);
	expect_listing(s, "config", "2");
	store_close(s);
}

/* same_as: equal payloads and manifest values reuse the generation. */
static void commit_same_as(void **state)
{
	struct store *s = open_store();
	uint64_t seq;
	(void)state;

	assert_int_equal(commit_with(s, 1, NULL, 0, 10, &seq), 0);
	assert_int_equal(commit_with(s, 1, NULL, 1, 10, &seq), 1);
	assert_int_equal(seq, 1);
	expect_listing(s, "config", "1");
	/* other content: a new generation (the reused one took no number) */
	assert_int_equal(commit_with(s, 2, NULL, 1, 10, &seq), 0);
	assert_int_equal(seq, 2);
	/* same content but another tag ([extra] differs): new too */
	assert_int_equal(commit_with(s, 2, "t", 2, 10, &seq), 0);
	assert_int_equal(seq, 3);
	expect_listing(s, "config", "1 2 3");
	store_close(s);
}

/* ---- space planning ---- */

/* Mounts a tmpfs of `mib` MiB on tmp/store (needs the private namespace). */
struct outcomes {
	char text[256];
};

static void note_outcome(void *arg, const char *comp, const struct generation *g, int r)
{
	struct outcomes *o = arg;
	size_t len = strlen(o->text);

	snprintf(o->text + len, sizeof(o->text) - len, "%s%s:%llu:%s", len ? " " : "", comp, (unsigned long long)g->seq,
		 r == 0 ? "ok" : "bad");
}

static void verify_all(void **state)
{
	struct store *s = open_store();
	struct outcomes o = {""};
	unsigned checked = 0;
	(void)state;

	assert_int_equal(commit(s, "config", 1, 1000, false, 10, NULL), 0);
	assert_int_equal(commit(s, "license", 2, 1000, false, 10, NULL), 0);
	assert_int_equal(commit(s, "config", 3, 1000, false, 10, NULL), 0);
	assert_int_equal(store_verify_all(s, NULL, 0, note_outcome, &o, NULL, &checked), 0);
	assert_string_equal(o.text, "config:1:ok config:3:ok license:2:ok");
	assert_int_equal(checked, 3);
	/* A flipped payload byte fails that generation only. */
	sh("f=%s/config/g000003/data.tar.zst; printf '\\377' | dd of=$f bs=1 seek=100 conv=notrunc status=none",
	   store_root(s));
	o.text[0] = 0;
	assert_int_equal(store_verify_all(s, NULL, 0, note_outcome, &o, NULL, &checked), 1);
	assert_string_equal(o.text, "config:1:ok config:3:bad license:2:ok");
	/* One component; one generation; none that matches. */
	o.text[0] = 0;
	assert_int_equal(store_verify_all(s, "license", 0, note_outcome, &o, NULL, &checked), 0);
	assert_string_equal(o.text, "license:2:ok");
	assert_int_equal(store_verify_all(s, "config", 3, NULL, NULL, NULL, &checked), 1);
	assert_int_equal(checked, 1);
	assert_int_equal(store_verify_all(s, "config", 2, NULL, NULL, NULL, &checked), 0);
	assert_int_equal(checked, 0);
	store_close(s);
}

/* The newest generation that passes the check asked for, within the bound. */
static uint64_t newest(struct store *s, const char *comp, enum gen_check check, uint64_t max_seq)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g = NULL;
	int r = store_newest(s, comp, check, max_seq, &l, &g);

	if (r == -ENOENT)
		return 0;
	assert_int_equal(r, 0);
	return g->seq;
}

static void newest_passing(void **state)
{
	struct store *s = open_store();
	(void)state;

	for (uint32_t i = 1; i <= 4; i++)
		assert_int_equal(commit(s, "config", i, 1000, false, 10, NULL), 0);
	/* g4 lists as valid but no longer verifies; g3 lists as invalid. */
	sh("f=%s/config/g000004/data.tar.zst; printf '\\377' | dd of=$f bs=1 seek=100 conv=notrunc status=none",
	   store_root(s));
	invalidate(s, "config", 3);
	assert_int_equal(newest(s, "config", GEN_CHECK_VALID, GEN_SEQ_ANY), 4);
	assert_int_equal(newest(s, "config", GEN_CHECK_VERIFY, GEN_SEQ_ANY), 2);
	assert_int_equal(newest(s, "config", GEN_CHECK_VALID, 3), 2);
	assert_int_equal(newest(s, "config", GEN_CHECK_VERIFY, 1), 1);
	/* None passes: -ENOENT, and the list is still there (and freed). */
	assert_int_equal(newest(s, "license", GEN_CHECK_VALID, GEN_SEQ_ANY), 0);
	invalidate(s, "config", 1);
	assert_int_equal(newest(s, "config", GEN_CHECK_VERIFY, 1), 0);
	{
		_cleanup_(gen_list_free) struct gen_list l = {0}, none = {0};
		const struct generation *g = NULL;
		assert_int_equal(store_newest(s, "config", GEN_CHECK_VERIFY, 1, &l, &g), -ENOENT);
		assert_int_equal(l.n, 4);
		assert_null(g);
		assert_int_equal(store_newest(s, "../x", GEN_CHECK_VALID, GEN_SEQ_ANY, &none, &g), -EINVAL);
	}
	store_close(s);
}

/* Readers are handles: several open at once, each closed on its own; the
 * check at the close sees damage; a failed read is ended without it. */
static void payload_readers(void **state)
{
	struct store *s = open_store();
	_cleanup_(gen_list_free) struct gen_list l = {0};
	struct payload_reader *p[2];
	struct archive_entry *e;
	(void)state;

	assert_int_equal(commit(s, "config", 1, 1000, false, 10, NULL), 0);
	assert_int_equal(commit(s, "config", 2, 1 << 20, false, 10, NULL), 0);
	/* In the zstd frame's checksum, past what opening reads: only the
	 * end of the stream can tell. */
	sh("f=%s/config/g000002/data.tar.zst; printf '\\377' | dd of=$f bs=1 seek=$(($(stat -c %%s $f) - 2)) "
	   "conv=notrunc status=none",
	   store_root(s));
	assert_int_equal(store_list(s, "config", &l), 0);
	assert_int_equal(payload_open(s, &l.g[0], "data.tar.zst", &p[0]), 0);
	assert_int_equal(payload_open(s, &l.g[1], "data.tar.zst", &p[1]), 0);
	assert_int_equal(payload_open(s, &l.g[1], "disk.tar.zst", &p[1]), -ENOENT);
	assert_int_equal(archive_read_next_header(payload_archive(p[0]), &e), ARCHIVE_OK);
	/* Closed in the other order than opened: each is its own. */
	assert_int_equal(payload_close(p[1], 0), -EBADMSG);
	assert_int_equal(payload_close(p[0], 0), 0);
	/* A failed read: no check, the caller's error back. */
	assert_int_equal(payload_open(s, &l.g[1], "data.tar.zst", &p[1]), 0);
	assert_int_equal(payload_close(p[1], -EIO), -EIO);
	{
		_cleanup_(payload_discardp) struct payload_reader *q = NULL;
		assert_int_equal(payload_open(s, &l.g[0], "data.tar.zst", &q), 0);
	}
	store_close(s);
}

static bool small_fs(unsigned mib)
{
	_cleanup_free_ char *dir = path("store");
	_cleanup_free_ char *opt = xasprintf("size=%um,mode=0755", mib);

	if (!have_ns)
		return false;
	if (mount("abur-test", dir, "tmpfs", 0, opt) < 0) {
		print_message("# tmpfs: %s\n", strerror(errno));
		return false;
	}
	return true;
}

/* Names, sizes and contents of everything in the store. */
static char *snapshot(void)
{
	_cleanup_free_ char *out = path("snap");
	char *text = NULL;
	size_t n;

	sh("cd %s/store && find . -path ./abur/.lock -prune -o -printf '%%p %%s %%y\\n' | sort > %s && "
	   "find . -type f ! -name .lock -exec sha256sum {} + | sort >> %s",
	   tmp, out, out);
	assert_int_equal(read_file(out, 1 << 20, &text, &n), 0);
	return text;
}

static void space_planning(void **state)
{
	const uint64_t MiB = 1024 * 1024;
	struct store *s;
	uint64_t seq;
	_cleanup_free_ char *before = NULL, *after = NULL;
	(void)state;

	if (!small_fs(4))
		skip(); /* print_message said why */
	s = open_store();
	/* 3 x 1 MiB of 4 MiB: the next one does not fit as is. */
	for (uint32_t i = 1; i <= 3; i++)
		assert_int_equal(commit(s, "config", i, MiB, false, 10, NULL), 0);
	assert_int_equal(commit(s, "license", 7, 300 * 1024, false, 10, NULL), 0);
	expect_listing(s, "config", "1 2 3");
	/* It fits once the oldest unpinned generation is gone; only as many
	 * as needed go, oldest first. */
	assert_int_equal(commit(s, "config", 4, MiB, false, 10, &seq), 0);
	assert_int_equal(seq, 5);
	expect_listing(s, "config", "2 3 5");
	expect_listing(s, "license", "4");
	/* Twice the whole filesystem cannot fit even with everything freed:
	 * a clear error, and the store exactly as it was. */
	before = snapshot();
	assert_int_equal(commit(s, "config", 5, 8 * MiB, false, 10, NULL), -ENOSPC);
	if (!strstr(abur_errmsg(-ENOSPC), "not enough space"))
		fail_msg("unclear message: %s", abur_errmsg(-ENOSPC));
	print_message("# %s\n", abur_errmsg(-ENOSPC));
	after = snapshot();
	assert_string_equal(before, after);
	/* A size that fits only when old generations of every component go:
	 * they go oldest first, the newest valid of each stays. */
	assert_int_equal(commit(s, "config", 6, 2 * MiB + 256 * 1024, false, 10, &seq), 0);
	expect_listing(s, "config", "5 6");
	expect_listing(s, "license", "4");
	store_close(s);
}

static bool write_proc(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Becomes root of a new user namespace mapped to our own ids. */
static bool user_ns(void)
{
	char map[64];
	unsigned uid = getuid(), gid = getgid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return false;
	snprintf(map, sizeof(map), "0 %u 1\n", uid);
	if (!write_proc("/proc/self/uid_map", map))
		return false;
	snprintf(map, sizeof(map), "0 %u 1\n", gid);
	return write_proc("/proc/self/setgroups", "deny") && write_proc("/proc/self/gid_map", map);
}

/* ---- the restore pre-check over an archive in memory ---- */

struct ent {
	const char *name;
	mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK; 0: a hard link to link */
	const char *link;
};

static const struct {
	const char *what;
	struct ent e[4];
	int want;
} check_cases[] = {
    {"benign", {{"etc/vms", AE_IFDIR}, {"etc/vms/a", AE_IFREG}, {"etc/vms/l", AE_IFLNK, "a"}}, 0},
    {"hard link spelled otherwise", {{"etc/vms/a", AE_IFREG}, {"./etc/vms/h", 0, "etc/vms//a"}}, 0},
    {"same file twice (overlapping paths of an older backup)", {{"a", AE_IFREG}, {"./a", AE_IFREG}}, 0},
    {"a/./l/x", {{"a/l", AE_IFLNK, "/"}, {"a/./l/x", AE_IFREG}}, -EPERM},
    {"a//l/x", {{"a/l", AE_IFLNK, "/"}, {"a//l/x", AE_IFREG}}, -EPERM},
    {"symlink l/", {{"l/", AE_IFLNK, "/"}, {"l/x", AE_IFREG}}, -EPERM},
    {"file then dir a/", {{"a", AE_IFREG}, {"a/", AE_IFDIR}}, -EPERM},
    {"file then symlink", {{"a", AE_IFREG}, {"a", AE_IFLNK, "/etc/passwd"}}, -EPERM},
    {"hard link to a symlink", {{"l", AE_IFLNK, "/etc/passwd"}, {"h", 0, "l"}}, -EPERM},
    {"dot", {{".", AE_IFLNK, "/"}}, -EPERM},
    {"inner ..", {{"a/../b", AE_IFREG}}, -EPERM},
    {"over max_entries", {{"a", AE_IFREG}, {"b", AE_IFREG}, {"c", AE_IFREG}}, -EFBIG},
};

static void list_find(void **state)
{
	struct generation g[3] = {{.seq = 2}, {.seq = 5, .valid = true}, {.seq = 9}};
	struct gen_list l = {.g = g, .n = 3};

	(void)state;
	assert_ptr_equal(gen_list_find(&l, 5), &g[1]);
	assert_ptr_equal(gen_list_find(&l, 9), &g[2]); /* invalid ones too */
	assert_null(gen_list_find(&l, 3));
	assert_null(gen_list_find(&(struct gen_list){0}, 2));
}

static void check_in_memory(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		static char buf[64 * 1024];
		size_t used = 0;
		struct archive *w = archive_write_new(), *r = archive_read_new();
		struct restore_limits lim = {1 << 20, streq(check_cases[i].what, "over max_entries") ? 2 : 100};

		archive_write_set_format_pax(w);
		assert_int_equal(archive_write_open_memory(w, buf, sizeof(buf), &used), ARCHIVE_OK);
		for (const struct ent *e = check_cases[i].e; e < check_cases[i].e + 4 && e->name; e++) {
			struct archive_entry *ae = archive_entry_new();
			archive_entry_copy_pathname(ae, e->name);
			archive_entry_set_filetype(ae, e->type ? e->type : AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			if (e->type == AE_IFLNK)
				archive_entry_copy_symlink(ae, e->link);
			else if (!e->type)
				archive_entry_copy_hardlink(ae, e->link);
			assert_true(archive_write_header(w, ae) >= ARCHIVE_WARN);
			archive_entry_free(ae);
		}
		assert_int_equal(archive_write_close(w), ARCHIVE_OK);
		archive_write_free(w);
		archive_read_support_format_tar(r);
		assert_int_equal(archive_read_open_memory(r, buf, used), ARCHIVE_OK);
		int got = restore_check_archive(r, &lim);
		if (got != check_cases[i].want)
			fail_msg("%s: got %d (%s), want %d", check_cases[i].what, got, abur_errmsg(got),
				 check_cases[i].want);
		archive_read_free(r);
		abur_fail_clear();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(digest_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(digest_ignores_mtime, setup, teardown),
	    cmocka_unit_test_setup_teardown(digest_sees_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(cache_trusted_only_on_same_stat, setup, teardown),
	    cmocka_unit_test_setup_teardown(cache_damage_costs_a_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(commit_numbers_and_sweep, setup, teardown),
	    cmocka_unit_test_setup_teardown(readers_block_removal, setup, teardown),
	    cmocka_unit_test_setup_teardown(seal_record_pins, setup, teardown),
	    cmocka_unit_test_setup_teardown(retention_keep_n, setup, teardown),
	    cmocka_unit_test(tag_names),
	    cmocka_unit_test_setup_teardown(tags_retention_forget, setup, teardown),
	    cmocka_unit_test_setup_teardown(forget_pin, setup, teardown),
	    cmocka_unit_test_setup_teardown(commit_same_as, setup, teardown),
	    cmocka_unit_test_setup_teardown(retention_pinned, setup, teardown),
	    cmocka_unit_test_setup_teardown(retention_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(commit_applies_retention, setup, teardown),
	    cmocka_unit_test_setup_teardown(space_planning, setup, teardown),
	    cmocka_unit_test_setup_teardown(verify_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(newest_passing, setup, teardown),
	    cmocka_unit_test_setup_teardown(payload_readers, setup, teardown),
	    cmocka_unit_test(list_find),
	    cmocka_unit_test(check_in_memory),
	};

	/* A private mount namespace for the tmpfs of the space test, entered
	 * while still single-threaded: as root directly, else in a user
	 * namespace if the kernel allows it. */
	real_root = getuid() == 0;
	if (real_root ? unshare(CLONE_NEWNS) == 0 : user_ns())
		have_ns = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	if (!have_ns)
		print_message("# no private mount namespace (%s): the space test will be skipped\n", strerror(errno));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
