/* The error record (src/core/util.c): a message belongs to the error it
 * describes, and travels between threads as a value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

static int setup(void **state)
{
	(void)state;
	abur_fail_clear();
	return 0;
}

static void message_of_its_own_error(void **state)
{
	(void)state;
	assert_int_equal(abur_fail(-ENOENT, "g%06d: no manifest", 7), -ENOENT);
	assert_string_equal(abur_errmsg(-ENOENT), "g000007: no manifest");
	/* The same text is never shown for another error. */
	assert_string_equal(abur_errmsg(-EIO), strerror(EIO));
	assert_string_equal(abur_errmsg(-ENOENT), "g000007: no manifest");
}

static void strerror_without_a_record(void **state)
{
	(void)state;
	assert_string_equal(abur_errmsg(-ENOSPC), strerror(ENOSPC));
	abur_fail(-ENOSPC, "flash full");
	abur_fail_clear();
	assert_string_equal(abur_errmsg(-ENOSPC), strerror(ENOSPC));
	/* A positive errno value reads the same. */
	assert_string_equal(abur_errmsg(EACCES), strerror(EACCES));
}

static void newest_record_wins(void **state)
{
	(void)state;
	abur_fail(-EINVAL, "bad key");
	abur_fail(-EIO, "write p1");
	assert_string_equal(abur_errmsg(-EIO), "write p1");
	assert_string_equal(abur_errmsg(-EINVAL), strerror(EINVAL));
}

static void wrap_prefixes_its_own_message(void **state)
{
	(void)state;
	abur_fail(-EBADMSG, "line 4: bogus");
	assert_int_equal(abur_fail_wrap(-EBADMSG, "layout.ini of %s", "g000002"), -EBADMSG);
	assert_string_equal(abur_errmsg(-EBADMSG), "layout.ini of g000002: line 4: bogus");
	assert_int_equal(abur_fail_wrap(-EBADMSG, "os"), -EBADMSG);
	assert_string_equal(abur_errmsg(-EBADMSG), "os: layout.ini of g000002: line 4: bogus");
}

static void wrap_of_another_error_uses_strerror(void **state)
{
	(void)state;
	abur_fail(-EINVAL, "stale: an error handled long ago");
	abur_fail_wrap(-EROFS, "flash store %s", "/dev/sdb2");
	assert_string_equal(abur_errmsg(-EROFS), "flash store /dev/sdb2: Read-only file system");
}

static void first_error_wins_over_its_cleanup(void **state)
{
	struct abur_error saved;

	(void)state;
	abur_fail(-EINVAL, "partition 2: bad inode table");
	abur_error_save(&saved);
	abur_fail(-EBUSY, "umount /mnt: busy"); /* the cleanup fails too */
	assert_int_equal(abur_first_error(-EINVAL, -EBUSY, &saved), -EINVAL);
	assert_string_equal(abur_errmsg(-EINVAL), "partition 2: bad inode table");
	/* the step went well: the cleanup's error is the result, with its message */
	abur_error_save(&saved);
	abur_fail(-EBUSY, "umount /mnt: busy");
	assert_int_equal(abur_first_error(0, -EBUSY, &saved), -EBUSY);
	assert_string_equal(abur_errmsg(-EBUSY), "umount /mnt: busy");
	assert_int_equal(abur_first_error(0, 0, &saved), 0);
}

static int failing_cleanup(int *ran)
{
	++*ran;
	return abur_fail(-EBUSY, "umount /mnt: busy");
}

static void after_runs_the_cleanup_and_keeps_the_first(void **state)
{
	int ran = 0, r;

	(void)state;
	r = abur_fail(-ENOSPC, "restore etc/vms: no space");
	r = abur_after(r, failing_cleanup(&ran));
	assert_int_equal(ran, 1);
	assert_int_equal(r, -ENOSPC);
	assert_string_equal(abur_errmsg(r), "restore etc/vms: no space");
	/* an ignored cleanup's error does not replace the message either */
	r = abur_after(r, ((void)failing_cleanup(&ran), 0));
	assert_string_equal(abur_errmsg(r), "restore etc/vms: no space");
	r = abur_after(0, failing_cleanup(&ran));
	assert_int_equal(ran, 3);
	assert_string_equal(abur_errmsg(r), "umount /mnt: busy");
}

static void long_messages_are_cut(void **state)
{
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	abur_fail(-E2BIG, "%s", big);
	assert_int_equal(strlen(abur_errmsg(-E2BIG)), sizeof(((struct abur_error *)0)->msg) - 1);
	abur_fail_wrap(-E2BIG, "prefix");
	assert_true(startswith(abur_errmsg(-E2BIG), "prefix: xxx"));
	assert_int_equal(strlen(abur_errmsg(-E2BIG)), sizeof(((struct abur_error *)0)->msg) - 1);
}

static void *fail_in_thread(void *arg)
{
	struct abur_error *e = arg;

	abur_fail_clear();
	abur_fail(-EIO, "/dev/sdz: writing p2 at disk byte %d", 4096);
	abur_error_save(e);
	return NULL;
}

static void save_restore_across_threads(void **state)
{
	struct abur_error e = {0};
	pthread_t th;

	(void)state;
	abur_fail(-EPERM, "the main thread's own");
	assert_int_equal(pthread_create(&th, NULL, fail_in_thread, &e), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* Records are per thread: the writer's is not here until restored. */
	assert_string_equal(abur_errmsg(-EIO), strerror(EIO));
	assert_string_equal(abur_errmsg(-EPERM), "the main thread's own");
	assert_int_equal(abur_error_restore(&e), -EIO);
	assert_string_equal(abur_errmsg(-EIO), "/dev/sdz: writing p2 at disk byte 4096");
	assert_string_equal(abur_errmsg(-EPERM), strerror(EPERM));
}

static void restore_of_nothing_clears(void **state)
{
	struct abur_error none = {0};

	(void)state;
	abur_fail(-EIO, "old");
	assert_int_equal(abur_error_restore(&none), 0);
	assert_string_equal(abur_errmsg(-EIO), strerror(EIO));
}

static void log_error_errno_appends_the_message(void **state)
{
	char buf[512] = "";
	FILE *old = stderr;

	(void)state;
	stderr = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(stderr);
	abur_fail(-ENODEV, "no flash");
	assert_int_equal(log_error_errno(-ENODEV, "cannot open the flash store"), -ENODEV);
	log_error_errno(-EIO, "verify");
	fclose(stderr);
	stderr = old;
	assert_non_null(strstr(buf, "abur: error: cannot open the flash store: no flash\n"));
	assert_non_null(strstr(buf, "abur: error: verify: Input/output error\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(message_of_its_own_error, setup),
	    cmocka_unit_test_setup(strerror_without_a_record, setup),
	    cmocka_unit_test_setup(newest_record_wins, setup),
	    cmocka_unit_test_setup(wrap_prefixes_its_own_message, setup),
	    cmocka_unit_test_setup(wrap_of_another_error_uses_strerror, setup),
	    cmocka_unit_test_setup(long_messages_are_cut, setup),
	    cmocka_unit_test_setup(save_restore_across_threads, setup),
	    cmocka_unit_test_setup(first_error_wins_over_its_cleanup, setup),
	    cmocka_unit_test_setup(after_runs_the_cleanup_and_keeps_the_first, setup),
	    cmocka_unit_test_setup(restore_of_nothing_clears, setup),
	    cmocka_unit_test_setup(log_error_errno_appends_the_message, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
