/* The I/O layer and its fault hook, against a mocked ops table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "core/io.h"

static int calls_open, calls_write, calls_fsync, calls_rename;

static int m_open(const char *p, int f, mode_t m)
{
	(void)p, (void)f, (void)m;
	calls_open++;
	return 42;
}
static ssize_t m_write(int fd, const void *b, size_t n)
{
	(void)fd, (void)b;
	calls_write++;
	return n > 3 ? 3 : (ssize_t)n; /* short writes */
}
static int m_fsync(int fd)
{
	(void)fd;
	calls_fsync++;
	return 0;
}
static int m_rename(const char *a, const char *b)
{
	(void)a, (void)b;
	calls_rename++;
	return 0;
}
static int m_ok_path(const char *p)
{
	(void)p;
	return 0;
}
static int m_mkdir(const char *p, mode_t m)
{
	(void)p, (void)m;
	return 0;
}

static const struct io_ops mock = {m_open, m_write, m_fsync, m_rename, m_ok_path, m_mkdir, m_ok_path};

static int setup(void **state)
{
	(void)state;
	io_set_ops(&mock);
	io_fault_set(IO_FAULT_NONE, 0);
	calls_open = calls_write = calls_fsync = calls_rename = 0;
	return 0;
}

static void short_writes_complete(void **state)
{
	(void)state;
	assert_int_equal(io_write_all(42, "0123456789", 10, "x"), 0);
	assert_int_equal(calls_write, 4);
	assert_int_equal(io_calls(), 1); /* one logical call */
}

static void nth_call_fails(void **state)
{
	(void)state;
	io_fault_set(IO_FAULT_EIO, 3);
	assert_true(io_open("a", O_RDONLY, 0) >= 0);
	assert_int_equal(io_mkdir("d", 0755), 0);
	assert_int_equal(io_rename("a", "b"), -EIO);
	assert_int_equal(calls_rename, 0); /* the call was not made */
	assert_non_null(strstr(abur_errmsg(-EIO), "rename b"));
	assert_int_equal(io_rename("a", "b"), 0); /* only the N-th */
	assert_int_equal(io_calls(), 4);
}

static void enospc(void **state)
{
	(void)state;
	io_fault_set(IO_FAULT_ENOSPC, 1);
	assert_int_equal(io_write_all(1, "x", 1, "payload"), -ENOSPC);
	assert_int_equal(calls_write, 0);
}

static void fsync_counted_separately(void **state)
{
	(void)state;
	io_fault_set(IO_FAULT_FSYNC, 2);
	assert_int_equal(io_fsync(1, "a"), 0);
	assert_int_equal(io_mkdir("x", 0700), 0);
	assert_int_equal(io_fsync(1, "b"), -EIO);
	assert_int_equal(calls_fsync, 1);
	assert_int_equal(io_fsync_calls(), 2);
	assert_int_equal(io_calls(), 3);
}

static void crash_exits_before_the_call(void **state)
{
	pid_t pid;
	int status;
	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		io_fault_set(IO_FAULT_CRASH, 2);
		if (io_mkdir("a", 0700) < 0)
			_exit(1);
		if (io_rename("x", "y") < 0) /* exits here */
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), IO_CRASH_STATUS);
	assert_int_equal(calls_rename, 0);
}

static void parse_spec(void **state)
{
	enum io_fault k;
	unsigned long n;
	(void)state;
	assert_int_equal(io_fault_parse("crash:7", &k, &n), 0);
	assert_int_equal(k, IO_FAULT_CRASH);
	assert_int_equal(n, 7);
	assert_int_equal(io_fault_parse("fsync:1", &k, &n), 0);
	assert_int_equal(k, IO_FAULT_FSYNC);
	assert_int_equal(io_fault_parse("enospc:0", &k, &n), -EINVAL);
	assert_int_equal(io_fault_parse("boom:3", &k, &n), -EINVAL);
	assert_int_equal(io_fault_parse("crash", &k, &n), -EINVAL);
	assert_int_equal(io_fault_parse("crash:3x", &k, &n), -EINVAL);
}

static void atomic_write_real_files(void **state)
{
	char dir[] = "/tmp/abur-io-XXXXXX";
	char *path, *data;
	size_t len;
	(void)state;
	io_set_ops(NULL);
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/state", dir);
	assert_int_equal(io_write_file_atomic(path, "old", 3, 0644), 0);
	io_fault_set(IO_FAULT_EIO, 3); /* open, write, [fsync] fails */
	assert_int_equal(io_write_file_atomic(path, "new", 3, 0644), -EIO);
	assert_int_equal(read_file(path, 100, &data, &len), 0);
	assert_string_equal(data, "old"); /* untouched */
	free(data);
	io_fault_set(IO_FAULT_NONE, 0);
	assert_int_equal(io_write_file_atomic(path, "new", 3, 0644), 0);
	assert_int_equal(read_file(path, 100, &data, &len), 0);
	assert_string_equal(data, "new");
	free(data);
	assert_int_equal(rm_rf(dir), 0);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(short_writes_complete, setup),
	    cmocka_unit_test_setup(nth_call_fails, setup),
	    cmocka_unit_test_setup(enospc, setup),
	    cmocka_unit_test_setup(fsync_counted_separately, setup),
	    cmocka_unit_test_setup(crash_exits_before_the_call, setup),
	    cmocka_unit_test_setup(parse_spec, setup),
	    cmocka_unit_test_setup(atomic_write_real_files, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
