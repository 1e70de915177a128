/* System disk imaging: probe, seal, reimage (the `os` component).
 *
 * This is the API the cmd layer and the boot agent use.  Everything here
 * returns 0 (or a count) on success and -errno on failure with the reason
 * recorded (abur_errmsg()); nothing prints.  Progress goes through a
 * callback so the caller decides how to show it (core/progress.h).
 *
 * The os payload disk.tar.zst is a pax archive holding, in this order:
 *   layout.ini    the partition table (label, disk id, partitions)
 *   bootarea.bin  the disk's bytes before the first partition
 *   pN.img        one sparse entry per copied partition: only used blocks
 * Swap partitions are recorded in layout.ini and recreated, not copied.
 */
#ifndef ABUR_IMAGE_H
#define ABUR_IMAGE_H

#include "core/config.h"
#include "core/util.h"
#include "store/store.h"

#define IMAGE_PAYLOAD "disk.tar.zst"
#define IMAGE_COMPONENT "os"
/* In the store while a reimage runs; removed when it succeeded. */
#define IMAGE_MARKER "state/reimage-incomplete"

enum disk_class { DISK_BLANK, DISK_OURS, DISK_FOREIGN, DISK_FLASH };

struct probe_part {
	unsigned num;
	uint64_t start, size; /* bytes */
	char *type, *uuid, *name;
	char *type_name;                 /* libfdisk's name of type; NULL unknown */
	char *fstype, *fsuuid, *fslabel; /* NULL when nothing was found */
};

struct disk_info {
	char *dev;    /* /dev/NAME */
	char *name;   /* kernel name: sda, nvme0n1, loop3 */
	char *model;  /* "" when unknown */
	char *serial; /* hardware serial; the kernel name when it has none */
	bool serial_is_name;
	bool removable;
	uint64_t size;
	char *slot;   /* by-path style, from sysfs: "pci-0000:00:04.0-nvme-1" */
	char *pttype; /* "gpt", "dos" or NULL */
	char *ptuuid;
	char *fstype;  /* a signature on the whole disk (ext4, linux_raid_member) */
	char *fslabel; /* its label, if any */
	struct probe_part *parts;
	size_t nparts;
	enum disk_class cls;
	char *reason; /* why it has that class */
};

/* Probes one disk (a whole-disk block device, or a regular file for tests).
 * sealed_id is the disk id of the newest sealed os image (NULL when no store
 * is available: then nothing is `ours`).  Free with disk_info_free(). */
int image_probe(const char *dev, const char *sealed_id, struct disk_info **out) MUST_CHECK;
void disk_info_free(struct disk_info *d);
DEFINE_CLEANUP(struct disk_info, disk_info_free)
const char *disk_class_name(enum disk_class c);

/* Whole disks the kernel has (those backed by a device: sd, nvme, vd,
 * mmcblk ...; not loop, ram, md, dm).  Caller frees each and the array. */
int image_list_disks(char ***devs, size_t *n) MUST_CHECK;

/* Resolves [disk] system: "auto" (the one non-flash, non-removable disk),
 * "slot:PCIADDR" (the disk whose sysfs device path contains it),
 * "serial:S", or a device path.  -ENODEV naming what was looked for, or
 * -ENOTUNIQ when "auto"/"slot:" match several disks. */
int image_resolve_system(const char *spec, char **dev) MUST_CHECK;

/* The newest seal's (a valid os generation that is not an update) disk id
 * and the size a target
 * needs (end of its last partition plus GPT backup area), and its seq.
 * -ENOENT when the store holds no os image.  Any out pointer may be NULL. */
int image_sealed_info(struct store *s, char **disk_id, uint64_t *required, uint64_t *seq) MUST_CHECK;
/* The manifest key listing the partitions an os generation holds as raw
 * copies of encrypted volumes ([disk] raw_encrypted). */
#define IMAGE_RAW_ENCRYPTED "raw_encrypted"
/* Its value ("4", "3 4": points into g's manifest); NULL when none. */
const char *image_raw_encrypted(const struct generation *g);

/* Progress: stage is a short word ("seal", "verify", "write", "restore");
 * done/total in bytes (total 0 when unknown). */
typedef void (*image_progress_fn)(void *arg, const char *stage, uint64_t done, uint64_t total);

struct seal_opts {
	image_progress_fn progress;
	void *progress_arg;
	/* Told each warning of a sealed file component (a special file left
	 * out); may be NULL. */
	void (*warn)(void *arg, const char *component, const char *line);
	void *warn_arg;
};

struct seal_result {
	uint64_t seq;        /* the new os generation */
	uint64_t used_bytes; /* partition bytes stored */
	uint64_t payload_bytes;
	unsigned components; /* file-level components sealed */
	bool reused;         /* the disk is exactly the effective seal seq: not stored again */
};

/* Captures the unmounted disk dev into a new pinned os generation, then
 * seals every [component] with type = files from its root filesystem
 * (mounted read-only under a temp dir).  Refuses a mounted disk (-EBUSY,
 * naming the mount).  s must be open STORE_WRITE. */
int image_seal(const struct abur_config *cfg, struct store *s, const char *dev, const struct seal_opts *o,
	       struct seal_result *res) MUST_CHECK;

/* What an os update generation holds (its manifest's [extra]). */
struct update_info {
	uint64_t base; /* the seal it is based on */
	uint64_t added, changed, deleted, metadata, new_bytes;
	const char *needs; /* "1 5 7": points into the manifest */
};
/* True when g is a valid os update generation; fills *u (may be NULL). */
bool image_update_info(const struct generation *g, struct update_info *u);
/* The effective seal of the os generations l (the seal record's, else the
 * newest seal), or NULL; and the newest update based on it, or NULL. */
const struct generation *image_newest_seal(struct store *s, const struct gen_list *l);
const struct generation *image_newest_update(const struct gen_list *l, const struct generation *seal);

/* abur ls and abur diff of os generation g of l: a seal's base index
 * entries, an update's effective tree (its seal with its state laid over),
 * as one OSIDX_BASE index (core/osidx.h) over every captured filesystem,
 * paths "pN/PATH" ("pN" for filesystem N's root), sorted.  The payloads
 * read are hash-checked.  out is empty on failure. */
int image_os_entries(struct store *s, const struct gen_list *l, const struct generation *g,
		     struct osidx *out) MUST_CHECK;

struct export_result {
	uint64_t files; /* file contents written */
	unsigned raw;   /* raw areas written */
};
/* abur export of an os update generation g (of the os generations gl):
 * one pax tar.zst at path (doc/design.md "Seeing and getting updates").
 * progress (may be NULL): stage "export os", content bytes written of
 * every file the states add. */
int image_export_update(struct store *s, const struct gen_list *gl, const struct generation *g, const char *path,
			const struct progress_hook *progress, struct export_result *res) MUST_CHECK;

struct capture_result {
	uint64_t seq;  /* the new update generation; 0 when unchanged */
	uint64_t base; /* the seal it is based on */
	bool unchanged;
	uint64_t added, changed, deleted, metadata; /* paths, against the seal */
	uint64_t new_bytes;                         /* content written tonight */
	uint64_t payload_bytes;
	unsigned raw_stored;      /* raw areas written tonight */
	unsigned filesystems;     /* captured */
	unsigned unmounted;       /* sealed filesystems not mounted now: not captured */
	uint64_t skipped_updates; /* newer updates whose state did not read back */
};

/* Captures what changed on the sealed filesystems (the running system's
 * "/" mounted at root) and raw areas since the newest seal, as an update
 * generation of os (doc/design.md "A capture").  Unchanged since the last
 * capture: res->unchanged, nothing written.  -EAGAIN naming the file when
 * a file kept changing while it was read (the caller defers); -ESTALE
 * when root is not on the sealed disk or its partitions moved; -ENOENT
 * when there is no seal, or it has no file index.  tag: a restore point
 * (store_tag_valid()), committed even when unchanged; NULL for none.
 * s: STORE_WRITE.  progress (may be NULL): stage "scan os" as files are
 * hashed (bytes, no total), then "backup os" as tonight's content is
 * archived (bytes, of its size). */
int image_capture(const struct abur_config *cfg, struct store *s, const char *root, const char *trigger,
		  const char *tag, const struct progress_hook *progress, struct capture_result *res) MUST_CHECK;

struct reimage_opts {
	uint64_t generation; /* 0: newest that verifies; a seal (no update), or an update (its seal, then it) */
	bool no_update;      /* the bare seal, as delivered */
	const char *confirm; /* the disk's serial: needed for ours/foreign */
	bool grow;           /* grow the last partition and its ext fs */
	bool skip_settings;  /* do not restore software/license/config */
	bool verified;       /* the caller has just verified `generation`: skip a second read before writing
			       (the write pass still checks the hash at its end) */
	image_progress_fn progress;
	void *progress_arg;
};

/* What a restore of file components into a disk passed over. */
struct files_result {
	unsigned passed_over; /* newer generations that failed their check */
	char *why;            /* "config g000004 (1 newer fails its check)"; NULL: none (caller frees) */
};
struct reimage_result {
	uint64_t seq;            /* the os seal written */
	uint64_t skipped;        /* a newer seal that failed verification, or 0 */
	uint64_t update;         /* the os update generation applied over it, 0: none */
	uint64_t update_skipped; /* newer updates of that seal passed over (damaged) */
	char *update_why;        /* why the newest update was passed over, or NULL (caller frees) */
	uint64_t written;
	uint64_t update_files, update_deleted; /* what the update stage wrote and removed */
	unsigned update_raw;                   /* raw areas it wrote */
	unsigned components;                   /* file-level components restored */
	struct files_result files;             /* what they fell back past */
};

/* Writes an os generation onto dev, then the newest valid generations of
 * the file-level components into its root filesystem.  Checks before
 * writing: class (blank; ours/foreign only with confirm == serial; flash
 * never: -EPERM), size (-ENOSPC naming the size needed), the image's hashes
 * (gen_verify).  Refusals (class, size, no image) change nothing.  Once
 * the run starts (verification first) IMAGE_MARKER is in the store until
 * success: an INI-like text with disk, serial, model, generation, stage
 * (verify, write, table, partitions, settings), written (yes once the disk
 * was touched) and error.  Read it with store_get_file(s, IMAGE_MARKER).
 * s: STORE_WRITE. */
int image_reimage(const struct abur_config *cfg, struct store *s, const char *dev, const struct reimage_opts *o,
		  struct reimage_result *res) MUST_CHECK;

/* What a reimage would write (image_reimage_plan). */
struct reimage_plan_part {
	unsigned num;
	uint64_t start, size; /* bytes on the target, as sealed (the last one may grow) */
	const char *method;   /* layout.ini method: static */
	char *type, *fstype;  /* NULL when none */
	uint64_t stored;      /* bytes of its content the image holds */
};
struct reimage_plan_comp {
	const char *name; /* the configured component's */
	uint64_t seq;     /* its newest generation that verifies, 0: none */
};
struct reimage_plan {
	struct disk_info *disk;
	bool needs_confirm;            /* ours or foreign, and the serial was not given: a run is refused */
	uint64_t seq;                  /* the os seal */
	uint64_t update;               /* the update over it, 0: none */
	time_t seal_time, update_time; /* when they were sealed and captured */
	uint64_t update_skipped;
	char *update_why; /* why the newest update is passed over, or NULL */
	char *label;      /* "gpt" or "dos" */
	unsigned sector_size;
	bool grow; /* the last partition grows to the end of the disk */
	struct reimage_plan_part *parts;
	size_t nparts;
	uint64_t bytes;                  /* the boot area and every partition's stored content */
	struct reimage_plan_comp *comps; /* none with skip_settings or no root partition */
	size_t ncomps;
};

/* The checks image_reimage() makes before it writes (class, the image
 * chosen, size, the layout's fit; the update's closure verified; the
 * files components' newest verifying generations), writing nothing at
 * all, not even the marker.  Unlike a run it accepts an ours or foreign
 * disk without o->confirm, setting p->needs_confirm.  The image's own
 * end-to-end read is left to the run.  Free p with reimage_plan_free()
 * whatever the result. */
int image_reimage_plan(const struct abur_config *cfg, struct store *s, const char *dev, const struct reimage_opts *o,
		       struct reimage_plan *p) MUST_CHECK;
void reimage_plan_free(struct reimage_plan *p);
/* p as lines of text, each handed to line (no newline): the plan that
 * `abur reimage --dry-run` prints and the agent shows. */
void reimage_plan_text(const struct reimage_plan *p, void (*line)(void *arg, const char *text), void *arg);
/* "model M, serial S, SIZE (N bytes)": one spelling of a disk for every command. */
char *disk_summary(const struct disk_info *d);

/* Whether a filesystem of type fstype (libblkid's name) can be a Linux
 * root filesystem: where seal, reimage and the agent's report look. */
bool image_root_capable(const char *fstype);

/* Which file-level components a restore into a disk brings back. */
enum image_files {
	IMAGE_FILES_SETTINGS, /* license and config: the disk itself is fine */
	IMAGE_FILES_ALL,      /* every one (software too): after a reimage */
};
/* Restores the newest valid generation of each component in which into
 * dev's root filesystem, which must hold the sealed layout already.
 * Returns the number of components restored; fr (may be NULL) gets what
 * fell back past a damaged generation.  progress (may be NULL): as for
 * restore_component(), per component. */
int image_restore_settings(const struct abur_config *cfg, struct store *s, const char *dev, enum image_files which,
			   const struct progress_hook *progress, struct files_result *fr) MUST_CHECK;
#endif
