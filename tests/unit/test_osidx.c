/* The os index format: format -> parse round trip with every field and
 * every escape, and each malformed input refused with -EINVAL (the text
 * comes from the flash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/osidx.h"

#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void file_ent(struct osidx *x, const char *path, char op)
{
	struct osidx_ent *e = osidx_add(x, path);

	e->op = op;
	e->type = OSIDX_FILE;
	e->mode = 0755;
	e->uid = 1000;
	e->gid = 4294967295u;
	e->size = 123456789012ull;
	e->mtime_ns = -5; /* before 1970 */
	e->ctime_ns = 1795323089123456789ll;
	e->ino = 18446744073709551615ull;
	e->nlink = 2;
	e->racy = true;
	memcpy(e->sha, HEX_A, SHA256_HEX_LEN);
	memcpy(e->meta, HEX_B, SHA256_HEX_LEN);
	if (op == OSIDX_ADD) {
		e->ref = 12;
		e->ref_name = xstrdup("usr/bin/tab\there");
		e->xattrs = xstrdup("7365637572697479=01");
		e->acl = xstrdup("user::rwx\ngroup::r-x\nother::r-x\n");
	}
}

static void build_state(struct osidx *x)
{
	memset(x, 0, sizeof(*x));
	x->kind = OSIDX_STATE;
	file_ent(x, "usr/bin/tab\there", OSIDX_ADD);
	file_ent(x, "etc/new\nline", OSIDX_META);
	struct osidx_ent *l = osidx_add(x, "-");
	l->op = OSIDX_ADD;
	l->type = OSIDX_SYMLINK;
	l->mode = 0777;
	l->target = xstrdup("-");
	memcpy(l->sha, HEX_B, SHA256_HEX_LEN);
	struct osidx_ent *h = osidx_add(x, "opt/back\\slash \x01\x7f\xff");
	h->op = OSIDX_ADD;
	h->type = OSIDX_HARDLINK;
	h->target = xstrdup("usr/bin/tab\there");
	struct osidx_ent *d = osidx_add(x, "var/gone");
	d->op = OSIDX_DEL;
	d->type = OSIDX_DIR;
	assert_int_equal(osidx_sort(x), 0);
}

static void assert_same_ent(const struct osidx_ent *a, const struct osidx_ent *b)
{
	assert_string_equal(a->path, b->path);
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->type, b->type);
	assert_true(osidx_same_stat(a, b));
	assert_true(osidx_same_restored(a, b));
	assert_int_equal(a->racy, b->racy);
	assert_int_equal(a->ref, b->ref);
	const char *sa[] = {a->ref_name, a->target, a->xattrs, a->acl};
	const char *sb[] = {b->ref_name, b->target, b->xattrs, b->acl};
	for (size_t i = 0; i < ARRAY_SIZE(sa); i++) {
		if (!sa[i])
			assert_null(sb[i]);
		else
			assert_string_equal(sa[i], sb[i]);
	}
}

static void round_trip(void **state)
{
	struct osidx x, y;
	size_t len;
	(void)state;

	build_state(&x);
	_cleanup_free_ char *text = osidx_format(&x, &len);
	assert_int_equal(osidx_parse(text, len, &y), 0);
	assert_int_equal(y.kind, OSIDX_STATE);
	assert_int_equal(y.n, x.n);
	for (size_t i = 0; i < x.n; i++)
		assert_same_ent(&x.e[i], &y.e[i]);
	/* Formatting what was parsed gives the same text. */
	size_t len2;
	_cleanup_free_ char *again = osidx_format(&y, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(text, again, len);
	assert_non_null(osidx_find(&y, "-"));
	assert_non_null(osidx_find(&y, "var/gone"));
	assert_null(osidx_find(&y, "var"));
	osidx_free(&x);
	osidx_free(&y);
}

static int parse_str(const char *s)
{
	struct osidx x;
	int r = osidx_parse(s, strlen(s), &x);

	if (r == 0)
		osidx_free(&x);
	return r;
}

#define ADD_LINE(path) "+\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t3\tx\t-\t-\t-\t" path "\n"
#define BASE_LINE(path) "=\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\t" path "\n"

static void good_minimal(void **state)
{
	(void)state;
	assert_int_equal(parse_str("abur-osidx 1 base\n"), 0);
	assert_int_equal(parse_str("abur-osidx 1 base\n" BASE_LINE("a") BASE_LINE("a/b")), 0);
	assert_int_equal(parse_str("abur-osidx 1 state\n" ADD_LINE("etc/x")), 0);
}

static void bad_header(void **state)
{
	(void)state;
	assert_int_equal(parse_str(""), -EINVAL);
	assert_int_equal(parse_str("abur-osidx 1 base"), -EINVAL); /* no newline */
	assert_int_equal(parse_str("abur-osidx 2 base\n"), -EPROTO);
	assert_int_equal(parse_str("abur-osidx 1 other\n"), -EINVAL);
	assert_int_equal(parse_str("abur-osidy 1 base\n"), -EINVAL);
	assert_int_equal(parse_str("abur-osidx 1 base extra\n"), -EINVAL);
}

static void bad_paths(void **state)
{
	static const char *const paths[] = {"/abs", "a//b", "a/./b", "a/../b", "..",
					    "./a",  "a/.",  "a/",    "\\x00a", "\\q"};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		_cleanup_free_ char *t = xasprintf("abur-osidx 1 base\n" BASE_LINE("%s"), paths[i]);
		assert_int_equal(parse_str(t), -EINVAL);
	}
	/* Order: sorted, no duplicates. */
	assert_int_equal(parse_str("abur-osidx 1 base\n" BASE_LINE("b") BASE_LINE("a")), -EINVAL);
	assert_int_equal(parse_str("abur-osidx 1 base\n" BASE_LINE("a") BASE_LINE("a")), -EINVAL);
}

static void bad_fields(void **state)
{
	static const char *const lines[] = {
	    /* mode out of range, negative size, huge nlink, racy 2, short hash, upper-case hash */
	    "=\tf\t17777\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t-1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1\t0\t0\t1\t4294967296\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1\t0\t0\t1\t1\t2\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t0123\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\t-\t-"
	    "\t-\t-"
	    "\t-\t-\ta\n",
	    /* time overflow, trailing junk, too few and too many fields */
	    "=\tf\t644\t0\t0\t1\t99999999999999999999\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1x\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\tb\n",
	    /* unknown type, op not allowed in a base, file without hash, symlink without target */
	    "=\tz\t644\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    "+\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t3\tx\t-\t-\t-\ta\n",
	    "=\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t-\t-\t-\t-\t-\t-\t-\ta\n",
	    "=\tl\t777\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n",
	    /* a directory that names a generation, a hard link to an absolute path */
	    "=\td\t755\t0\t0\t0\t0\t0\t1\t1\t0\t-\t-\t3\t-\t-\t-\t-\ta\n",
	    "=\th\t644\t0\t0\t0\t0\t0\t1\t1\t0\t-\t-\t-\t-\t/etc/passwd\t-\t-\ta\n",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		_cleanup_free_ char *t = xasprintf("abur-osidx 1 base\n%s", lines[i]);
		print_message("line %zu\n", i);
		assert_int_equal(parse_str(t), -EINVAL);
	}
	/* An added file must say where its content is. */
	assert_int_equal(parse_str("abur-osidx 1 state\n"
				   "+\tf\t644\t0\t0\t1\t0\t0\t1\t1\t0\t" HEX_A "\t-\t-\t-\t-\t-\t-\ta\n"),
			 -EINVAL);
	/* A NUL byte anywhere. */
	assert_int_equal(osidx_parse("abur-osidx 1 base\n\0", 19, &(struct osidx){0}), -EINVAL);
}

/* Every prefix of a valid index either parses (it ends at a line end) or
 * is refused; none crashes. */
static void truncated_everywhere(void **state)
{
	struct osidx x, y;
	size_t len;
	(void)state;

	build_state(&x);
	_cleanup_free_ char *text = osidx_format(&x, &len);
	for (size_t n = 0; n < len; n++) {
		int r = osidx_parse(text, n, &y);
		if (r == 0)
			osidx_free(&y);
		else
			assert_int_equal(r, -EINVAL);
		assert_true(r != 0 || n == 0 || text[n - 1] == '\n');
	}
	osidx_free(&x);
}

static void sort_and_duplicates(void **state)
{
	struct osidx x = {.kind = OSIDX_BASE};
	(void)state;

	osidx_add(&x, "b");
	osidx_add(&x, "a/b");
	osidx_add(&x, "a");
	osidx_add(&x, "a.b");
	assert_int_equal(osidx_sort(&x), 0);
	assert_string_equal(x.e[0].path, "a");
	assert_string_equal(x.e[1].path, "a.b"); /* strcmp order, not walk order */
	assert_string_equal(x.e[2].path, "a/b");
	osidx_add(&x, "a");
	assert_int_equal(osidx_sort(&x), -EINVAL);
	osidx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),          cmocka_unit_test(good_minimal),
	    cmocka_unit_test(bad_header),          cmocka_unit_test(bad_paths),
	    cmocka_unit_test(bad_fields),          cmocka_unit_test(truncated_everywhere),
	    cmocka_unit_test(sort_and_duplicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
