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
	_cleanup_free_ char *path = xasprintf("%s/STORE", s->root);
	_cleanup_free_ char *text = NULL;
	char *p;
	unsigned long fmt;
	int r;

	r = read_file(path, 4096, &text, NULL);
	if (r == -ENOENT && s->mode == STORE_WRITE) {
		_cleanup_free_ char *machine = NULL, *t = NULL;
		abur_fail_clear();
		if (read_file("/sys/class/dmi/id/product_uuid", 64, &machine, NULL) < 0)
			machine = xstrdup("unknown");
		t = xasprintf("; ABUR snapshot store\nformat = %d\nboard = %s\nmachine = %s\ncreated = %lld\n",
			      STORE_FORMAT, CONFIG_BOARD, strstrip(machine), (long long)time(NULL));
		return io_write_file_atomic(path, t, strlen(t), 0644);
	}
	if (r == -ENOENT)
		return abur_fail(-ENOENT, "%s: no ABUR store here (no abur/STORE)", s->base);
	if (r < 0)
		return r;
	p = strstr(text, "\nformat = ");
	if (!p || sscanf(p, "\nformat = %lu", &fmt) != 1)
		return abur_fail(-EINVAL, "%s: not an ABUR store file", path);
	if (fmt != STORE_FORMAT)
		return abur_fail(-EPROTO, "%s: store format %lu, this abur reads format %d", path, fmt, STORE_FORMAT);
	return 0;
}

static int lock_store(struct store *s)
{
	_cleanup_free_ char *path = xasprintf("%s/.lock", s->root);

	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return abur_fail(-errno, "%s: %m", path);
	/* A second writer waits for the first; it does not fail. */
	while (flock(s->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return abur_fail(-errno, "lock %s: %m", path);
	return 0;
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

	s->lock_fd = -1;
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
		if (mode == STORE_WRITE)
			r = mkdir_p(s->root, 0755);
	}
	if (r == 0 && mode == STORE_WRITE)
		r = lock_store(s);
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
	free(s);
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

int store_components(struct store *s, char ***names, size_t *n)
{
	DIR *d = opendir(s->root);
	struct dirent *de;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : abur_fail(-errno, "%s: %m", s->root);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !valid_component_name(de->d_name) || streq(de->d_name, "log") ||
		    streq(de->d_name, "state"))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
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
