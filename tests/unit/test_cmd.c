/* The subcommand table: every documented command is there, and commands
 * not in this build say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmd/cmd.h"
#include "core/json.h"
#include "core/osidx.h"
#include "core/sha256.h"

static void every_command_present(void **state)
{
	static const char *const names[] = {"backup", "list",   "status", "verify", "restore", "ls",    "diff",
					    "export", "forget", "prune",  "seal",   "reimage", "probe", "daemon",
					    "agent",  "flash",  "config", "help",   "version"};
	(void)state;
	assert_int_equal(cmd_count(), ARRAY_SIZE(names));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const struct cmd *c = cmd_find(names[i]);
		assert_non_null(c);
		assert_non_null(c->summary);
		assert_non_null(c->usage);
		assert_true(c->run || c->missing);
	}
	assert_null(cmd_find("nope"));
	assert_null(cmd_find(""));
	assert_null(cmd_at(cmd_count()));
}

/* abur ls/diff PATH: the path and everything under it, never a name it
 * begins; "/x/" is "x"; a PATH that selects nothing is named. */
static void path_filters(void **state)
{
	char a[] = "/etc/vms/cams/", b[] = "etc/vms/x.conf", *paths[] = {a, b};
	struct path_filter f;

	(void)state;
	filter_init(&f, paths, 2);
	assert_string_equal(paths[0], "etc/vms/cams");
	assert_true(filter_match(&f, "etc/vms/cams"));
	assert_true(filter_match(&f, "etc/vms/cams/cam7.conf"));
	assert_false(filter_match(&f, "etc/vms/cams.d"));
	assert_false(filter_match(&f, "etc/vms"));
	assert_string_equal(filter_missed(&f), "etc/vms/x.conf");
	assert_true(filter_match(&f, "etc/vms/x.conf"));
	assert_null(filter_missed(&f));
	filter_free(&f);
	filter_init(&f, NULL, 0);
	assert_true(filter_match(&f, "anything"));
	filter_free(&f);
}

static void mode_strings(void **state)
{
	struct osidx_ent e = {.type = OSIDX_FILE, .mode = 04755};
	char m[11];

	(void)state;
	assert_string_equal(entry_mode(&e, m), "-rwsr-xr-x");
	e = (struct osidx_ent){.type = OSIDX_DIR, .mode = 01777};
	assert_string_equal(entry_mode(&e, m), "drwxrwxrwt");
	e = (struct osidx_ent){.type = OSIDX_HARDLINK, .mode = 02640};
	assert_string_equal(entry_mode(&e, m), "hrw-r-S---");
	e = (struct osidx_ent){.type = OSIDX_SYMLINK, .mode = 0777};
	assert_string_equal(entry_mode(&e, m), "lrwxrwxrwx");
	assert_string_equal(entry_type_name(OSIDX_SYMLINK), "symlink");
}

static void names_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < cmd_count(); i++)
		for (size_t j = i + 1; j < cmd_count(); j++)
			assert_string_not_equal(cmd_at(i)->name, cmd_at(j)->name);
}

static void help_mentions_missing(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cmd fake = {"x", "do x", "[ARG]", NULL, "the x feature"};
	(void)state;
	cmd_print_help(&fake, f);
	fclose(f);
	assert_non_null(strstr(buf, "usage: abur [GLOBAL OPTIONS] x [ARG]"));
	assert_non_null(strstr(buf, "Not available in this build: needs the x feature"));
	free(buf);
}

static void config_check_runs(void **state)
{
	(void)state;
	assert_non_null(cmd_find("config")->run);
	assert_non_null(cmd_find("version")->run);
}

static void sha256_vectors(void **state)
{
	char hex[SHA256_HEX_LEN];
	struct sha256 s;
	(void)state;
	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	{
		/* one million 'a' in uneven pieces, to exercise the block buffer */
		static const size_t pieces[] = {1, 63, 64, 65, 127, 1000};
		char a[1000];
		size_t left = 1000000, k = 0;
		memset(a, 'a', sizeof(a));
		sha256_init(&s);
		while (left) {
			size_t n = pieces[k++ % ARRAY_SIZE(pieces)];
			n = n < left ? n : left;
			sha256_update(&s, a, n);
			left -= n;
		}
		sha256_final_hex(&s, hex);
		assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* The accelerated and the portable block functions agree on every length. */
static void sha256_paths_agree(void **state)
{
	static uint8_t data[4096];
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];
	uint32_t x = 12345;
	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)((x = x * 1103515245 + 12345) >> 16);
	if (!sha256_accelerated())
		print_message("no SHA extensions on this CPU: comparing the portable code with itself\n");
	for (size_t n = 0; n <= sizeof(data); n += n < 200 ? 1 : 61) {
		sha256_force_generic(false);
		sha256_hex(data, n, a);
		sha256_force_generic(true);
		sha256_hex(data, n, b);
		sha256_force_generic(false);
		if (strcmp(a, b) != 0)
			fail_msg("length %zu: %s != %s", n, a, b);
	}
}

/* What fn writes on stdout, into buf. */
static void capture_stdout(void (*fn)(void), char *buf, size_t n)
{
	FILE *f = tmpfile();
	int saved = dup(STDOUT_FILENO);
	size_t got;

	assert_non_null(f);
	fflush(stdout);
	assert_int_not_equal(dup2(fileno(f), STDOUT_FILENO), -1);
	fn();
	fflush(stdout);
	assert_int_not_equal(dup2(saved, STDOUT_FILENO), -1);
	close(saved);
	rewind(f);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
}

static void half_document(void)
{
	struct ctx ctx = {.json = true};
	struct json j;

	cmd_json_begin(&j, "list");
	json_arr_begin(&j, "generations");
	json_obj_begin(&j, NULL);
	json_uint(&j, "generation", 1);
	assert_int_equal(cmd_error(abur_fail(-EBADMSG, "g000002 is damaged"), "list"), EXIT_FAIL);
	assert_int_equal(cmd_json_exit(&ctx, "list", EXIT_FAIL), EXIT_FAIL);
}

static void whole_document(void)
{
	struct ctx ctx = {.json = true};
	struct json j;

	cmd_json_begin(&j, "status");
	cmd_json_end(&j);
	(void)cmd_error(abur_fail(-ENOENT, "no store"), "cannot open the flash store");
	assert_int_equal(cmd_json_exit(&ctx, "status", EXIT_AT_RISK), EXIT_AT_RISK);
}

/* --json: a document a failure leaves open never reaches stdout, the
 * error object (the exit status, the reported text) is the one line; a
 * whole document is the one line even with a failure reported and a
 * non-zero status. */
static void json_one_document(void **state)
{
	char buf[512];

	(void)state;
	capture_stdout(half_document, buf, sizeof(buf));
	assert_string_equal(buf, "{\"schema\":1,\"command\":\"list\",\"error\":\"corrupt\",\"code\":1,"
				 "\"message\":\"list: g000002 is damaged\"}\n");
	capture_stdout(whole_document, buf, sizeof(buf));
	assert_string_equal(buf, "{\"schema\":1,\"command\":\"status\"}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_command_present), cmocka_unit_test(names_unique),
	    cmocka_unit_test(help_mentions_missing), cmocka_unit_test(config_check_runs),
	    cmocka_unit_test(sha256_vectors),        cmocka_unit_test(sha256_paths_agree),
	    cmocka_unit_test(path_filters),          cmocka_unit_test(mode_strings),
	    cmocka_unit_test(json_one_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
