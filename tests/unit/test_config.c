#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"

static struct abur_config *cfg;
static char *errors;

static int parse(const char *text)
{
	config_free(cfg);
	free(errors);
	cfg = NULL;
	errors = NULL;
	return config_parse(text, strlen(text), "t.ini", &cfg, &errors);
}

static int teardown(void **state)
{
	(void)state;
	config_free(cfg);
	free(errors);
	cfg = NULL;
	errors = NULL;
	return 0;
}

/* Asserts that parsing fails and that the errors contain `want`. */
static void expect_error(const char *text, const char *want)
{
	assert_int_equal(parse(text), -EINVAL);
	assert_null(cfg);
	assert_non_null(errors);
	if (!strstr(errors, want))
		fail_msg("wanted \"%s\" in:\n%s", want, errors);
}

static void valid_board_file(void **state)
{
	const struct abur_component *c;
	(void)state;
	assert_int_equal(parse("[flash]\nstore = LABEL=ABUR-STORE\n"
			       "[schedule]\nnightly = 23:30\ndefer_if_changed_within = 90m\nmax_deferrals = 2\n"
			       "[component config]\npaths = /etc/vms /etc/other\nexclude = /etc/vms/license.lic\n"
			       "policy = change\nquiet = 45s\nkeep = 3\n"
			       "[component os]\ntype = disk\npolicy = manual\n"),
			 0);
	assert_string_equal(cfg->flash.store, "LABEL=ABUR-STORE");
	assert_int_equal(cfg->schedule.nightly, 23 * 60 + 30);
	assert_int_equal(cfg->schedule.defer_within, 5400);
	assert_int_equal(cfg->schedule.max_deferrals, 2);
	assert_int_equal(cfg->ncomps, 2);
	c = config_component(cfg, "config");
	assert_non_null(c);
	assert_int_equal(c->npaths, 2);
	assert_string_equal(c->paths[1], "/etc/other");
	assert_int_equal(c->policy, POLICY_CHANGE);
	assert_int_equal(c->quiet, 45);
	assert_int_equal(c->keep, 3);
	assert_true(component_excludes(c, "/etc/vms/license.lic"));
	assert_false(component_excludes(c, "/etc/vms/recorder.ini"));
	assert_int_equal(config_component(cfg, "os")->type, COMP_DISK);
}

/* comptype.c:comp_type_table[]: every row complete and consistent, names
 * unique, each read from and written to abur.ini, and component_is()
 * answering from the component's row. */
static void comp_type_table(void **state)
{
	size_t n;
	const struct comp_type_info *t = comp_types(&n);
	(void)state;

	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i].name && t[i].name[0]);
		assert_ptr_equal(comp_type_info((enum comp_type)i), &t[i]);
		assert_string_equal(comp_type_name((enum comp_type)i), t[i].name);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(t[k].name, t[i].name);
		/* a file tree or the disk image, never both; watched means paths */
		assert_true(!(t[i].flags & CT_FILE_TREE) != !(t[i].flags & CT_DISK_IMAGE));
		assert_true(!(t[i].flags & CT_WATCHED) || (t[i].flags & CT_FILE_TREE));
		assert_string_equal(comp_type_names[i], t[i].name);
		char *text = xasprintf("[component x]\ntype = %s\n%s", t[i].name,
				       t[i].flags & CT_FILE_TREE ? "paths = /etc/x\n" : "");
		assert_int_equal(parse(text), 0);
		free(text);
		assert_int_equal(config_component(cfg, "x")->type, i);
		char *out = NULL, *want = xasprintf("type = %s\n", t[i].name);
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		config_print(cfg, f);
		fclose(f);
		assert_non_null(strstr(out, want));
		free(out), free(want);
	}
	expect_error("[component x]\ntype = tree\npaths = /x\n", "type = tree: expected files or disk");
	assert_int_equal(parse("[component config]\npaths = /etc/vms\n[component os]\ntype = disk\n"), 0);
	const struct abur_component *files = config_component(cfg, "config"), *disk = config_component(cfg, "os");
	assert_true(component_is(files, CT_FILE_TREE) && component_is(files, CT_WATCHED));
	assert_false(component_is(files, CT_DISK_IMAGE));
	assert_true(component_is(disk, CT_DISK_IMAGE));
	assert_false(component_is(disk, CT_FILE_TREE) || component_is(disk, CT_WATCHED));
}

static void defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("; nothing but a comment\n"), 0);
	assert_int_equal(cfg->schedule.nightly, 0);
	assert_int_equal(cfg->schedule.defer_within, 3600);
	assert_string_equal(cfg->disk.system, "auto");
	assert_int_equal(cfg->ncomps, 0);
}

static void unknown_key(void **state)
{
	(void)state;
	expect_error("[schedule]\nnightly = 00:00\nfoo = 1\n", "t.ini:3: unknown key 'foo' in [schedule]");
	expect_error("[component c]\npaths = /a\npath = /b\n", "t.ini:3: unknown key 'path' in [component c]");
}

static void bad_duration(void **state)
{
	(void)state;
	expect_error("[schedule]\n\ndefer_if_changed_within = 60x\n",
		     "t.ini:3: defer_if_changed_within = 60x: bad duration");
	expect_error("[component c]\npaths = /a\npolicy = change\nquiet = soon\n",
		     "t.ini:4: quiet = soon: bad duration");
}

static void bad_time(void **state)
{
	(void)state;
	expect_error("[schedule]\nnightly = 24:00\n", "t.ini:2: nightly = 24:00: bad time (expected HH:MM");
	expect_error("[schedule]\nnightly = midnight\n", "t.ini:2: nightly = midnight: bad time");
}

static void missing_paths(void **state)
{
	(void)state;
	expect_error("[flash]\nstore = /x\n\n[component config]\npolicy = nightly\n",
		     "t.ini:4: component 'config' has no 'paths'");
}

static void duplicate_component(void **state)
{
	(void)state;
	expect_error("[component a]\npaths = /a\n[component b]\npaths = /b\n[component a]\npaths = /c\n",
		     "t.ini:5: duplicate component 'a' (first defined at line 1)");
}

static void out_of_range(void **state)
{
	(void)state;
	expect_error("[component a]\npaths = /a\nkeep = 0\n", "t.ini:3: keep = 0: out of range (1..1000)");
	expect_error("[schedule]\nmax_deferrals = 1000\n", "t.ini:2: max_deferrals = 1000: out of range");
	expect_error("[schedule]\ndefer_if_changed_within = 2d\n",
		     "t.ini:2: defer_if_changed_within = 2d: out of range");
	expect_error("[daemon]\nevent_log_max = 1\n", "t.ini:2: event_log_max = 1: out of range");
}

static void other_errors(void **state)
{
	(void)state;
	expect_error("[bogus]\nx = 1\n", "t.ini:1: unknown section [bogus]");
	/* a key before any section header is an error, not ignored */
	expect_error("store = /dev/sdb2\n[flash]\nmount = /mnt\n", "t.ini:1: 'store' before any [section]");
	expect_error("[schedule]\nthis is not a key\n", "t.ini:2: expected '[section]' or 'key = value'");
	expect_error("[schedule\nnightly = 00:00\n", "t.ini:1: section header without ']'");
	expect_error("[component a]\npaths = relative/path\n",
		     "t.ini:1: component 'a': path 'relative/path' must be absolute");
	expect_error("[component a]\npaths = /a\npolicy = sometimes\n",
		     "t.ini:3: policy = sometimes: expected nightly, change or manual");
	expect_error("[disk]\ngrow_last_partition = perhaps\n",
		     "t.ini:2: grow_last_partition = perhaps: expected yes or no");
	expect_error("[schedule]\nnightly = 00:00\nnightly = 01:00\n",
		     "t.ini:3: duplicate key 'nightly' in [schedule] (first at line 2)");
	expect_error("[component]\npaths = /a\n", "t.ini:1: [component] needs a name");
	expect_error("[component Bad!]\n", "bad component name 'Bad!'");
	expect_error("[component os]\ntype = disk\npaths = /x\npolicy = manual\n", "type = disk and takes no 'paths'");
	expect_error("[daemon]\nstate_dir = var/lib\n", "t.ini:2: state_dir = var/lib: expected an absolute path");
}

/* Found by fuzz_config: an empty value left the key NULL, and `abur list`
 * crashed on "mount =" (store, event_log, ... likewise). */
static void empty_values(void **state)
{
	static const char *const keys[] = {"[flash]\nstore", "[flash]\nboot",       "[flash]\nmount",
					   "[disk]\nsystem", "[daemon]\nstate_dir", "[daemon]\nevent_log"};
	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "%s =\n", keys[i]);
		expect_error(text, "t.ini:2:");
		assert_non_null(strstr(errors, "is empty: expected a value"));
	}
	assert_int_equal(parse("[daemon]\nmetrics =\n"), 0);
	assert_null(cfg->daemon.metrics);
}

/* Found by fuzz_config: paths given on several lines were printed on one
 * line too long to read back. */
static void long_list_prints_back(void **state)
{
	char text[1024] = "[component c]\n", *out = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;
	for (int i = 0; i < 4; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "paths = /%060d/%d\n", i, i);
	assert_int_equal(parse(text), 0);
	assert_int_equal(cfg->comps[0].npaths, 4);
	f = open_memstream(&out, &len);
	config_print(cfg, f);
	fclose(f);
	assert_int_equal(parse(out), 0);
	assert_int_equal(cfg->comps[0].npaths, 4);
	free(out);
	/* and a list item must not start with a space the reader strips */
	assert_int_equal(parse("[component c]\npaths = /a\v/b,\f/c\n"), 0);
	assert_int_equal(cfg->comps[0].npaths, 3);
	assert_string_equal(cfg->comps[0].paths[2], "/c");
	/* a continuation line's inline comment is a comment too */
	assert_int_equal(parse("[component c]\npaths = /a ; one\n  /b ; the cache\n"), 0);
	assert_int_equal(cfg->comps[0].npaths, 2);
	assert_string_equal(cfg->comps[0].paths[1], "/b");
}

static void long_line_and_nul(void **state)
{
	char text[400];
	(void)state;
	memset(text, 'a', sizeof(text));
	memcpy(text, "[flash]\nstore = ", 16);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	expect_error(text, "t.ini:2: line too long");
	free(errors);
	errors = NULL;
	assert_int_equal(config_parse("[flash]\nst\0re = x\n", 19, "t.ini", &cfg, &errors), -EINVAL);
	assert_non_null(strstr(errors, "t.ini:2: NUL byte"));
}

static void several_errors_all_reported(void **state)
{
	(void)state;
	expect_error("[schedule]\nnightly = 25:00\nfoo = 1\n", "t.ini:2:");
	assert_non_null(strstr(errors, "t.ini:3: unknown key 'foo'"));
}

static void load_missing_file(void **state)
{
	(void)state;
	assert_true(config_load("/nonexistent/abur.ini", &cfg, &errors) < 0);
	assert_non_null(strstr(errors, "/nonexistent/abur.ini"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(valid_board_file, teardown),
	    cmocka_unit_test_teardown(defaults, teardown),
	    cmocka_unit_test_teardown(comp_type_table, teardown),
	    cmocka_unit_test_teardown(unknown_key, teardown),
	    cmocka_unit_test_teardown(bad_duration, teardown),
	    cmocka_unit_test_teardown(bad_time, teardown),
	    cmocka_unit_test_teardown(missing_paths, teardown),
	    cmocka_unit_test_teardown(duplicate_component, teardown),
	    cmocka_unit_test_teardown(out_of_range, teardown),
	    cmocka_unit_test_teardown(other_errors, teardown),
	    cmocka_unit_test_teardown(empty_values, teardown),
	    cmocka_unit_test_teardown(long_list_prints_back, teardown),
	    cmocka_unit_test_teardown(long_line_and_nul, teardown),
	    cmocka_unit_test_teardown(several_errors_all_reported, teardown),
	    cmocka_unit_test_teardown(load_missing_file, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
