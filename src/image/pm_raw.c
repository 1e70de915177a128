/* Partition method raw: any content ABUR does not know, stored as its
 * 4 KiB blocks that are not all zero.  The holes are zeroed on the target. */
#include <string.h>

#include "imgint.h"

#define RAW_BLOCK 4096
#define RAW_CHUNK (1 * MiB)

static bool match_any(const char *fstype)
{
	(void)fstype;
	return true;
}

static int scan_raw(int fd, const char *dev, uint64_t off, uint64_t size, struct part_rec *p)
{
	_cleanup_free_ char *buf = xmalloc(RAW_CHUNK);

	(void)dev;
	for (uint64_t pos = 0; pos < size;) {
		size_t want = size - pos < RAW_CHUNK ? (size_t)(size - pos) : RAW_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)(off + pos));
		if (n <= 0)
			return abur_fail(n < 0 ? -errno : -EIO, "partition %u: read at %llu: %s", p->num,
					 (unsigned long long)(off + pos), n < 0 ? strerror(errno) : "end of device");
		for (size_t i = 0; i < (size_t)n; i += RAW_BLOCK) {
			size_t len = (size_t)n - i < RAW_BLOCK ? (size_t)n - i : RAW_BLOCK;
			if (!mem_is_zero(buf + i, len))
				extents_add(&p->map, pos + i, len);
		}
		pos += (uint64_t)n;
	}
	return 0;
}

const struct part_method pm_raw = {
    .name = "raw",
    .match = match_any,
    .scan = scan_raw,
    .flags = PMF_ZERO_HOLES | PMF_RAW_AREA,
};
