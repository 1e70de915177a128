/* The os scanner on a real directory tree: every type, hard links marked
 * in path order, a second scan against the first reads no content, and
 * each kind of change (content, mode, xattr, a new link) is seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "image/osscan.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
	FILE *f = fopen(p, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *at(const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/abur-osscan.XXXXXX");
	assert_non_null(mkdtemp(root));
	_cleanup_free_ char *d = at("etc"), *d2 = at("var"), *d3 = at("var/log");
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	assert_int_equal(mkdir(d3, 0755), 0);
	put("etc/a.conf", "alpha\n");
	put("etc/b.conf", "beta\n");
	put("var/log/x.log", "log\n");
	_cleanup_free_ char *a = at("etc/a.conf"), *hl = at("etc/z-link"), *sl = at("etc/sym");
	assert_int_equal(link(a, hl), 0);
	assert_int_equal(symlink("a.conf", sl), 0);
	_cleanup_free_ char *fifo = at("etc/fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static bool skip_log(void *arg, const char *sys)
{
	(void)arg;
	return streq(sys, "/var/log");
}

static void scan(const struct osidx *ref, struct osidx *out, struct osidx *skipped, struct osscan_stats *st)
{
	struct osscan_opts o = {.root = root, .sysprefix = "/", .skip = skip_log, .ref = ref, .racy_ns = 1};

	assert_int_equal(osscan_run(&o, out, skipped, st), 0);
}

static void types_and_links(void **state)
{
	struct osidx x, sk = {0};
	struct osscan_stats st;
	(void)state;

	scan(NULL, &x, &sk, &st);
	const struct osidx_ent *a = osidx_find(&x, "etc/a.conf"), *z = osidx_find(&x, "etc/z-link");
	const struct osidx_ent *s = osidx_find(&x, "etc/sym");
	assert_non_null(a);
	assert_non_null(z);
	assert_non_null(s);
	assert_int_equal(a->type, OSIDX_FILE);
	assert_int_equal(z->type, OSIDX_HARDLINK); /* the later path in strcmp order */
	assert_string_equal(z->target, "etc/a.conf");
	assert_int_equal(s->type, OSIDX_SYMLINK);
	assert_string_equal(s->target, "a.conf");
	assert_null(osidx_find(&x, "etc/fifo")); /* special files are left out */
	assert_null(osidx_find(&x, "var/log"));  /* excluded */
	assert_null(osidx_find(&x, "var/log/x.log"));
	assert_true(osscan_under(&sk, "var/log/x.log"));
	assert_false(osscan_under(&sk, "var/logs"));
	assert_int_equal(st.hashed, 2); /* a.conf and b.conf; the link is not read twice */
	/* The index formats and parses back. */
	size_t len;
	_cleanup_free_ char *text = osidx_format(&x, &len);
	struct osidx y;
	assert_int_equal(osidx_parse(text, len, &y), 0);
	assert_int_equal(y.n, x.n);
	osidx_free(&y);
	osidx_free(&x);
	osidx_free(&sk);
}

static void unchanged_reads_nothing(void **state)
{
	struct osidx x, y;
	struct osscan_stats st;
	(void)state;

	scan(NULL, &x, NULL, &st);
	scan(&x, &y, NULL, &st);
	assert_int_equal(st.hashed, 0);
	assert_int_equal(st.hashed_bytes, 0);
	assert_int_equal(x.n, y.n);
	for (size_t i = 0; i < x.n; i++)
		assert_true(osidx_same_restored(&x.e[i], &y.e[i]));
	osidx_free(&x);
	osidx_free(&y);
}

static void changes_are_seen(void **state)
{
	struct osidx x, y;
	struct osscan_stats st;
	(void)state;

	scan(NULL, &x, NULL, &st);
	put("etc/b.conf", "BETA\n"); /* same size, new content */
	_cleanup_free_ char *a = at("etc/a.conf");
	assert_int_equal(chmod(a, 0600), 0);
	scan(&x, &y, NULL, &st);
	const struct osidx_ent *b0 = osidx_find(&x, "etc/b.conf"), *b1 = osidx_find(&y, "etc/b.conf");
	assert_string_not_equal(b0->sha, b1->sha);
	const struct osidx_ent *a1 = osidx_find(&y, "etc/a.conf");
	assert_int_equal(a1->mode, 0600);
	assert_string_equal(a1->sha, osidx_find(&x, "etc/a.conf")->sha); /* content unchanged */
	assert_int_equal(st.hashed, 2);                                  /* b (content), a (ctime moved) */
	if (lsetxattr(a, "user.abur", "1", 1, 0) == 0) {
		struct osidx z;
		scan(&y, &z, NULL, &st);
		assert_string_not_equal(osidx_find(&z, "etc/a.conf")->meta, a1->meta);
		osidx_free(&z);
	}
	osidx_free(&x);
	osidx_free(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(types_and_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(unchanged_reads_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(changes_are_seen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
