/* Update states from scans: every rule of osdiff_state() on small indexes
 * (added, changed, metadata only, deleted, skipped, reverted, content found
 * in the previous state, hard links relinked), and the overlay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "image/osdiff.h"

static void sha_of(char c, char out[SHA256_HEX_LEN])
{
	memset(out, c, SHA256_HEX_LEN - 1);
	out[SHA256_HEX_LEN - 1] = '\0';
}

static struct osidx_ent *file(struct osidx *x, const char *path, char sha, uint32_t mode)
{
	struct osidx_ent *e = osidx_add(x, path);

	e->op = OSIDX_SAME;
	e->type = OSIDX_FILE;
	e->mode = mode;
	e->size = 10;
	e->mtime_ns = 1000;
	e->nlink = 1;
	sha_of(sha, e->sha);
	return e;
}

static void dir(struct osidx *x, const char *path)
{
	struct osidx_ent *e = osidx_add(x, path);

	e->op = OSIDX_SAME;
	e->type = OSIDX_DIR;
	e->mode = 0755;
}

static void hlink(struct osidx *x, const char *path, const char *target)
{
	struct osidx_ent *e = osidx_add(x, path);

	e->op = OSIDX_SAME;
	e->type = OSIDX_HARDLINK;
	e->mode = 0644;
	e->target = xstrdup(target);
}

/* base: a, b, d/, d/x, l -> a (hard link), v/ (skipped later), v/y */
static void base_index(struct osidx *x)
{
	memset(x, 0, sizeof(*x));
	file(x, "a", '1', 0644)->nlink = 2;
	file(x, "b", '2', 0644);
	dir(x, "d");
	file(x, "d/x", '3', 0644);
	hlink(x, "l", "a");
	dir(x, "v");
	file(x, "v/y", '6', 0644);
	assert_int_equal(osidx_sort(x), 0);
}

static void skipped_set(struct osidx *s)
{
	memset(s, 0, sizeof(*s));
	osidx_add(s, "v")->op = OSIDX_SAME;
}

static const struct osidx_ent *in(const struct osidx *x, const char *path)
{
	return osidx_find(x, path);
}

/* cur: a new content, b chmod, d/x gone, n new, l still -> a, v not looked at */
static void night_one(struct osidx *cur)
{
	memset(cur, 0, sizeof(*cur));
	file(cur, "a", '4', 0644)->nlink = 2;
	file(cur, "b", '2', 0600);
	dir(cur, "d");
	file(cur, "n", '5', 0755);
	hlink(cur, "l", "a");
	assert_int_equal(osidx_sort(cur), 0);
}

static void first_night(void **state)
{
	struct osidx base, cur, sk, st;
	struct osdiff_stats s;
	(void)state;

	base_index(&base);
	night_one(&cur);
	skipped_set(&sk);
	assert_int_equal(osdiff_state(&base, NULL, &cur, &sk, 9, &st, &s), 0);
	assert_int_equal(st.kind, OSIDX_STATE);
	assert_int_equal(in(&st, "a")->op, OSIDX_ADD);
	assert_int_equal(in(&st, "a")->ref, 9);
	assert_string_equal(in(&st, "a")->ref_name, "a");
	assert_int_equal(in(&st, "b")->op, OSIDX_META);
	assert_int_equal(in(&st, "b")->ref, 0);
	assert_int_equal(in(&st, "d/x")->op, OSIDX_DEL);
	assert_int_equal(in(&st, "n")->op, OSIDX_ADD);
	/* l is unchanged, but a becomes a new inode at restore: l is relinked */
	assert_int_equal(in(&st, "l")->op, OSIDX_ADD);
	assert_int_equal(in(&st, "l")->type, OSIDX_HARDLINK);
	assert_null(in(&st, "d"));   /* as in the base */
	assert_null(in(&st, "v/y")); /* not looked at: not gone */
	assert_int_equal(s.added, 1);
	assert_int_equal(s.changed, 2); /* a, and l relinked */
	assert_int_equal(s.metadata, 1);
	assert_int_equal(s.deleted, 1);
	assert_int_equal(s.new_files, 2);
	assert_int_equal(s.new_bytes, 20);
	/* It survives its own text format. */
	size_t len;
	_cleanup_free_ char *text = osidx_format(&st, &len);
	struct osidx back;
	assert_int_equal(osidx_parse(text, len, &back), 0);
	assert_true(osdiff_same_state(&st, &back));
	osidx_free(&back);
	osidx_free(&base);
	osidx_free(&cur);
	osidx_free(&sk);
	osidx_free(&st);
}

static void second_night_reuses_content(void **state)
{
	struct osidx base, cur, sk, prev, st;
	struct osdiff_stats s;
	(void)state;

	base_index(&base);
	night_one(&cur);
	skipped_set(&sk);
	assert_int_equal(osdiff_state(&base, NULL, &cur, &sk, 9, &prev, &s), 0);
	/* The same tree again: the same state, nothing new to store. */
	assert_int_equal(osdiff_state(&base, &prev, &cur, &sk, 12, &st, &s), 0);
	assert_true(osdiff_same_state(&prev, &st));
	assert_int_equal(s.new_files, 0);
	assert_int_equal(in(&st, "n")->ref, 9);
	size_t n;
	_cleanup_free_ uint64_t *refs = osdiff_refs(&st, &n);
	assert_int_equal(n, 1);
	assert_int_equal(refs[0], 9);
	osidx_free(&st);
	/* n copied to m (same content), a changed back to the base's: m refers
	 * to night 9's content, a leaves the state (and l with it). */
	osidx_free(&cur);
	memset(&cur, 0, sizeof(cur));
	file(&cur, "a", '1', 0644)->nlink = 2;
	file(&cur, "b", '2', 0600);
	dir(&cur, "d");
	file(&cur, "m", '5', 0755);
	file(&cur, "n", '5', 0755);
	hlink(&cur, "l", "a");
	assert_int_equal(osidx_sort(&cur), 0);
	assert_int_equal(osdiff_state(&base, &prev, &cur, &sk, 12, &st, &s), 0);
	assert_null(in(&st, "a"));
	assert_null(in(&st, "l"));
	assert_int_equal(in(&st, "m")->ref, 9);
	assert_string_equal(in(&st, "m")->ref_name, "n");
	assert_int_equal(s.new_files, 0);
	assert_false(osdiff_same_state(&prev, &st));
	osidx_free(&st);
	osidx_free(&prev);
	osidx_free(&base);
	osidx_free(&cur);
	osidx_free(&sk);
}

static void overlay(void **state)
{
	struct osidx base, cur, sk, st, ov;
	struct osdiff_stats s;
	(void)state;

	base_index(&base);
	night_one(&cur);
	skipped_set(&sk);
	assert_int_equal(osdiff_state(&base, NULL, &cur, &sk, 9, &st, &s), 0);
	osdiff_overlay(&base, &st, &ov);
	/* base + state = what the capture saw, plus what it did not look at */
	assert_null(in(&ov, "d/x"));
	assert_non_null(in(&ov, "v/y"));
	assert_int_equal(in(&ov, "b")->mode, 0600);
	assert_string_equal(in(&ov, "n")->sha, in(&cur, "n")->sha);
	for (size_t i = 1; i < ov.n; i++)
		assert_true(strcmp(ov.e[i - 1].path, ov.e[i].path) < 0);
	osidx_free(&ov);
	osdiff_overlay(&base, NULL, &ov);
	assert_int_equal(ov.n, base.n);
	osidx_free(&ov);
	osidx_free(&st);
	osidx_free(&base);
	osidx_free(&cur);
	osidx_free(&sk);
}

static void type_change(void **state)
{
	struct osidx base, cur, st;
	struct osdiff_stats s;
	(void)state;

	base_index(&base);
	memset(&cur, 0, sizeof(cur));
	file(&cur, "a", '1', 0644)->nlink = 2;
	file(&cur, "b", '2', 0644);
	file(&cur, "d", '7', 0644); /* the directory d is a file now */
	hlink(&cur, "l", "a");
	dir(&cur, "v");
	file(&cur, "v/y", '6', 0644);
	assert_int_equal(osidx_sort(&cur), 0);
	assert_int_equal(osdiff_state(&base, NULL, &cur, NULL, 3, &st, &s), 0);
	assert_int_equal(in(&st, "d")->op, OSIDX_ADD);
	assert_int_equal(in(&st, "d")->type, OSIDX_FILE);
	assert_int_equal(in(&st, "d/x")->op, OSIDX_DEL);
	assert_int_equal(st.n, 2);
	osidx_free(&st);
	osidx_free(&base);
	osidx_free(&cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(first_night),
	    cmocka_unit_test(second_night_reuses_content),
	    cmocka_unit_test(overlay),
	    cmocka_unit_test(type_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
