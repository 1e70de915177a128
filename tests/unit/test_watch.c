/* The recursive inotify watcher (against a real temp tree) and the
 * persisted daemon state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/config.h"
#include "watch/state.h"
#include "watch/watcher.h"

struct fixture {
	char dir[64];
	struct abur_config *cfg;
	struct watcher *w;
	char *skip[1];
};

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	_cleanup_free_ char *ini = NULL, *errors = NULL, *p = NULL;

	strcpy(fx->dir, "/tmp/abur-watch.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	p = xasprintf("%s/etc/vms", fx->dir);
	assert_int_equal(mkdir_p(p, 0755), 0);
	free(p);
	p = xasprintf("%s/etc/vms/license.lic", fx->dir);
	put(p, "key");
	ini = xasprintf("[daemon]\nstate_dir = %s/state\n"
			"[component license]\npaths = %s/etc/vms/license.lic\n"
			"[component config]\npaths = %s/etc/vms\nexclude = %s/etc/vms/license.lic *.swp\n"
			"[component later]\npaths = %s/later/dir\npolicy = change\n"
			"[component manual]\npaths = %s/manual\npolicy = manual\n",
			fx->dir, fx->dir, fx->dir, fx->dir, fx->dir, fx->dir);
	assert_int_equal(config_parse(ini, strlen(ini), "t.ini", &fx->cfg, &errors), 0);
	fx->skip[0] = xasprintf("%s/etc/vms/own", fx->dir);
	assert_int_equal(watcher_new(fx->cfg, (const char *const *)fx->skip, 1, &fx->w), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	watcher_free(fx->w);
	config_free(fx->cfg);
	assert_int_equal(rm_rf(fx->dir), 0);
	free(fx->skip[0]);
	free(fx);
	return 0;
}

/* Reads what is queued; changed[] by component index
 * (0 license, 1 config, 2 later, 3 manual). */
static void drain(struct fixture *fx, bool changed[4], bool *overflow)
{
	struct pollfd p = {.fd = watcher_fd(fx->w), .events = POLLIN};

	memset(changed, 0, 4 * sizeof(bool));
	*overflow = false;
	while (poll(&p, 1, 100) > 0)
		assert_int_equal(watcher_read(fx->w, changed, overflow), 0);
}

static void sh(struct fixture *fx, const char *fmt, ...) PRINTF(2, 3);
static void sh(struct fixture *fx, const char *fmt, ...)
{
	_cleanup_free_ char *inner = NULL, *cmd = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&inner, fmt, ap) > 0);
	va_end(ap);
	cmd = xasprintf("cd %s && %s", fx->dir, inner);
	assert_int_equal(system(cmd), 0);
}

static void edits_count_per_component(void **state)
{
	struct fixture *fx = *state;
	bool ch[4], of;

	sh(fx, "echo a > etc/vms/vms.conf");
	drain(fx, ch, &of);
	assert_false(ch[0]);
	assert_true(ch[1]);
	assert_false(of);
	/* write-to-temp-and-rename over the license */
	sh(fx, "echo k2 > etc/vms/.lic.tmp && mv etc/vms/.lic.tmp etc/vms/license.lic");
	drain(fx, ch, &of);
	assert_true(ch[0]);
	/* excluded by pattern: no change */
	sh(fx, "echo x > etc/vms/notes.swp");
	drain(fx, ch, &of);
	assert_false(ch[0]);
	assert_false(ch[1]);
	/* our own files (skip list): nothing */
	sh(fx, "mkdir etc/vms/own && echo s > etc/vms/own/state");
	drain(fx, ch, &of);
	assert_false(ch[1]);
}

static void new_directories_are_watched(void **state)
{
	struct fixture *fx = *state;
	bool ch[4], of;
	size_t before = watcher_count(fx->w);

	sh(fx, "mkdir -p etc/vms/a/b/c");
	drain(fx, ch, &of);
	assert_true(ch[1]);
	sh(fx, "echo deep > etc/vms/a/b/c/f");
	drain(fx, ch, &of);
	assert_true(ch[1]);
	assert_true(watcher_count(fx->w) > before);
	/* moved out: no longer reported, watches dropped */
	sh(fx, "mv etc/vms/a %s/../outside-$$ || true", fx->dir);
	drain(fx, ch, &of);
	assert_true(ch[1]); /* the move itself is a change */
	assert_int_equal(watcher_count(fx->w), before);
	sh(fx, "rm -rf %s/../outside-*", fx->dir);
}

static void path_that_appears_later(void **state)
{
	struct fixture *fx = *state;
	bool ch[4], of;

	sh(fx, "mkdir -p later/dir/x");
	drain(fx, ch, &of);
	assert_true(ch[2]);
	sh(fx, "echo 1 > later/dir/x/f");
	drain(fx, ch, &of);
	assert_true(ch[2]);
	assert_false(ch[1]);
	/* manual components are never watched */
	sh(fx, "mkdir -p manual && echo m > manual/f");
	drain(fx, ch, &of);
	assert_false(ch[3]);
	assert_false(comp_watched(&fx->cfg->comps[3]));
}

static void rewatch_after_overflow(void **state)
{
	struct fixture *fx = *state;
	size_t before = watcher_count(fx->w);
	bool ch[4], of;

	assert_int_equal(watcher_rewatch(fx->w), 0);
	assert_int_equal(watcher_count(fx->w), before);
	sh(fx, "echo b > etc/vms/vms.conf");
	drain(fx, ch, &of);
	assert_true(ch[1]);
}

static void newest_mtime(void **state)
{
	struct fixture *fx = *state;

	sh(fx, "touch -d '2030-01-02 03:04:05 UTC' etc/vms/new.conf && touch -d '2031-01-01 UTC' etc/vms/x.swp");
	sh(fx, "touch -d '2020-01-01 UTC' etc/vms");
	/* The excluded *.swp file is newer but does not count. */
	assert_int_equal(comp_newest_mtime(&fx->cfg->comps[1]), 1893553445);
}

static void state_round_trip(void **state)
{
	struct fixture *fx = *state;
	_cleanup_free_ char *dir = xasprintf("%s/state", fx->dir);
	struct daemon_state st = {.last_slot = 1795392000, .deferrals = 2, .flash_missing = 1795390000, .pid = 42};
	struct daemon_state back;
	struct comp_state *cs;

	state_set_text(&st.defer_reason, "changed\nwithin the hour");
	cs = state_comp(&st, "config");
	cs->dirty = true;
	cs->last_change = 1795389000;
	cs->last_seq = 12;
	memset(cs->seen, 'a', SHA256_HEX_LEN - 1);
	state_set_text(&cs->result, "backed up as generation 12");
	assert_ptr_equal(state_comp(&st, "config"), cs);
	assert_int_equal(state_save(dir, &st), 0);
	assert_int_equal(state_load(dir, &back), 0);
	assert_int_equal(back.last_slot, st.last_slot);
	assert_int_equal(back.deferrals, 2);
	assert_int_equal(back.flash_missing, 1795390000);
	assert_int_equal(back.pid, 42);
	assert_string_equal(back.defer_reason, "changed within the hour");
	assert_int_equal(back.ncomps, 1);
	assert_true(back.comps[0].dirty);
	assert_int_equal(back.comps[0].last_change, 1795389000);
	assert_int_equal(back.comps[0].last_seq, 12);
	assert_string_equal(back.comps[0].seen, cs->seen);
	assert_string_equal(back.comps[0].result, "backed up as generation 12");
	assert_null(state_find(&back, "license"));
	state_free(&back);
	state_free(&st);
}

static void damaged_state_is_refused(void **state)
{
	struct fixture *fx = *state;
	_cleanup_free_ char *dir = xasprintf("%s/state2", fx->dir);
	_cleanup_free_ char *file = xasprintf("%s/%s", dir, STATE_FILE);
	struct daemon_state st;

	assert_int_equal(state_load(dir, &st), -ENOENT);
	assert_int_equal(mkdir_p(dir, 0755), 0);
	put(file, "last_slot 12\n[component c]\nlast_change yesterday\n");
	assert_int_equal(state_load(dir, &st), -EINVAL);
	assert_int_equal(st.ncomps, 0);
	put(file, "last_slot 12\nfuture_key whatever\n[component c]\nseen nothex\n");
	assert_int_equal(state_load(dir, &st), -EINVAL);
	put(file, "last_slot 12\nfuture_key whatever\n");
	assert_int_equal(state_load(dir, &st), 0); /* unknown keys are ignored */
	assert_int_equal(st.last_slot, 12);
	state_free(&st);
}

/* Every value is bounded by the parser, from memory (not NUL-terminated). */
static void state_values_are_bounded(void **state)
{
	static const char *const bad[] = {
	    "deferrals 4294967297\n",   /* wrapped to 1 before */
	    "deferrals 366\n",          /* max_deferrals is at most 365 */
	    "pid 99999999999\n",        /* beyond PID_MAX_LIMIT */
	    "last_slot 253402300800\n", /* past 9999-12-31 */
	    "last_slot -5\n",           /* negative */
	    "last_slot +5\n",           /* strtoll's sign */
	    "last_slot  5\n",           /* and its spaces */
	    "[component c]\ndirty 2\n", /* booleans are 0 or 1 */
	    "[component c]\nlast_seq 9223372036854775808\n",
	    "[component ../etc]\n",     /* not a component name */
	    "[component]\n",            /* no name */
	    "[generation]\n",           /* a foreign section */
	    "defer_reason a\x1b[2Jb\n", /* control characters */
	    "pid\n",                    /* no value */
	};
	struct daemon_state st;
	_cleanup_free_ char *many = NULL;
	char big[STATE_TEXT_MAX + 32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(state_parse(bad[i], strlen(bad[i]), &st), -EINVAL);
		assert_int_equal(st.ncomps, 0);
	}
	snprintf(big, sizeof(big), "defer_reason %0*d\n", STATE_TEXT_MAX + 1, 0);
	assert_int_equal(state_parse(big, strlen(big), &st), -EINVAL);
	for (int i = 0; i <= STATE_COMPS_MAX; i++) {
		char *t = xasprintf("%s[component c%d]\n", many ? many : "", i);
		free(many);
		many = t;
	}
	assert_int_equal(state_parse(many, strlen(many), &st), -EINVAL);
	/* The largest values that are allowed, and a length that stops early. */
	const char *ok = "last_slot 253402300799\ndeferrals 365\npid 4194304\n[component c]\ndirty 1\nlast_seq "
			 "9223372036854775807\npid 5";
	assert_int_equal(state_parse(ok, strlen(ok) - strlen("\npid 5"), &st), 0);
	assert_int_equal(st.last_slot, STATE_TIME_MAX);
	assert_int_equal(st.deferrals, 365);
	assert_int_equal(st.pid, STATE_PID_MAX);
	assert_int_equal(st.comps[0].last_seq, STATE_SEQ_MAX);
	state_free(&st);
}

/* What state_set_text() keeps always parses again: control characters
 * (from a file name in an error) become spaces, long text is cut. */
static void saved_text_parses_again(void **state)
{
	struct fixture *fx = *state;
	_cleanup_free_ char *dir = xasprintf("%s/state3", fx->dir);
	char big[STATE_TEXT_MAX * 2];
	struct daemon_state st = {0}, back;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	state_set_text(&state_comp(&st, "config")->result, "busy: /var/log/a\x1b[2J\tb");
	state_set_text(&st.defer_reason, big);
	assert_int_equal(state_save(dir, &st), 0);
	assert_int_equal(state_load(dir, &back), 0);
	assert_string_equal(back.comps[0].result, "busy: /var/log/a [2J b");
	assert_int_equal(strlen(back.defer_reason), STATE_TEXT_MAX);
	state_free(&back);
	state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(edits_count_per_component, setup, teardown),
	    cmocka_unit_test_setup_teardown(new_directories_are_watched, setup, teardown),
	    cmocka_unit_test_setup_teardown(path_that_appears_later, setup, teardown),
	    cmocka_unit_test_setup_teardown(rewatch_after_overflow, setup, teardown),
	    cmocka_unit_test_setup_teardown(newest_mtime, setup, teardown),
	    cmocka_unit_test_setup_teardown(state_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_state_is_refused, setup, teardown),
	    cmocka_unit_test(state_values_are_bounded),
	    cmocka_unit_test_setup_teardown(saved_text_parses_again, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
