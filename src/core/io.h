/* The one small I/O layer every write that matters goes through.
 *
 * All calls return >= 0 on success and -errno on failure (with a message
 * recorded via abur_fail()).  A test hook makes the N-th call fail or
 * "crash" (the process _exit()s before doing it, as a power cut would), so
 * tests can exercise every failure point of a commit:
 *
 *   ABUR_IO_FAULT=crash:N   the N-th call exits with status IO_CRASH_STATUS
 *   ABUR_IO_FAULT=eio:N     the N-th call fails with EIO
 *   ABUR_IO_FAULT=enospc:N  the N-th call fails with ENOSPC
 *   ABUR_IO_FAULT=fsync:N   the N-th fsync call fails with EIO
 *   ABUR_IO_TRACE=FILE      append "N op path" for every call to FILE
 */
#ifndef ABUR_IO_H
#define ABUR_IO_H

#include <sys/types.h>

#include "util.h"

#define IO_CRASH_STATUS 99

struct io_ops {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*unlink)(const char *path);
	int (*mkdir)(const char *path, mode_t mode);
	int (*rmdir)(const char *path);
};

enum io_fault { IO_FAULT_NONE, IO_FAULT_CRASH, IO_FAULT_EIO, IO_FAULT_ENOSPC, IO_FAULT_FSYNC };

/* Replace the system calls (unit tests); NULL restores the real ones. */
void io_set_ops(const struct io_ops *ops);
/* Arm a fault at the n-th (1-based) call; IO_FAULT_NONE disarms. */
void io_fault_set(enum io_fault kind, unsigned long n);
/* Parse "kind:N"; returns 0 or -EINVAL. */
int io_fault_parse(const char *spec, enum io_fault *kind, unsigned long *n) MUST_CHECK;
/* Read ABUR_IO_FAULT / ABUR_IO_TRACE; returns -EINVAL on a bad spec. */
int io_setup_from_env(void) MUST_CHECK;
/* Calls made so far (all kinds), and fsync calls alone. */
unsigned long io_calls(void);
unsigned long io_fsync_calls(void);

int io_open(const char *path, int flags, mode_t mode) MUST_CHECK;
/* Writes all n bytes (retrying short writes and EINTR). */
int io_write_all(int fd, const void *buf, size_t n, const char *what) MUST_CHECK;
int io_fsync(int fd, const char *what) MUST_CHECK;
/* Opens a directory and fsyncs it. */
int io_fsync_dir(const char *path) MUST_CHECK;
int io_rename(const char *from, const char *to) MUST_CHECK;
int io_unlink(const char *path) MUST_CHECK;
int io_mkdir(const char *path, mode_t mode) MUST_CHECK;
int io_rmdir(const char *path) MUST_CHECK;
/* Write a whole small file crash-safely: temp file, fsync, rename, fsync
 * of the directory. */
int io_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode) MUST_CHECK;

/* ---- beneath a directory (the store is a sandbox) ----
 *
 * rel is relative to dfd and must not be absolute or hold "." or ".."
 * components.  It is resolved beneath dfd without following any symlink
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS; on kernels without
 * openat2, or with ABUR_IO_NO_OPENAT2 set, an O_NOFOLLOW walk).  A symlink
 * anywhere on the way gives -ELOOP with a message naming it. */

/* Not counted by the fault hook (reads). IO_REGULAR: opens with O_NONBLOCK
 * (a FIFO cannot hang us), requires a regular file (else -EINVAL naming
 * what is there), then clears O_NONBLOCK. */
#define IO_REGULAR 0x1
int io_open_beneath(int dfd, const char *rel, int flags, unsigned how) MUST_CHECK;
/* Reads a whole small regular file beneath dfd (at most max bytes). */
int io_read_file_at(int dfd, const char *rel, size_t max, char **out, size_t *len) MUST_CHECK;
/* The gated ones.  io_openat adds O_NOFOLLOW; io_mkdirat succeeds on an
 * existing real directory and fails naming it when the name is something
 * else; io_renameat passes flags to renameat2 (RENAME_NOREPLACE: never
 * replace an existing entry, -EEXIST). */
int io_openat(int dfd, const char *rel, int flags, mode_t mode) MUST_CHECK;
int io_mkdirat(int dfd, const char *rel, mode_t mode) MUST_CHECK;
int io_renameat(int dfd, const char *from, const char *to, unsigned flags) MUST_CHECK;
int io_unlinkat(int dfd, const char *rel) MUST_CHECK;
int io_fsync_dirat(int dfd, const char *rel) MUST_CHECK;
int io_write_file_atomic_at(int dfd, const char *rel, const void *data, size_t n, mode_t mode) MUST_CHECK;
/* What a file type is called in messages ("a symlink", "a FIFO", ...). */
const char *io_type_name(mode_t mode);
#endif
