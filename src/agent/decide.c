#include "decide.h"

static const char *const mode_names[] = {"auto", "restore", "restore-settings", "seal", "verify", "shell"};

int agent_mode_parse(const char *s, enum agent_mode *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++) {
		if (streq(s, mode_names[i])) {
			*m = (enum agent_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *agent_mode_name(enum agent_mode m)
{
	return mode_names[m];
}

const char *agent_action_name(enum agent_action a)
{
	static const char *const names[] = {"nothing", "reimage", "restore-settings", "seal", "verify",
					    "shell",   "ask",     "give-up"};
	return names[a];
}

static struct agent_decision d(enum agent_action a, const char *why)
{
	return (struct agent_decision){a, why};
}

/* A technician's destructive choice: run it when confirmed, ask otherwise. */
static struct agent_decision confirmed(const struct agent_facts *f, enum agent_action a, const char *why)
{
	if (f->confirm == CONFIRM_MISMATCH)
		return d(ACT_NOTHING, "the serial given does not match the disk in the slot: nothing done");
	if (f->confirm == CONFIRM_UNANSWERED)
		return d(ACT_NOTHING, "no serial was typed: nothing done");
	return f->confirm == CONFIRM_MATCH ? d(a, why) : d(ACT_ASK, why);
}

static struct agent_decision decide_auto(const struct agent_facts *f)
{
	if (f->attempts >= AGENT_MAX_ATTEMPTS)
		return d(ACT_GIVE_UP, "automatic recovery failed 3 times on this disk: call a technician");
	if (f->marker && f->store == ST_IMAGE_OK && f->cls != DISK_FLASH)
		return d(ACT_REIMAGE, "an interrupted reimage of this disk is resumed");
	switch (f->cls) {
	case DISK_FLASH:
		return d(ACT_NOTHING, "the system-disk slot holds a flash device: never written");
	case DISK_OURS:
		return d(ACT_NOTHING, "the system disk holds the sealed system: not touched automatically");
	case DISK_FOREIGN:
		return d(ACT_NOTHING, "the system disk holds data that is not ours: not touched automatically");
	case DISK_BLANK:
		break;
	}
	if (f->store == ST_NO_IMAGE)
		return d(ACT_NOTHING, "the flash holds no OS image that verifies");
	if (!f->big_enough)
		return d(ACT_NOTHING, "the blank disk is smaller than the sealed OS image needs");
	return d(ACT_REIMAGE, "a blank disk sits in the system-disk slot: reimaging it");
}

struct agent_decision agent_decide(const struct agent_facts *f)
{
	if (f->mode == MODE_SHELL)
		return d(ACT_SHELL, "rescue shell requested");
	if (f->store == ST_MISSING)
		return d(ACT_NOTHING, "the flash store (ABUR-STORE) was not found");
	if (f->mode == MODE_VERIFY)
		return d(ACT_VERIFY, "verifying every generation on the flash");
	if (!f->disk)
		return d(ACT_NOTHING, "no disk in the system-disk slot");
	switch (f->mode) {
	case MODE_AUTO:
		return decide_auto(f);
	case MODE_RESTORE:
		if (f->cls == DISK_FLASH)
			return d(ACT_NOTHING, "the system-disk slot holds a flash device: never written");
		if (f->store == ST_NO_IMAGE)
			return d(ACT_NOTHING, "the flash holds no OS image that verifies");
		if (!f->big_enough)
			return d(ACT_NOTHING, "the disk is smaller than the sealed OS image needs");
		return confirmed(f, ACT_REIMAGE, "restore the whole system disk from the flash");
	case MODE_RESTORE_SETTINGS:
		if (f->cls != DISK_OURS)
			return d(ACT_NOTHING,
				 "the system disk does not hold the sealed system: restore it whole instead");
		if (!f->have_settings)
			return d(ACT_NOTHING, "the flash holds no license or config backup");
		return confirmed(f, ACT_RESTORE_SETTINGS, "restore the license and configuration only");
	case MODE_SEAL:
		if (f->cls == DISK_FLASH || f->cls == DISK_BLANK)
			return d(ACT_NOTHING, "nothing to seal: the system-disk slot holds no installed system");
		return confirmed(f, ACT_SEAL, "seal this system disk as the factory image");
	default:
		return d(ACT_NOTHING, "unknown mode");
	}
}
