/* Generation manifests: format -> parse round trip, and every malformed
 * input is -EINVAL without crashing (the store treats that generation as
 * invalid). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "store/store.h"

#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define HEX_C "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A manifest with everything: two sources, two payloads, extras. */
static void full_manifest(struct manifest *m)
{
	static const char *const sources[] = {"/etc/vms", "/opt/vms/etc"};

	memset(m, 0, sizeof(*m));
	m->component = xstrdup("config");
	m->seq = 42;
	m->parent = 41;
	m->trigger = xstrdup("nightly");
	m->time = 1795323089;
	m->content_digest = xstrdup(HEX_A);
	m->tool_version = xstrdup("abur 1.2.3");
	m->pinned = true;
	m->sources = xcalloc(2, sizeof(char *));
	for (size_t i = 0; i < 2; i++)
		m->sources[m->nsources++] = xstrdup(sources[i]);
	m->payloads = xcalloc(2, sizeof(*m->payloads));
	m->payloads[0] = (struct payload_info){.name = xstrdup("data.tar.zst"), .size = 12345};
	memcpy(m->payloads[0].sha256, HEX_B, SHA256_HEX_LEN);
	m->payloads[1] = (struct payload_info){.name = xstrdup("disk.tar.zst"), .size = 0};
	memcpy(m->payloads[1].sha256, HEX_C, SHA256_HEX_LEN);
	m->npayloads = 2;
	manifest_add_extra(m, "disk_serial", "S3Z9NB0K123456");
	manifest_add_extra(m, "required_size", "64424509440");
}

static char *full_text(void)
{
	struct manifest m;
	char *text;

	full_manifest(&m);
	text = manifest_format(&m);
	manifest_clear(&m);
	return text;
}

/* A minimal valid manifest in the shape the store writes, for edits. */
static const char minimal[] = "[generation]\nformat = 1\ncomponent = license\nseq = 7\nparent = 0\n"
			      "trigger = manual\ntime = 100\ncontent_digest = " HEX_A "\ntool = abur t\n"
			      "pinned = no\n\n[sources]\npath = /etc/vms/license.lic\n\n"
			      "[payload data.tar.zst]\nsize = 10\nsha256 = " HEX_B "\n\n[end]\n";

static int parse_str(const char *text)
{
	struct manifest m;
	int r = manifest_parse(text, strlen(text), &m);

	manifest_clear(&m);
	return r;
}

/* text with the first occurrence of `from` replaced by `to`, parsed. */
static int parse_edited(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	_cleanup_free_ char *edited = NULL;

	if (!at)
		fail_msg("'%s' not in the manifest", from);
	edited = xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return parse_str(edited);
}

static void round_trip(void **state)
{
	struct manifest in, out;
	_cleanup_free_ char *text = NULL, *again = NULL;
	(void)state;

	full_manifest(&in);
	text = manifest_format(&in);
	assert_non_null(text);
	assert_int_equal(manifest_parse(text, strlen(text), &out), 0);
	assert_string_equal(out.component, "config");
	assert_int_equal(out.seq, 42);
	assert_int_equal(out.parent, 41);
	assert_string_equal(out.trigger, "nightly");
	assert_int_equal(out.time, 1795323089);
	assert_string_equal(out.content_digest, HEX_A);
	assert_string_equal(out.tool_version, "abur 1.2.3");
	assert_true(out.pinned);
	assert_int_equal(out.nsources, 2);
	assert_string_equal(out.sources[0], "/etc/vms");
	assert_string_equal(out.sources[1], "/opt/vms/etc");
	assert_int_equal(out.npayloads, 2);
	assert_string_equal(out.payloads[0].name, "data.tar.zst");
	assert_int_equal(out.payloads[0].size, 12345);
	assert_string_equal(out.payloads[0].sha256, HEX_B);
	assert_string_equal(out.payloads[1].name, "disk.tar.zst");
	assert_int_equal(out.payloads[1].size, 0);
	assert_string_equal(out.payloads[1].sha256, HEX_C);
	assert_int_equal(out.nextra, 2);
	assert_string_equal(manifest_extra(&out, "disk_serial"), "S3Z9NB0K123456");
	assert_string_equal(manifest_extra(&out, "required_size"), "64424509440");
	assert_null(manifest_extra(&out, "nope"));
	/* Formatting what was parsed gives the same text. */
	again = manifest_format(&out);
	assert_string_equal(again, text);
	manifest_clear(&in);
	manifest_clear(&out);
	assert_null(out.component);
	assert_int_equal(out.npayloads, 0);
}

static void round_trip_minimal(void **state)
{
	struct manifest in, out;
	_cleanup_free_ char *text = NULL;
	(void)state;

	full_manifest(&in);
	for (size_t i = 0; i < in.nsources; i++)
		free(in.sources[i]);
	in.nsources = 0;
	for (size_t i = 0; i < in.nextra; i++) {
		free(in.extra_keys[i]);
		free(in.extra_vals[i]);
	}
	in.nextra = 0;
	free(in.payloads[1].name);
	in.npayloads = 1;
	in.pinned = false;
	in.parent = 0;
	text = manifest_format(&in);
	assert_int_equal(manifest_parse(text, strlen(text), &out), 0);
	assert_int_equal(out.nsources, 0);
	assert_int_equal(out.nextra, 0);
	assert_int_equal(out.npayloads, 1);
	assert_false(out.pinned);
	assert_int_equal(out.parent, 0);
	manifest_clear(&in);
	manifest_clear(&out);
	assert_int_equal(parse_str(minimal), 0);
}

/* Every proper prefix of a valid manifest is refused: a manifest cut at a
 * line boundary must not pass for a complete one with fewer payloads or
 * extras. */
static void truncated_everywhere(void **state)
{
	_cleanup_free_ char *text = full_text();
	size_t len = strlen(text);
	struct manifest m;
	(void)state;

	assert_int_equal(manifest_parse(text, len, &m), 0);
	manifest_clear(&m);
	for (size_t n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so ASan sees any read past it. */
		char *cut = xmalloc(n ? n : 1);
		memcpy(cut, text, n);
		int r = manifest_parse(cut, n, &m);
		free(cut);
		if (r != -EINVAL)
			fail_msg("truncated at %zu of %zu bytes: got %d, wanted -EINVAL", n, len, r);
		assert_null(m.component);
		assert_int_equal(m.npayloads, 0);
	}
}

static void oversized(void **state)
{
	size_t big = STORE_MANIFEST_MAX + 1, n = strlen(minimal);
	char *text = xmalloc(big);
	struct manifest m;
	(void)state;

	/* A valid manifest followed by comment lines up to the limit. */
	memcpy(text, minimal, n);
	for (size_t i = n; i < big; i++)
		text[i] = (i - n) % 80 == 79 ? '\n' : ';';
	text[STORE_MANIFEST_MAX - 1] = '\n';
	text[big - 1] = '\n';
	/* Exactly at the limit it parses: only the size is wrong below. */
	assert_int_equal(manifest_parse(text, STORE_MANIFEST_MAX, &m), 0);
	manifest_clear(&m);
	assert_int_equal(manifest_parse(text, big, &m), -EINVAL);
	assert_non_null(strstr(abur_errmsg(-EINVAL), "larger than"));
	assert_null(m.component);
	free(text);
}

/* Flip, zero or replace every byte in turn: never a crash, never a leak
 * (ASan), and whatever parses still holds its required fields. */
static void garbled(void **state)
{
	_cleanup_free_ char *text = full_text();
	size_t len = strlen(text);
	static const char subst[] = {'\0', '\n', '[', ']', '=', ' ', 'x', '\x80', '\xff', ';'};
	unsigned accepted = 0;
	(void)state;

	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(subst) + 1; k++) {
			char *t = xmalloc(len);
			struct manifest m;
			memcpy(t, text, len);
			t[i] = k < sizeof(subst) ? subst[k] : (char)(t[i] ^ 0x20);
			if (t[i] == text[i]) {
				free(t);
				continue;
			}
			int r = manifest_parse(t, len, &m);
			free(t);
			if (r == 0) {
				/* Only harmless edits may pass (e.g. in a comment or a free-form value). */
				accepted++;
				assert_non_null(m.component);
				assert_non_null(m.trigger);
				assert_non_null(m.content_digest);
				assert_true(m.npayloads > 0);
				assert_true(m.seq > 0);
			} else {
				assert_int_equal(r, -EINVAL);
				assert_null(m.component);
			}
			manifest_clear(&m);
		}
	}
	print_message("# %u of %zu single-byte edits still parse\n", accepted, len * (sizeof(subst) + 1));
}

static void nul_bytes(void **state)
{
	char text[sizeof(minimal)];
	const char *at = strstr(minimal, "trigger = manual");
	(void)state;

	memcpy(text, minimal, sizeof(minimal));
	/* A NUL inside a value: the value must not silently end there. */
	text[at - minimal + 13] = '\0';
	assert_int_equal(manifest_parse(text, sizeof(minimal) - 1, &(struct manifest){0}), -EINVAL);
	/* A NUL on a line of its own. */
	memcpy(text, minimal, sizeof(minimal));
	text[strstr(minimal, "\n\n[sources]") - minimal + 1] = '\0';
	assert_int_equal(manifest_parse(text, sizeof(minimal) - 1, &(struct manifest){0}), -EINVAL);
}

static void unknown_section_or_key(void **state)
{
	(void)state;
	assert_int_equal(parse_edited(minimal, "[sources]", "[sorces]"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[sources]", "[payload]"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "pinned = no", "pinned = no\ncolour = blue"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "path = ", "paths = "), -EINVAL);
	assert_int_equal(parse_edited(minimal, "size = 10", "size = 10\nmtime = 3"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[generation]\n", "stray = 1\n[generation]\n"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[end]\n", "[end]\n[extra]\nk = v\n"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[end]\n", "[end]\nk = v\n"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "format = 1", "format = 2"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[sources]", "sources"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[sources]", "[sources"), -EINVAL);
	/* Found by fuzz_manifest: an empty [extra] key is formatted as " = v",
	 * which reads back as a continuation of the key before it. */
	assert_int_equal(parse_edited(minimal, "[end]\n", "[extra]\nk = v\n= w\n[end]\n"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[end]\n", "[extra]\nk = v\n[end]\n"), 0);
	/* and a continuation line (added to the key before it, its " ; x" kept) */
	assert_int_equal(parse_edited(minimal, "[end]\n", "[extra]\nk = v\n  w ; x\n[end]\n"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "[end]\n", "[extra]\nk = v\n \t\n[end]\n"), 0);
}

static void missing_required(void **state)
{
	static const char *const lines[] = {
	    "format = 1\n",
	    "component = license\n",
	    "seq = 7\n",
	    "trigger = manual\n",
	    "time = 100\n",
	    "content_digest = " HEX_A "\n",
	    "tool = abur t\n",
	    "sha256 = " HEX_B "\n",
	    "[payload data.tar.zst]\nsize = 10\nsha256 = " HEX_B "\n",
	    "[end]\n",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		if (parse_edited(minimal, lines[i], "") != -EINVAL)
			fail_msg("accepted without: %s", lines[i]);
	/* Optional ones may go. */
	assert_int_equal(parse_edited(minimal, "parent = 0\n", ""), 0);
	assert_int_equal(parse_edited(minimal, "pinned = no\n", ""), 0);
	assert_int_equal(parse_edited(minimal, "path = /etc/vms/license.lic\n", ""), 0);
}

static void bad_hex(void **state)
{
	(void)state;
	assert_int_equal(parse_edited(minimal, "sha256 = " HEX_B, "sha256 = " HEX_B "0"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "sha256 = f", "sha256 = "), -EINVAL);
	assert_int_equal(parse_edited(minimal, "sha256 = f", "sha256 = g"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "sha256 = f", "sha256 = F"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "sha256 = " HEX_B, "sha256 = "), -EINVAL);
	assert_int_equal(parse_edited(minimal, "content_digest = 0", "content_digest = x"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "content_digest = " HEX_A, "content_digest = 0123"), -EINVAL);
}

static void bad_numbers(void **state)
{
	static const char *const seqs[] = {"seq = 0",   "seq = -7",  "seq = 7x",
					   "seq = ",    "seq = 0x7", "seq = 99999999999999999999999",
					   "seq = 1e3", "seq = 7 7"};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(seqs); i++)
		if (parse_edited(minimal, "seq = 7", seqs[i]) != -EINVAL)
			fail_msg("accepted %s", seqs[i]);
	assert_int_equal(parse_edited(minimal, "size = 10", "size = -1"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "size = 10", "size = ten"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "size = 10", "size = 18446744073709551616"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "time = 100", "time = yesterday"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "time = 100", "time = -5"), -EINVAL);
	/* Found by fuzz_manifest: manifest_format() (gmtime_r) crashed on it. */
	assert_int_equal(parse_edited(minimal, "time = 100", "time = 4611686018427387903"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "time = 100", "time = 253402300800"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "time = 100", "time = 253402300799"), 0);
	assert_int_equal(parse_edited(minimal, "parent = 0", "parent = none"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "pinned = no", "pinned = maybe"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "format = 1", "format = one"), -EINVAL);
}

static void duplicates(void **state)
{
	(void)state;
	assert_int_equal(
	    parse_edited(minimal, "[end]\n", "[payload data.tar.zst]\nsize = 10\nsha256 = " HEX_B "\n[end]\n"),
	    -EINVAL);
	assert_int_equal(parse_edited(minimal, "seq = 7", "seq = 7\nseq = 8"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "time = 100", "time = 100\ntime = 200"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "component = license", "component = license\ncomponent = config"),
			 -EINVAL);
	assert_int_equal(parse_edited(minimal, "size = 10", "size = 10\nsize = 11"), -EINVAL);
	assert_int_equal(parse_edited(minimal, "sha256 = " HEX_B, "sha256 = " HEX_B "\nsha256 = " HEX_A), -EINVAL);
	/* A second [generation] header does not reset what was seen. */
	assert_int_equal(parse_edited(minimal, "[sources]", "[generation]\nseq = 8\n[sources]"), -EINVAL);
	/* Several sources are normal. */
	assert_int_equal(parse_edited(minimal, "path = ", "path = /a\npath = "), 0);
}

static void bad_payload_names(void **state)
{
	static const char *const names[] = {
	    "[payload ../data.tar.zst]",
	    "[payload a/b]",
	    "[payload /data.tar.zst]",
	    "[payload .hidden]",
	    "[payload ]",
	    "[payload a b]",
	    "[payload data.tar.zst\x01]",
	    "[payload p2.img-part_1.zst]",
	    "[payload data.tar.zst/]",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (parse_edited(minimal, "[payload data.tar.zst]", names[i]) != -EINVAL)
			fail_msg("accepted %s", names[i]);
	/* Only the names ABUR writes: a name off the flash becomes a path. */
	assert_int_equal(parse_edited(minimal, "[payload data.tar.zst]", "[payload disk.tar.zst]"), 0);
}

/* Every value off the flash is bounded before anything formats or uses it. */
static void out_of_range_values(void **state)
{
	static const struct {
		const char *from, *to;
	} bad_edits[] = {
	    {"time = 100", "time = 4611686018427387903"},
	    {"time = 100", "time = 253402300800"},
	    {"seq = 7", "seq = 1000000"},
	    {"parent = 0", "parent = 7"},
	    {"parent = 0", "parent = 1000000"},
	    {"size = 10", "size = 9223372036854775807"},
	};
	char buf[32];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad_edits); i++)
		if (parse_edited(minimal, bad_edits[i].from, bad_edits[i].to) != -EINVAL)
			fail_msg("accepted %s", bad_edits[i].to);
	assert_int_equal(parse_edited(minimal, "time = 100", "time = 253402300799"), 0);
	assert_int_equal(parse_edited(minimal, "seq = 7", "seq = 999999"), 0);
	/* fmt_time() is safe for any int64. */
	assert_string_equal(fmt_time(INT64_MAX, buf, sizeof(buf)), "(bad time)");
	assert_string_equal(fmt_time(INT64_MIN, buf, sizeof(buf)), "(bad time)");
	assert_string_equal(fmt_time(4611686018427387903LL, buf, sizeof(buf)), "(bad time)");
}

static void bad_shape(void **state)
{
	(void)state;
	/* Not a manifest at all. */
	assert_int_equal(parse_str(""), -EINVAL);
	assert_int_equal(parse_str("\n"), -EINVAL);
	assert_int_equal(parse_str("hello world\n"), -EINVAL);
	assert_int_equal(parse_str("[end]\n"), -EINVAL);
	/* No final newline. */
	assert_int_equal(manifest_parse(minimal, strlen(minimal) - 1, &(struct manifest){0}), -EINVAL);
	/* A line too long for the reader. */
	_cleanup_free_ char *longp = xasprintf("path = /%0400d", 0);
	assert_int_equal(parse_edited(minimal, "path = /etc/vms/license.lic", longp), -EINVAL);
	/* Continuation lines (leading white space) are not manifest syntax. */
	assert_int_equal(parse_edited(minimal, "trigger = manual\n", "trigger = manual\n  more\n"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(round_trip_minimal),
	    cmocka_unit_test(truncated_everywhere),
	    cmocka_unit_test(oversized),
	    cmocka_unit_test(garbled),
	    cmocka_unit_test(nul_bytes),
	    cmocka_unit_test(unknown_section_or_key),
	    cmocka_unit_test(missing_required),
	    cmocka_unit_test(bad_hex),
	    cmocka_unit_test(bad_numbers),
	    cmocka_unit_test(duplicates),
	    cmocka_unit_test(bad_payload_names),
	    cmocka_unit_test(out_of_range_values),
	    cmocka_unit_test(bad_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
