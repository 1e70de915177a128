/* The raw areas of a sealed disk that an update capture compares and
 * stores (doc/design.md "What is captured"): sector 0's boot code, the gap
 * after the label's own structures, and every small partition captured by
 * blocks (a BIOS boot partition, an ESP).  The label's structures (sector
 * 0's table, the GPT header and entries) are never among them: reimage
 * always writes the sealed table. */
#ifndef ABUR_OSRAW_H
#define ABUR_OSRAW_H

#include "imgint.h"

/* Partitions captured by blocks larger than this are not raw areas. */
#define OSRAW_PART_MAX (256 * MiB)

struct osraw {
	char name[16]; /* "bootcode", "gap", "p1" ...: manifest keys raw_<name> */
	unsigned part; /* partition number, 0 for the boot area's pieces */
	uint64_t off;  /* bytes from the start of the disk */
	uint64_t len;
	char sha[SHA256_HEX_LEN];
};

/* The raw areas of l (malloc'd array; *n gets the count). */
struct osraw *osraw_list(const struct layout *l, size_t *n);
/* Adds area a, read from fd (the whole disk), to an archive as the
 * regular-file entry "<name>.bin". */
int osraw_put(struct archive *ar, int fd, const char *dev, const struct osraw *a) MUST_CHECK;
/* Reads each area from fd (the whole disk; call sync() first: the areas
 * are read from the media, not from this device's page cache) and fills
 * its sha. */
int osraw_hash(int fd, const char *dev, struct osraw *v, size_t n) MUST_CHECK;
#endif
