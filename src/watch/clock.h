/* The daemon's clock: one absolute timer on the realtime clock, and word
 * of anything that moves the wall clock under it.
 *
 * Production: a timerfd on CLOCK_REALTIME armed with TFD_TIMER_ABSTIME |
 * TFD_TIMER_CANCEL_ON_SET, so both the timer expiring and the clock being
 * set make it readable; plus inotify on /etc for localtime and timezone
 * being replaced (tzset() is called then).  Nothing polls: between events
 * the daemon sleeps in poll() with no timeout.
 *
 * Tests: ABUR_TEST_CLOCK=FILE makes the number of epoch seconds in FILE the
 * realtime clock.  The daemon watches FILE with inotify; every rewrite is
 * handled like the clock being set (re-plan at the new time), so a test can
 * drive a whole night in seconds.  Only tests set it. */
#ifndef ABUR_CLOCK_H
#define ABUR_CLOCK_H

#include <time.h>

#include "core/util.h"

#define CLOCK_ENV "ABUR_TEST_CLOCK"

struct dclock {
	int timer_fd; /* -1 with a fake clock */
	int sys_fd;   /* inotify: /etc (time zone) and the fake clock's directory */
	int etc_wd, fake_wd;
	char *fake_path; /* NULL: the real clock */
	const char *fake_name;
	time_t fake_now;
	time_t armed;
};

/* 0 or -errno. Reads CLOCK_ENV from the environment. */
int dclock_init(struct dclock *c) MUST_CHECK;
void dclock_free(struct dclock *c);
time_t dclock_now(const struct dclock *c);
/* Arms the one timer for the absolute time `at`. */
int dclock_arm(struct dclock *c, time_t at) MUST_CHECK;
/* Descriptors to poll (fds[] gets up to 2, -1 for none). */
void dclock_fds(const struct dclock *c, int fds[2]);
/* Drains fd after poll() said it is readable. Returns 1 when the daemon
 * must re-plan (timer expired, clock set, time zone changed), 0 when the
 * event did not concern us, -errno on failure. */
int dclock_handle(struct dclock *c, int fd) MUST_CHECK;
bool dclock_is_fake(const struct dclock *c);
#endif
