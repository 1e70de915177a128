/* Opening the store, listing generations, verifying them. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "core/blk.h"
#include "core/io.h"
#include "payload.h"
#include "store.h"
#include "store_int.h"

/* A reader's ro mount and a writer's rw mount of the same ext4 clash
 * (EBUSY): wait this long for the other side to finish. */
#define MOUNT_WAIT_S 60

static int mount_store(struct store *s, const char *dev, enum store_mode mode)
{
	unsigned long ro = mode == STORE_READ ? MS_RDONLY : 0;
	int r = -EBUSY;

	s->mnt = xasprintf("%s/%d", s->mount_base, (int)getpid());
	for (int i = 0; i < MOUNT_WAIT_S * 10 && r == -EBUSY; i++) {
		r = blk_mount_flags(dev, s->mnt, ro, NULL);
		if (r == -EBUSY && ro) {
			/* A writer has it read-write: share that, read-only at our mount point. */
			r = blk_mount_flags(dev, s->mnt, 0, NULL);
			if (r == 0 && mount(NULL, s->mnt, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
				r = abur_fail(-errno, "remount %s read-only: %m", s->mnt);
				umount2(s->mnt, MNT_DETACH);
			}
		}
		if (r == -EBUSY)
			usleep(100 * 1000);
	}
	if (r < 0) {
		rmdir(s->mnt);
		return abur_fail_wrap(r, "flash store %s", dev);
	}
	s->mounted = true;
	return 0;
}

static int init_store_file(struct store *s)
{
	_cleanup_free_ char *text = NULL;
	char *p;
	unsigned long fmt;
	int r;

	r = io_read_file_at(s->root_fd, "STORE", 4096, &text, NULL);
	if (r == -ENOENT && s->mode == STORE_WRITE) {
		_cleanup_free_ char *machine = NULL, *t = NULL;
		if (read_file("/sys/class/dmi/id/product_uuid", 64, &machine, NULL) < 0)
			machine = xstrdup("unknown");
		t = xasprintf("; ABUR snapshot store\nformat = %d\nboard = %s\nmachine = %s\ncreated = %lld\n",
			      STORE_FORMAT, CONFIG_BOARD, strstrip(machine), (long long)time(NULL));
		return io_write_file_atomic_at(s->root_fd, "STORE", t, strlen(t), 0644);
	}
	if (r == -ENOENT)
		return abur_fail(-ENOENT, "%s: no ABUR store here (no abur/STORE)", s->base);
	if (r < 0)
		return abur_fail_wrap(r, "%s", s->root);
	p = strstr(text, "\nformat = ");
	if (!p || sscanf(p, "\nformat = %lu", &fmt) != 1)
		return abur_fail(-EINVAL, "%s/STORE: not an ABUR store file", s->root);
	if (fmt != STORE_FORMAT)
		return abur_fail(-EPROTO, "%s/STORE: store format %lu, this abur reads format %d", s->root, fmt,
				 STORE_FORMAT);
	return 0;
}

static int flock_wait(int fd, int op, const char *what)
{
	while (flock(fd, op) < 0)
		if (errno != EINTR)
			return abur_fail(-errno, "lock %s: %m", what);
	return 0;
}

/* flock op on root's lock file name, retried every 100 ms for at most
 * wait_s seconds (0: once): 0 when held, 1 when the other side kept it,
 * -errno (recorded) on another error. */
static int flock_bounded(struct store *s, int fd, int op, unsigned wait_s, const char *name)
{
	for (unsigned i = 0;; i++) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return abur_fail(-errno, "lock %s/%s: %m", s->root, name);
		if (i >= wait_s * 10)
			return 1;
		usleep(100 * 1000);
	}
}

/* A lock file beneath the root: a regular file, never through a link. */
static int open_lock_file(struct store *s, const char *name, int flags)
{
	int fd = io_open_beneath(s->root_fd, name, flags | O_CREAT, IO_REGULAR);

	return fd < 0 ? abur_fail_wrap(fd, "%s", s->root) : fd;
}

static int lock_store(struct store *s)
{
	int r;

	s->lock_fd = open_lock_file(s, ".lock", O_RDWR);
	if (s->lock_fd < 0)
		return s->lock_fd;
	/* A second writer waits for the first; it does not fail. */
	r = flock_wait(s->lock_fd, LOCK_EX, ".lock");
	if (r < 0)
		return r;
	/* Created here, so a later read-only reader finds it. */
	s->readers_fd = open_lock_file(s, ".readers", O_RDWR);
	return s->readers_fd < 0 ? s->readers_fd : 0;
}

/* A reader's shared lock.  On a store it cannot write (read-only mount)
 * and where no writer ever made the file, nothing can remove generations
 * through this mount either: read without it. */
static int lock_reader(struct store *s)
{
	int r;

	s->readers_fd = io_open_beneath(s->root_fd, ".readers", O_RDWR | O_CREAT, IO_REGULAR);
	if (s->readers_fd == -EROFS || s->readers_fd == -EACCES || s->readers_fd == -EPERM)
		s->readers_fd = io_open_beneath(s->root_fd, ".readers", O_RDONLY, IO_REGULAR);
	if (s->readers_fd == -ENOENT)
		return 0;
	if (s->readers_fd < 0)
		return abur_fail_wrap(s->readers_fd, "%s", s->root);
	r = flock_bounded(s, s->readers_fd, LOCK_SH, READERS_WAIT_S, ".readers");
	if (r > 0)
		return abur_fail(-EBUSY, "%s/.readers: old generations are being removed for over %d s; try again",
				 s->root, READERS_WAIT_S);
	return r;
}

int store_lock_removal(struct store *s, unsigned wait_s)
{
	int r;

	if (s->readers_fd < 0)
		return abur_fail(-EBUSY, "no readers lock: old generations stay");
	r = flock_bounded(s, s->readers_fd, LOCK_EX, wait_s, ".readers");
	if (r > 0)
		return abur_fail(-EBUSY, "readers are using the store (%s/.readers): old generations stay", s->root);
	return r;
}

void store_unlock_removal(struct store *s)
{
	if (s->readers_fd >= 0)
		(void)flock(s->readers_fd, LOCK_UN);
}

/* abur/ itself must be a real directory: a flash holding `abur -> /`
 * must not turn the store into the host's root. */
static int open_root(struct store *s)
{
	_cleanup_close_ int bfd = open(s->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (bfd < 0)
		return abur_fail(-errno, "%s: %m", s->base);
	/* Not a gated write (as mkdir -p was): what it made is checked below. */
	if (s->mode == STORE_WRITE && mkdirat(bfd, "abur", 0755) < 0 && errno != EEXIST)
		return abur_fail(-errno, "%s/abur: %m", s->base);
	s->root_fd = io_open_beneath(bfd, "abur", O_RDONLY | O_DIRECTORY, 0);
	if (s->root_fd == -ENOENT)
		return abur_fail(-ENOENT, "%s: no ABUR store here (no abur/STORE)", s->base);
	return s->root_fd < 0 ? abur_fail_wrap(s->root_fd, "%s", s->base) : 0;
}

static int open_dir(struct store *s, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return abur_fail(-ENOENT, "store directory %s does not exist", dir);
	/* Absolute: a restore changes the working directory while it reads
	 * the payload, and struct generation promises an absolute dir. */
	s->base = realpath(dir, NULL);
	if (!s->base)
		return abur_fail(-errno, "store directory %s: %m", dir);
	return 0;
}

int store_open(const struct abur_config *cfg, const char *spec, enum store_mode mode, struct store **out)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int r;

	s->lock_fd = s->root_fd = s->readers_fd = -1;
	s->mode = mode;
	s->mount_base = xstrdup(cfg->flash.mount);
	spec = spec ? spec : cfg->flash.store;
	if (blk_is_device_spec(spec)) {
		r = blk_resolve(spec, &s->device);
		if (r == 0)
			r = mount_store(s, s->device, mode);
		if (r == 0)
			s->base = xstrdup(s->mnt);
	} else {
		r = open_dir(s, spec);
	}
	if (r == 0) {
		s->root = xasprintf("%s/abur", s->base);
		r = open_root(s);
	}
	if (r == 0)
		r = mode == STORE_WRITE ? lock_store(s) : lock_reader(s);
	if (r == 0)
		r = init_store_file(s);
	if (r < 0) {
		store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->readers_fd >= 0)
		close(s->readers_fd);
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->mounted) {
		sync();
		if (umount2(s->mnt, 0) < 0)
			umount2(s->mnt, MNT_DETACH);
		rmdir(s->mnt);
	}
	free(s->mnt);
	free(s->mount_base);
	free(s->device);
	free(s->base);
	free(s->root);
	store_removed_clear(s);
	free(s);
}

void store_removed_clear(struct store *s)
{
	for (size_t i = 0; i < s->nremoved; i++)
		free(s->removed[i]);
	free(s->removed);
	s->removed = NULL;
	s->nremoved = 0;
}

const char *store_root(const struct store *s)
{
	return s->root;
}
const char *store_device(const struct store *s)
{
	return s->device;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_opendir(struct store *s, const char *rel, DIR **d)
{
	int fd = streq(rel, ".") ? openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				 : io_open_beneath(s->root_fd, rel, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0)
		return fd == -1 ? abur_fail(-errno, "%s: %m", s->root) : abur_fail_wrap(fd, "%s", s->root);
	*d = fdopendir(fd);
	if (!*d) {
		close(fd);
		return abur_fail(-errno, "%s/%s: %m", s->root, rel);
	}
	return 0;
}

/* Component folders are real directories with a component's name;
 * anything else (a link, a file, a foreign name) is not ours. */
int store_components(struct store *s, char ***names, size_t *n)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	int r = store_opendir(s, ".", &d);

	*names = NULL;
	*n = 0;
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !valid_component_name(de->d_name) || streq(de->d_name, "log") ||
		    streq(de->d_name, "state"))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof(char *));
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n) /* qsort(NULL, 0) is undefined */
		qsort(*names, *n, sizeof(char *), cmp_str);
	return 0;
}

bool valid_component_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}
