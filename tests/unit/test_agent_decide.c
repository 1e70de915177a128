/* The boot agent's decision table: every row, then safety invariants over
 * every combination of inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "agent/decide.h"

#define AUTO MODE_AUTO
#define RESTORE MODE_RESTORE
#define SETTINGS MODE_RESTORE_SETTINGS
#define SEAL MODE_SEAL
#define VERIFY MODE_VERIFY
#define SHELL MODE_SHELL

struct row {
	enum agent_mode mode;
	enum store_state store;
	bool disk;
	enum disk_class cls;
	bool big;
	bool marker;
	unsigned attempts;
	enum confirm_state confirm;
	bool settings;
	enum agent_action want;
};

static const struct row rows[] = {
    /* mode     store        disk   class         big    marker att confirm          settings want */
    {SHELL, ST_MISSING, false, DISK_BLANK, false, false, 0, CONFIRM_NONE, false, ACT_SHELL},
    {AUTO, ST_MISSING, true, DISK_BLANK, true, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    {VERIFY, ST_MISSING, true, DISK_BLANK, true, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    {VERIFY, ST_NO_IMAGE, false, DISK_BLANK, false, false, 0, CONFIRM_NONE, false, ACT_VERIFY},
    {AUTO, ST_IMAGE_OK, false, DISK_BLANK, false, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    /* auto */
    {AUTO, ST_IMAGE_OK, true, DISK_BLANK, true, false, 0, CONFIRM_NONE, true, ACT_REIMAGE},
    {AUTO, ST_IMAGE_OK, true, DISK_BLANK, true, false, 2, CONFIRM_NONE, true, ACT_REIMAGE},
    {AUTO, ST_IMAGE_OK, true, DISK_BLANK, true, false, 3, CONFIRM_NONE, true, ACT_GIVE_UP},
    {AUTO, ST_IMAGE_OK, true, DISK_BLANK, false, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    {AUTO, ST_NO_IMAGE, true, DISK_BLANK, true, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    {AUTO, ST_IMAGE_OK, true, DISK_OURS, true, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    {AUTO, ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    {AUTO, ST_IMAGE_OK, true, DISK_FLASH, true, false, 0, CONFIRM_NONE, true, ACT_NOTHING},
    {AUTO, ST_IMAGE_OK, true, DISK_FOREIGN, true, true, 1, CONFIRM_NONE, true, ACT_REIMAGE}, /* resume */
    {AUTO, ST_IMAGE_OK, true, DISK_OURS, true, true, 2, CONFIRM_NONE, true, ACT_REIMAGE},    /* resume */
    {AUTO, ST_IMAGE_OK, true, DISK_FOREIGN, true, true, 3, CONFIRM_NONE, true, ACT_GIVE_UP},
    {AUTO, ST_NO_IMAGE, true, DISK_FOREIGN, true, true, 1, CONFIRM_NONE, true, ACT_NOTHING},
    {AUTO, ST_IMAGE_OK, true, DISK_FLASH, true, true, 1, CONFIRM_NONE, true, ACT_NOTHING},
    /* a confirmation on the command line does not make auto destructive */
    {AUTO, ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    /* restore */
    {RESTORE, ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0, CONFIRM_NONE, true, ACT_ASK},
    {RESTORE, ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0, CONFIRM_MATCH, true, ACT_REIMAGE},
    {RESTORE, ST_IMAGE_OK, true, DISK_OURS, true, false, 0, CONFIRM_MATCH, true, ACT_REIMAGE},
    {RESTORE, ST_IMAGE_OK, true, DISK_BLANK, true, false, 5, CONFIRM_MATCH, true, ACT_REIMAGE},
    {RESTORE, ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0, CONFIRM_MISMATCH, true, ACT_NOTHING},
    {RESTORE, ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0, CONFIRM_UNANSWERED, true, ACT_NOTHING},
    {RESTORE, ST_IMAGE_OK, true, DISK_BLANK, true, false, 0, CONFIRM_UNANSWERED, true, ACT_NOTHING},
    {RESTORE, ST_IMAGE_OK, true, DISK_FLASH, true, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    {RESTORE, ST_IMAGE_OK, true, DISK_BLANK, false, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    {RESTORE, ST_NO_IMAGE, true, DISK_BLANK, true, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    {RESTORE, ST_IMAGE_OK, false, DISK_BLANK, true, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    /* restore-settings */
    {SETTINGS, ST_IMAGE_OK, true, DISK_OURS, true, false, 0, CONFIRM_NONE, true, ACT_ASK},
    {SETTINGS, ST_NO_IMAGE, true, DISK_OURS, true, false, 0, CONFIRM_MATCH, true, ACT_RESTORE_SETTINGS},
    {SETTINGS, ST_IMAGE_OK, true, DISK_OURS, true, false, 0, CONFIRM_MISMATCH, true, ACT_NOTHING},
    {SETTINGS, ST_IMAGE_OK, true, DISK_OURS, true, false, 0, CONFIRM_MATCH, false, ACT_NOTHING},
    {SETTINGS, ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    {SETTINGS, ST_IMAGE_OK, true, DISK_BLANK, true, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    {SETTINGS, ST_IMAGE_OK, true, DISK_FLASH, true, false, 0, CONFIRM_MATCH, true, ACT_NOTHING},
    /* seal */
    {SEAL, ST_NO_IMAGE, true, DISK_FOREIGN, true, false, 0, CONFIRM_NONE, false, ACT_ASK},
    {SEAL, ST_NO_IMAGE, true, DISK_FOREIGN, true, false, 0, CONFIRM_MATCH, false, ACT_SEAL},
    {SEAL, ST_IMAGE_OK, true, DISK_OURS, true, false, 0, CONFIRM_MATCH, true, ACT_SEAL},
    {SEAL, ST_IMAGE_OK, true, DISK_OURS, true, false, 0, CONFIRM_MISMATCH, true, ACT_NOTHING},
    {SEAL, ST_NO_IMAGE, true, DISK_BLANK, true, false, 0, CONFIRM_MATCH, false, ACT_NOTHING},
    {SEAL, ST_NO_IMAGE, true, DISK_FLASH, true, false, 0, CONFIRM_MATCH, false, ACT_NOTHING},
    {SEAL, ST_MISSING, true, DISK_FOREIGN, true, false, 0, CONFIRM_MATCH, false, ACT_NOTHING},
};

static struct agent_facts facts(const struct row *r)
{
	return (struct agent_facts){r->mode,   r->store,    r->disk,    r->cls,     r->big,
				    r->marker, r->attempts, r->confirm, r->settings};
}

static void table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct agent_facts f = facts(&rows[i]);
		struct agent_decision d = agent_decide(&f);
		if (d.action != rows[i].want)
			fail_msg("row %zu (%s): got %s (%s), want %s", i, agent_mode_name(rows[i].mode),
				 agent_action_name(d.action), d.reason, agent_action_name(rows[i].want));
		assert_non_null(d.reason);
	}
}

static bool destructive(enum agent_action a)
{
	return a == ACT_REIMAGE || a == ACT_RESTORE_SETTINGS || a == ACT_SEAL;
}

/* Over every combination: the flash is never written; nothing destructive
 * without a store; in technician modes only the right serial acts; auto touches a non-blank disk
 * only to resume its own interrupted reimage; technician modes act only
 * when confirmed. */
static void invariants(void **state)
{
	unsigned n = 0;
	(void)state;
	for (int m = MODE_AUTO; m <= MODE_SHELL; m++)
		for (int st = ST_MISSING; st <= ST_IMAGE_OK; st++)
			for (int cls = DISK_BLANK; cls <= DISK_FLASH; cls++)
				for (int bits = 0; bits < 16; bits++)
					for (int att = 0; att <= 4; att++)
						for (int c = CONFIRM_NONE; c <= CONFIRM_UNANSWERED; c++) {
							struct agent_facts f = {m,        st,       bits & 1,      cls,
										bits & 2, bits & 4, (unsigned)att, c,
										bits & 8};
							struct agent_decision d = agent_decide(&f);
							n++;
							assert_non_null(d.reason);
							if (!destructive(d.action))
								continue;
							assert_true(f.disk);
							assert_int_not_equal(cls, DISK_FLASH);
							assert_int_not_equal(st, ST_MISSING);
							if (d.action == ACT_REIMAGE) {
								assert_int_equal(st, ST_IMAGE_OK);
								assert_true(f.big_enough || f.marker);
							}
							if (m == MODE_AUTO) {
								assert_int_equal(d.action, ACT_REIMAGE);
								assert_true(cls == DISK_BLANK || f.marker);
								assert_true(att < AGENT_MAX_ATTEMPTS);
							} else {
								assert_int_equal(c, CONFIRM_MATCH);
							}
						}
	assert_int_equal(n, 6 * 3 * 4 * 16 * 5 * 4);
}

/* Nothing typed at the prompt is said as such, not as a wrong serial. */
static void unanswered(void **state)
{
	struct agent_facts f = {MODE_RESTORE,       ST_IMAGE_OK, true, DISK_FOREIGN, true, false, 0,
				CONFIRM_UNANSWERED, true};
	struct agent_decision d = agent_decide(&f);

	(void)state;
	assert_int_equal(d.action, ACT_NOTHING);
	assert_string_equal(d.reason, "no serial was typed: nothing done");
	f.confirm = CONFIRM_MISMATCH;
	assert_non_null(strstr(agent_decide(&f).reason, "does not match"));
}

static void modes(void **state)
{
	enum agent_mode m;
	(void)state;
	assert_int_equal(agent_mode_parse("restore-settings", &m), 0);
	assert_int_equal(m, MODE_RESTORE_SETTINGS);
	assert_string_equal(agent_mode_name(MODE_SEAL), "seal");
	assert_int_equal(agent_mode_parse("format-everything", &m), -EINVAL);
	assert_int_equal(agent_mode_parse("", &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table),
	    cmocka_unit_test(invariants),
	    cmocka_unit_test(modes),
	    cmocka_unit_test(unanswered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
