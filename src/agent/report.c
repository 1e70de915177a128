#include "report.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/blk.h"
#include "core/io.h"
#include "image/image.h"

#define TARGET_MNT "/run/abur/target"

void report_line(struct report *r, const char *fmt, ...)
{
	char line[1200], when[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;
	size_t n;

	if (!r->started)
		r->started = (int64_t)t;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ ", gmtime_r(&t, &tm));
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(when) + strlen(line) + 1;
	r->buf = xrealloc(r->buf, r->len + n + 1);
	snprintf(r->buf + r->len, n + 1, "%s%s\n", when, line);
	r->len += n;
}

void report_free(struct report *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

char *report_name(const struct report *r, const char *what)
{
	time_t t = (time_t)r->started;
	struct tm tm;
	char when[32];

	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", gmtime_r(&t, &tm));
	return xasprintf("%s-%s.txt", what, when);
}

int report_to_store(const struct report *r, struct store *s, const char *name)
{
	_cleanup_free_ char *rel = xasprintf("log/%s", name);
	return store_put_file(s, rel, r->buf ? r->buf : "", r->len);
}

/* Mounts each partition that can be a root filesystem until one holds /etc;
 * writes the report there. */
int report_to_disk(const struct report *r, const char *dev, const char *name)
{
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	int r2 = image_probe(dev, NULL, &d), done = -ENOENT;

	if (r2 < 0)
		return r2;
	for (size_t i = 0; i < d->nparts && done == -ENOENT; i++) {
		_cleanup_free_ char *part = NULL, *etc = NULL, *dir = NULL, *path = NULL;
		struct stat st;
		if (!image_root_capable(d->parts[i].fstype))
			continue;
		if (blk_part_node(dev, d->parts[i].num, &part) < 0 || blk_mount(part, TARGET_MNT, BLK_RW) < 0)
			continue;
		etc = xasprintf("%s/etc", TARGET_MNT);
		if (stat(etc, &st) == 0 && S_ISDIR(st.st_mode)) {
			dir = xasprintf("%s/var/log/abur", TARGET_MNT);
			path = xasprintf("%s/%s", dir, name);
			done = mkdir_p(dir, 0755);
			if (done == 0)
				done = io_write_file_atomic(path, r->buf ? r->buf : "", r->len, 0644);
		}
		sync();
		done = abur_after(done, blk_umount(TARGET_MNT));
	}
	return done == -ENOENT ? abur_fail(done, "%s: no root filesystem found for the report", dev) : done;
}
