/* Running a tool (e2fsprogs, util-linux) and keeping the tail of its
 * output for the error message. */
#include "proc.h"

#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_TAIL 400

static void read_tail(int fd, char *tail, size_t cap)
{
	char buf[4096];
	size_t have = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++) {
			if (have == cap - 1) {
				memmove(tail, tail + 1, cap - 2);
				have--;
			}
			tail[have++] = buf[i] == '\n' ? ' ' : buf[i];
		}
	}
	tail[have] = '\0';
}

bool proc_found(const char *name)
{
	_cleanup_free_ char *path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *f = xasprintf("%s/%s", *dir ? dir : ".", name);
		if (access(f, X_OK) == 0)
			return true;
	}
	return false;
}

int proc_run(const char *const argv[], int ok_max)
{
	int pfd[2], status;
	char tail[OUT_TAIL];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return abur_fail(-errno, "pipe: %m");
	pid = fork();
	if (pid < 0) {
		close(pfd[0]), close(pfd[1]);
		return abur_fail(-errno, "fork: %m");
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %m", argv[0]);
		_exit(127);
	}
	close(pfd[1]);
	read_tail(pfd[0], tail, sizeof(tail));
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return abur_fail(-errno, "waitpid: %m");
	if (WIFEXITED(status) && WEXITSTATUS(status) <= ok_max)
		return 0;
	return abur_fail(-EIO, "%s %s failed (%s %d): %s", argv[0], argv[1] ? argv[1] : "",
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), strstrip(tail));
}
