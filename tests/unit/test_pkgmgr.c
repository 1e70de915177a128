/* The package manager at work: a lock held by another process (as dpkg
 * holds its own, with F_SETLK) is seen without being taken; the newest
 * change below a changed_by directory is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "core/pkgmgr.h"

static char root[64];

static char *at(const char *rel)
{
	return xasprintf("%s%s", root, rel);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/abur-pkgmgr.XXXXXX");
	assert_non_null(mkdtemp(root));
	_cleanup_free_ char *d1 = at("/var"), *d2 = at("/var/lib"), *d3 = at("/var/lib/dpkg"), *d4 = at("/boot"),
			    *d5 = at("/boot/grub");
	const char *dirs[] = {d1, d2, d3, d4, d5};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		assert_int_equal(mkdir(dirs[i], 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void os_component(struct abur_component *c)
{
	static char *locks[] = {"/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"};
	static char *changed[] = {"/var/lib/dpkg/status", "/boot"};

	memset(c, 0, sizeof(*c));
	c->name = "os";
	c->busy_locks = locks;
	c->nbusy_locks = 2;
	c->changed_by = changed;
	c->nchanged_by = 2;
}

static void touch(const char *rel, time_t t)
{
	_cleanup_free_ char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	assert_true(fd >= 0);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

/* A child that holds a write lock on rel (as dpkg does) until killed. */
static pid_t hold_lock(const char *rel)
{
	_cleanup_free_ char *p = at(rel);
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(p, O_RDWR | O_CREAT, 0644);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void lock_held_and_released(void **state)
{
	struct abur_component c;
	int status;
	(void)state;

	os_component(&c);
	assert_null(pkgmgr_locked(&c, root)); /* no lock files at all */
	touch("/var/lib/dpkg/lock", 1000);
	assert_null(pkgmgr_locked(&c, root)); /* there, not held */
	pid_t pid = hold_lock("/var/lib/dpkg/lock");
	char *which = pkgmgr_locked(&c, root);
	assert_non_null(which);
	assert_string_equal(which, "/var/lib/dpkg/lock");
	free(which);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	assert_null(pkgmgr_locked(&c, root)); /* released with its holder */
	/* Probing never took it: this process can still lock it. */
	_cleanup_free_ char *p = at("/var/lib/dpkg/lock");
	int fd = open(p, O_RDWR);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	assert_int_equal(fcntl(fd, F_SETLK, &fl), 0);
	close(fd);
}

static void newest_change_below(void **state)
{
	struct abur_component c;
	(void)state;

	os_component(&c);
	touch("/var/lib/dpkg/status", 2000);
	time_t t = pkgmgr_last_change(&c, root);
	/* Every ctime is now: the directories were just made. */
	assert_true(t >= time(NULL) - 60);
	/* Nothing changed by the package manager: a root without those paths. */
	struct abur_component none = c;
	static char *missing[] = {"/nonexistent"};
	none.changed_by = missing;
	none.nchanged_by = 1;
	assert_int_equal(pkgmgr_last_change(&none, root), 0);
	/* A file deep below /boot counts (its mtime, set ahead, is the newest). */
	time_t ahead = time(NULL) + 100000;
	touch("/boot/grub/grub.cfg", ahead);
	assert_int_equal(pkgmgr_last_change(&c, root), ahead);
	/* Not below a directory that is not a changed_by path. */
	touch("/var/lib/dpkg/other", ahead + 5);
	assert_int_equal(pkgmgr_last_change(&c, root), ahead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(lock_held_and_released, setup, teardown),
	    cmocka_unit_test_setup_teardown(newest_change_below, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
