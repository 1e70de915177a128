#include "clock.h"

#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>

#define ETC_MASK (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE)
#define FAKE_MASK (IN_CLOSE_WRITE | IN_MOVED_TO)

static const char *const tz_files[] = {"localtime", "timezone"};

static int read_fake(struct dclock *c)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	char *end;
	long long v;
	int r = read_file(c->fake_path, 64, &text, &len);

	if (r < 0)
		return r;
	errno = 0;
	v = strtoll(text, &end, 10);
	/* A half-written file reads as empty: keep the old time. */
	if (errno || end == text || v <= 0)
		return -EAGAIN;
	c->fake_now = (time_t)v;
	return 0;
}

static int init_fake(struct dclock *c, const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	int r;

	c->fake_path = xstrdup(path);
	c->fake_name = strrchr(c->fake_path, '/') ? strrchr(c->fake_path, '/') + 1 : c->fake_path;
	c->fake_wd = inotify_add_watch(c->sys_fd, dirname(dir), FAKE_MASK);
	if (c->fake_wd < 0)
		return abur_fail(-errno, "%s=%s: %s", CLOCK_ENV, path, strerror(errno));
	r = read_fake(c);
	if (r == -EAGAIN)
		return abur_fail(-EINVAL, "%s=%s: no epoch seconds in it", CLOCK_ENV, path);
	if (r < 0)
		return abur_fail_wrap(r, "%s=%s", CLOCK_ENV, path);
	return 0;
}

int dclock_init(struct dclock *c)
{
	const char *fake = getenv(CLOCK_ENV);

	memset(c, 0, sizeof(*c));
	c->timer_fd = c->sys_fd = c->fake_wd = c->etc_wd = -1;
	c->sys_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->sys_fd < 0)
		return abur_fail(-errno, "inotify_init1: %s", strerror(errno));
	/* Missing /etc is odd but not fatal: the zone then changes only on SIGHUP. */
	c->etc_wd = inotify_add_watch(c->sys_fd, "/etc", ETC_MASK | IN_ONLYDIR);
	if (fake && *fake)
		return init_fake(c, fake);
	c->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return abur_fail(-errno, "timerfd_create: %s", strerror(errno));
	return 0;
}

void dclock_free(struct dclock *c)
{
	closep(&c->timer_fd);
	closep(&c->sys_fd);
	free(c->fake_path);
	c->fake_path = NULL;
}

bool dclock_is_fake(const struct dclock *c)
{
	return c->fake_path != NULL;
}

time_t dclock_now(const struct dclock *c)
{
	return c->fake_path ? c->fake_now : time(NULL);
}

int dclock_arm(struct dclock *c, time_t at)
{
	struct itimerspec its = {.it_value = {.tv_sec = at > 0 ? at : 1}};

	c->armed = at;
	if (c->timer_fd < 0)
		return 0;
	/* CANCEL_ON_SET: a clock step wakes us at once (read gives ECANCELED). */
	if (timerfd_settime(c->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		return abur_fail(-errno, "timerfd_settime: %s", strerror(errno));
	return 0;
}

void dclock_fds(const struct dclock *c, int fds[2])
{
	fds[0] = c->timer_fd;
	fds[1] = c->sys_fd;
}

static int handle_timer(struct dclock *c)
{
	uint64_t n;

	if (read(c->timer_fd, &n, sizeof(n)) < 0 && errno != ECANCELED && errno != EAGAIN)
		return abur_fail(-errno, "timerfd read: %s", strerror(errno));
	return 1; /* expired or clock set: either way, plan again */
}

static int handle_sys(struct dclock *c)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool tz = false, clock = false;
	ssize_t n;

	while ((n = read(c->sys_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->wd == c->fake_wd && ev->len && streq(ev->name, c->fake_name))
				clock = true;
			for (size_t i = 0; i < ARRAY_SIZE(tz_files) && ev->wd == c->etc_wd && ev->len; i++)
				tz |= streq(ev->name, tz_files[i]);
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return abur_fail(-errno, "inotify read: %s", strerror(errno));
	if (tz)
		tzset(); /* glibc re-reads /etc/localtime when it changed (TZ unset) */
	if (clock && read_fake(c) < 0)
		clock = false;
	return tz || clock;
}

int dclock_handle(struct dclock *c, int fd)
{
	if (fd >= 0 && fd == c->timer_fd)
		return handle_timer(c);
	if (fd >= 0 && fd == c->sys_fd)
		return handle_sys(c);
	return 0;
}
