/* Component types: what `type =` in abur.ini makes a component.  One row
 * per type in src/core/comptype.c:comp_type_table[]; code that treats types
 * differently asks the row's flags (component_is()), never the enum value. */
#ifndef ABUR_COMPTYPE_H
#define ABUR_COMPTYPE_H

#include "util.h"

/* X(ENUM, NAME, FLAGS) for each type, in enum order: the one list the
 * enum, the names and comp_type_table[] are made from. */
#define COMP_TYPES(X)                                                                                                  \
	X(COMP_FILES, "files", CT_FILE_TREE | CT_WATCHED)                                                              \
	X(COMP_DISK, "disk", CT_DISK_IMAGE)

#define COMP_TYPE_ENUM(e, name, flags) e,
enum comp_type { COMP_TYPES(COMP_TYPE_ENUM) COMP_TYPE_COUNT };
#undef COMP_TYPE_ENUM

enum comp_type_flags {
	/* A tree of files under its paths (at least one), stored as
	 * data.tar.zst by store/tree.c:backup_component: `abur backup` and
	 * the daemon back it up, `abur restore` extracts it, seal backs it up
	 * from the sealed disk's root filesystem and reimage restores it
	 * there; the os capture leaves its paths to it. */
	CT_FILE_TREE = 1 << 0,
	/* The daemon finds its changes: inotify on its paths (unless policy =
	 * manual) and its content digest.  Without it the capture is its own
	 * change check, made at every nightly run. */
	CT_WATCHED = 1 << 1,
	/* The system disk, by the image module (needs CONFIG_IMAGE): sealed by
	 * `abur seal`, its updates captured by image_capture; no paths, at
	 * most one, no policy = change; its status shows seal and update. */
	CT_DISK_IMAGE = 1 << 2,
};

struct comp_type_info {
	const char *name; /* type = NAME in abur.ini */
	unsigned flags;   /* enum comp_type_flags */
};

/* The names, indexed by enum comp_type (abur.ini's type = NAME). */
extern const char *const comp_type_names[COMP_TYPE_COUNT];
/* The row of t (a value of enum comp_type). */
const struct comp_type_info *comp_type_info(enum comp_type t);
const char *comp_type_name(enum comp_type t);
/* The table, indexed by enum comp_type (for its unit test). */
const struct comp_type_info *comp_types(size_t *n);
#endif
