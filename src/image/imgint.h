/* Internals of the image module shared between its files. */
#ifndef ABUR_IMGINT_H
#define ABUR_IMGINT_H

#include <archive.h>
#include <blkid.h>

#include "core/blk.h"
#include "core/config.h"
#include "core/proc.h"
#include "core/util.h"
#include "store/store.h"
#include "image.h"

#define MiB (1024ULL * 1024)
/* The boot area is stored up to the first partition, at most this much. */
#define BOOTAREA_MAX (32 * MiB)
#define MBR_CODE_LEN 440
#define GPT_BACKUP_SECTORS 33
/* Partition numbers a layout may use, and GPT entry arrays it may have. */
#define PART_NUM_MAX 256
#define GPT_ENTRIES_MAX 1024

struct part_rec;

/* What a partition method asks of the rest of the image module. */
enum part_method_flags {
	PMF_ZERO_HOLES = 1 << 0, /* its holes are content (all-zero blocks): reimage zeroes them on the target */
	PMF_FILES = 1 << 1,      /* seal indexes its files (index.tar.zst): os updates capture it file by file */
	PMF_RAW_AREA = 1 << 2,   /* os updates capture it whole, as a raw area, when at most OSRAW_PART_MAX */
	PMF_FS_UUID = 1 << 3,    /* finish writes fs_uuid back: layout.ini must hold a UUID there */
	PMF_ENCRYPTED = 1 << 4,  /* unreadable without its key: its scan refuses it, unless SCAN_RAW_ENCRYPTED */
};

/* How blocks_scan() treats what it finds. */
enum scan_flags {
	SCAN_RAW_ENCRYPTED = 1 << 0, /* a PMF_ENCRYPTED partition is stored raw (part_method_match(NULL)) */
};

/* How a partition's content is captured and brought back (libfdisk's
 * fdisk_label_operations, one per method).  Each method is one file
 * (pm_ext.c, pm_swap.c, pm_raw.c) and one row of the ordered table
 * pmethod.c:part_method_table[]: the first row whose match() claims the
 * filesystem type wins; the last row claims everything. */
struct part_method {
	const char *name; /* method = NAME in layout.ini */
	/* Claims a partition by libblkid's TYPE (NULL: no signature found). */
	bool (*match)(const char *fstype);
	/* Adds the extents to store to p->map (bytes from the partition
	 * start) for the partition at [off, off+size) of fd (dev is the same
	 * disk).  NULL: nothing is stored (no pN.img); finish recreates it. */
	int (*scan)(int fd, const char *dev, uint64_t off, uint64_t size, struct part_rec *p);
	/* After the table is written and the kernel knows partition p of
	 * disk: recreates what was not stored.  NULL: nothing to do. */
	int (*finish)(const char *disk, const struct part_rec *p, unsigned sector_size);
	/* Partition p, the last, grew to the end of disk: its content
	 * follows.  NULL: it stays the size it was sealed at. */
	int (*grow)(const char *disk, const struct part_rec *p);
	/* The programs grow runs (NULL-terminated; NULL: none): a reimage
	 * that would grow refuses before its first write when one is missing. */
	const char *const *grow_tools;
	uint64_t min_bytes; /* the smallest partition it can hold (a layout rule) */
	unsigned flags;     /* enum part_method_flags */
};

/* pmethod.c: the method claiming fstype (NULL: none found); never NULL. */
const struct part_method *part_method_match(const char *fstype);
/* The method called name in layout.ini; NULL when there is none. */
const struct part_method *part_method_find(const char *name);
/* The table itself, in match order (for its unit test); a row whose
 * feature is off (CONFIG_IMAGE_NTFS) is NULL. */
const struct part_method *const *part_methods(size_t *n);

struct extent {
	uint64_t off, len; /* bytes, relative to the partition start */
};

struct extents {
	struct extent *e;
	size_t n, cap;
	uint64_t bytes; /* sum of len */
};

struct part_rec {
	unsigned num;
	uint64_t start, size; /* sectors */
	char *type, *uuid, *name, *attrs;
	bool bootable; /* DOS active flag */
	char *fstype, *fsuuid, *fslabel;
	const struct part_method *method; /* set by blocks_scan() or layout_parse() */
	uint64_t used;                    /* bytes stored in pN.img */
	struct extents map;
};

/* Whether the partition's content is stored (as pN.img). */
static inline bool part_stored(const struct part_rec *p)
{
	return p->method->scan != NULL;
}

struct layout {
	char *label; /* "gpt" or "dos" */
	char *id;
	unsigned sector_size;
	uint64_t disk_size; /* bytes of the sealed disk */
	uint64_t first_lba, last_lba;
	unsigned entries;  /* GPT partition entries */
	uint64_t bootarea; /* bytes before the first partition that are stored */
	unsigned root;     /* partition number of the root filesystem, 0: none */
	struct part_rec *parts;
	size_t nparts;
};

/* extents.c */
void extents_add(struct extents *x, uint64_t off, uint64_t len);
void extents_free(struct extents *x);

/* layout.c (libfdisk) */
int layout_read(const char *dev, struct layout *l) MUST_CHECK;
/* Creates the label on dev; with grow, the last partition (and its size
 * in l) extends to the end of the disk. */
int layout_write(const char *dev, struct layout *l, uint64_t disk_bytes, bool grow) MUST_CHECK;
/* Builds the same label (without growing) on a sparse scratch file of
 * disk_bytes with l's sector size: 0 when layout_write() would accept l
 * on a disk of that size; the error it would give otherwise. */
int layout_try(const char *dev, const struct layout *l, uint64_t disk_bytes) MUST_CHECK;
void layout_free(struct layout *l);
/* Whether grow_last_partition grows l's last partition (l has one). */
bool layout_can_grow(const struct layout *l);
/* Bytes a target needs: end of the last partition, plus the GPT backup. */
uint64_t layout_required(const struct layout *l);
/* Bytes before the first partition that belong to no label structure. */
uint64_t layout_gap_start(const struct layout *l);
const struct part_rec *layout_part(const struct layout *l, unsigned num);

/* layoutini.c */
char *layout_format(const struct layout *l);
int layout_parse(const char *text, size_t len, struct layout *l) MUST_CHECK;
/* The rules of a layout, checked on what seal read and on what reimage
 * is given (layout_parse() applies them): label, sector size, entries,
 * every partition inside the usable sectors and after the boot area,
 * no overlaps, no overflow of (start + size) * sector_size, types, ids
 * and names well-formed.  -EINVAL naming the partition and the rule. */
int layout_check(const struct layout *l) MUST_CHECK;
/* Whether l can be written onto dev of disk_bytes with sector_size-byte
 * logical sectors: the same sector size, the size it needs. */
int layout_check_target(const struct layout *l, const char *dev, uint64_t disk_bytes, unsigned sector_size) MUST_CHECK;

/* Filesystem signature at [off, off+size) of fd (no partition node
 * needed); outputs stay NULL when nothing is found. Caller frees. */
int probe_fs_at(int fd, uint64_t off, uint64_t size, char **type, char **uuid, char **label) MUST_CHECK;
/* The value of key in pr's results, copied; NULL when absent or empty. */
char *blkid_value(blkid_probe pr, const char *key);
/* pm_ext.c: the text of a libext2fs (com_err) error code, or of an errno value. */
const char *ext2_error_text(long code);
/* blocks.c: fills p->fs*, p->method (part_method_match(), or raw for an
 * encrypted partition with SCAN_RAW_ENCRYPTED), p->map and p->used from
 * the disk.  flags: enum scan_flags. */
int blocks_scan(int fd, const char *dev, unsigned sector_size, struct part_rec *p, unsigned flags) MUST_CHECK;
/* Whether seal stored partition p raw because it is encrypted. */
bool part_raw_encrypted(const struct part_rec *p);

/* writer.c: a thread that writes what reimage decompresses (see there).
 * Errors come back from the next call or from dwriter_finish(), which
 * also frees w. */
struct dwriter;
struct diskimg_dst;
struct dwriter *dwriter_start(struct diskimg_dst *d);
int dwriter_data(struct dwriter *w, uint64_t off, const void *buf, size_t n, const char *what) MUST_CHECK;
int dwriter_zero(struct dwriter *w, uint64_t off, uint64_t len, const char *what) MUST_CHECK;
int dwriter_finish(struct dwriter *w) MUST_CHECK;

/* diskimg.c */
struct diskimg_src {
	const char *dev;
	int fd;
	const struct layout *l;
	const char *layout_text;
	void (*progress)(void *arg, const char *stage, uint64_t done, uint64_t total);
	void *progress_arg;
};
/* A payload_spec fill callback: arg is a struct diskimg_src. */
int diskimg_fill(struct archive *a, void *arg);
/* One regular-file entry holding len bytes of data (mtime 0: repeatable). */
int diskimg_put_blob(struct archive *a, const char *name, const void *data, size_t len) MUST_CHECK;
/* The current entry's data (at most max bytes, else -EFBIG), NUL-terminated;
 * caller frees. */
int diskimg_read_small(struct archive *a, const char *name, size_t max, char **out, size_t *len) MUST_CHECK;

/* How far diskimg_extract() goes. */
enum diskimg_mode {
	DI_WRITE,  /* check each entry, write it */
	DI_CHECK,  /* check every entry against layout.ini and the target; write nothing */
	DI_LAYOUT, /* read and check layout.ini only, then stop */
};

struct diskimg_dst {
	int fd; /* the target disk, open for writing (DI_WRITE) */
	const char *dev;
	enum diskimg_mode mode;
	bool zero_holes;      /* zero the holes of raw partitions */
	uint64_t disk_size;   /* of the target: layout.ini must fit (0: unchecked) */
	unsigned sector_size; /* of the target: layout.ini must have it (0: unchecked) */
	struct layout l;      /* parsed from layout.ini */
	bool have_layout;
	char *bootarea; /* bootarea.bin (malloc'd) */
	size_t bootarea_len;
	uint64_t written;
	uint64_t unsynced; /* bytes written since writeback was last started */
	void (*progress)(void *arg, const char *stage, uint64_t done, uint64_t total);
	void *progress_arg;
	uint64_t total;    /* expected bytes, for progress */
	struct dwriter *w; /* while diskimg_extract() runs */
};
/* Reads every entry of an opened disk.tar.zst and writes partition data
 * into dst->fd (not the partition table nor sector 0).  DI_CHECK makes
 * the same checks without writing, so a run that passes it refuses
 * nothing later for the image's shape; DI_LAYOUT stops after layout.ini
 * (the caller discards the rest of the stream). */
int diskimg_extract(struct archive *a, struct diskimg_dst *dst) MUST_CHECK;
void diskimg_dst_free(struct diskimg_dst *dst);
/* pwrite through the I/O layer (fault injection); errors name the byte. */
int diskimg_write_at(struct diskimg_dst *d, uint64_t off, const void *buf, size_t n, const char *what) MUST_CHECK;
/* Zeroes [off, off+len) of the target (BLKZEROOUT, else writes zeros). */
int diskimg_zero(struct diskimg_dst *d, uint64_t off, uint64_t len, const char *what) MUST_CHECK;

/* imgutil.c: blk_reread_partitions() and blk_kernel_partitions() (core/blk.h)
 * for the partitions of l. */
int reread_partitions(const char *disk, const struct layout *l) MUST_CHECK;
int kernel_partitions(const char *disk, const struct layout *l) MUST_CHECK;
/* settings.c: restores the newest valid generation of the file-level
 * components (all, or the settings: license and config) into partition
 * root of dev, mounted read-write.  Returns how many were restored.
 * progress (may be NULL): each component's "check NAME" and "restore NAME"
 * stages (restore_want.progress). */
int image_restore_files(const struct abur_config *cfg, struct store *s, const char *dev, unsigned root,
			enum image_files which, const struct progress_hook *progress,
			struct files_result *fr) MUST_CHECK;
#endif
