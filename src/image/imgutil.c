/* Helpers: running e2fsprogs/util-linux tools, partition nodes without
 * udev, re-reading a partition table. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "imgint.h"

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

int image_run(const char *const argv[], int ok_max)
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

static char *disk_name(const char *disk)
{
	char real[PATH_MAX];

	if (!realpath(disk, real))
		return NULL;
	return xstrdup(strrchr(real, '/') + 1);
}

/* The sysfs directory name of partition n of disk `name`, or NULL. */
static char *sys_part(const char *name, unsigned n)
{
	_cleanup_free_ char *dir = xasprintf("/sys/block/%s", name);
	DIR *d = opendir(dir);
	struct dirent *e;
	char *found = NULL;

	if (!d)
		return NULL;
	while (!found && (e = readdir(d))) {
		if (!startswith(e->d_name, name))
			continue;
		_cleanup_free_ char *pf = xasprintf("%s/%s/partition", dir, e->d_name);
		_cleanup_free_ char *text = NULL;
		if (read_file(pf, 4096, &text, NULL) == 0 && strtoul(text, NULL, 10) == n)
			found = xstrdup(e->d_name);
	}
	closedir(d);
	return found;
}

static int make_node(const char *name, const char *part, char **node)
{
	_cleanup_free_ char *devf = xasprintf("/sys/block/%s/%s/dev", name, part);
	_cleanup_free_ char *text = NULL;
	unsigned maj, mnr;
	struct stat st;
	char *path = xasprintf("/dev/%s", part);

	if (read_file(devf, 4096, &text, NULL) < 0 || sscanf(text, "%u:%u", &maj, &mnr) != 2) {
		free(path);
		return abur_fail(-ENODEV, "%s: no device number", devf);
	}
	/* No udev: make the node ourselves, replacing a stale one. */
	if (stat(path, &st) == 0 && (!S_ISBLK(st.st_mode) || st.st_rdev != makedev(maj, mnr)))
		unlink(path);
	if (mknod(path, S_IFBLK | 0600, makedev(maj, mnr)) < 0 && errno != EEXIST) {
		int r = abur_fail(-errno, "mknod %s: %m", path);
		free(path);
		return r;
	}
	*node = path;
	return 0;
}

int part_node(const char *disk, unsigned n, char **node)
{
	_cleanup_free_ char *name = disk_name(disk);

	if (!name)
		return abur_fail(-errno, "%s: %m", disk);
	for (int i = 0; i < 50; i++) {
		_cleanup_free_ char *part = sys_part(name, n);
		if (part)
			return make_node(name, part, node);
		usleep(100 * 1000);
	}
	return abur_fail(-ENODEV, "%s: partition %u did not appear", disk, n);
}

static bool kernel_has(const char *name, const struct part_rec *p, unsigned ss)
{
	_cleanup_free_ char *part = sys_part(name, p->num);
	_cleanup_free_ char *sf = NULL, *zf = NULL, *st = NULL, *sz = NULL;

	if (!part)
		return false;
	sf = xasprintf("/sys/block/%s/%s/start", name, part);
	zf = xasprintf("/sys/block/%s/%s/size", name, part);
	if (read_file(sf, 4096, &st, NULL) < 0 || read_file(zf, 4096, &sz, NULL) < 0)
		return false;
	return strtoull(st, NULL, 10) * 512 == p->start * ss && strtoull(sz, NULL, 10) * 512 == p->size * ss;
}

static int blkpg(int fd, int op, unsigned num, uint64_t start, uint64_t len)
{
	struct blkpg_partition part = {.start = (long long)start, .length = (long long)len, .pno = (int)num};
	struct blkpg_ioctl_arg arg = {.op = op, .datalen = sizeof(part), .data = &part};

	return ioctl(fd, BLKPG, &arg) < 0 ? -errno : 0;
}

/* Tells the kernel each partition itself (as partprobe does): kernels
 * built without a GPT or DOS parser ignore BLKRRPART. */
static int add_partitions(int fd, const char *disk, const char *name, const struct layout *l)
{
	for (size_t i = 0; i < l->nparts; i++) {
		const struct part_rec *p = &l->parts[i];
		if (kernel_has(name, p, l->sector_size))
			continue;
		(void)blkpg(fd, BLKPG_DEL_PARTITION, p->num, 0, 0);
		int r = blkpg(fd, BLKPG_ADD_PARTITION, p->num, p->start * l->sector_size, p->size * l->sector_size);
		if (r < 0)
			return abur_fail(r, "%s: adding partition %u to the kernel: %s", disk, p->num, strerror(-r));
	}
	return 0;
}

int kernel_partitions(const char *disk, const struct layout *l)
{
	_cleanup_close_ int fd = open(disk, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *name = disk_name(disk);
	int r;

	if (fd < 0 || !name)
		return abur_fail(-errno, "%s: %m", disk);
	r = add_partitions(fd, disk, name, l);
	for (size_t i = 0; r == 0 && i < l->nparts; i++) {
		_cleanup_free_ char *node = NULL;
		r = part_node(disk, l->parts[i].num, &node);
	}
	return r;
}

int reread_partitions(const char *disk, const struct layout *l)
{
	_cleanup_close_ int fd = open(disk, O_RDONLY | O_CLOEXEC);
	int r = -EBUSY;

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", disk);
	for (int i = 0; i < 50 && r == -EBUSY; i++) {
		r = ioctl(fd, BLKRRPART) < 0 ? -errno : 0;
		if (r == -EBUSY)
			usleep(100 * 1000);
	}
	if (r < 0 && r != -EINVAL)
		return abur_fail(r, "%s: re-reading the partition table: %s", disk, strerror(-r));
	return kernel_partitions(disk, l);
}
