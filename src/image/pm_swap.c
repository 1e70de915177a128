/* Partition method swap: nothing stored; reimage writes a swap header with
 * the sealed UUID and label. */
#include <fcntl.h>
#include <string.h>

#include "imgint.h"

#define SWAP_PAGE 4096
/* What the kernel's swapon accepts (10 pages). */
#define SWAP_MIN (10 * SWAP_PAGE)

static bool match_swap(const char *fstype)
{
	return fstype && streq(fstype, "swap");
}

/* "01234567-89ab-..." -> 16 bytes; false when malformed. */
static bool parse_uuid(const char *s, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;
		while (*s == '-')
			s++;
		if (sscanf(s, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
		s += 2;
	}
	return *s == '\0';
}

/* Writes the Linux swap header (version 1) ourselves: busybox's mkswap, in
 * the initramfs, cannot set a UUID.  Layout: version, last page, bad pages,
 * UUID and label at byte 1024 of the first page; "SWAPSPACE2" ends the page. */
static int make_swap(const char *disk, const struct part_rec *p, unsigned sector_size)
{
	_cleanup_free_ char *node = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t page[SWAP_PAGE] = {0};
	uint32_t hdr[3] = {1, 0, 0};
	uint64_t bytes = p->size * sector_size;
	int r = blk_part_node(disk, p->num, &node);

	if (r < 0)
		return r;
	if (bytes < SWAP_MIN)
		return abur_fail(-EINVAL, "%s: too small for swap", node);
	hdr[1] = (uint32_t)(bytes / SWAP_PAGE - 1);
	memcpy(page + 1024, hdr, sizeof(hdr));
	if (p->fsuuid && !parse_uuid(p->fsuuid, page + 1024 + 12))
		return abur_fail(-EINVAL, "swap UUID '%s' is malformed", p->fsuuid);
	if (p->fslabel)
		strncpy((char *)page + 1024 + 28, p->fslabel, 16);
	memcpy(page + SWAP_PAGE - 10, "SWAPSPACE2", 10);
	fd = open(node, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return abur_fail(-errno, "%s: %m", node);
	errno = 0; /* a short write sets none */
	if (pwrite(fd, page, SWAP_PAGE, 0) != SWAP_PAGE || fsync(fd) < 0)
		return abur_fail(errno ? -errno : -EIO, "%s: writing the swap header: %m", node);
	return 0;
}

const struct part_method pm_swap = {
    .name = "swap",
    .match = match_swap,
    .finish = make_swap,
    .min_bytes = SWAP_MIN,
    .flags = PMF_FS_UUID,
};
