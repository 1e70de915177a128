/* The partition methods, in match order (libblkid's idinfos[]): the first
 * whose match() claims a partition's filesystem type captures it.  Adding a
 * filesystem: its file pm_NAME.c and one row here (doc/design.md, "Adding a
 * filesystem"). */
#include "abur/kconfig.h"
#include "imgint.h"

extern const struct part_method pm_ext, pm_bitlocker, pm_swap, pm_raw;
/* Built only with its library (Kconfig): weak, so a row that is off is NULL. */
extern const struct part_method pm_ntfs __attribute__((weak));

/* A method whose feature is off: its row is NULL, and skipped. */
#define FEATURE(opt, m) (IS_ENABLED(opt) ? (m) : NULL)

/* The first match wins: raw, which claims everything, stays last. */
static const struct part_method *const part_method_table[] = {
    &pm_ext, FEATURE(CONFIG_IMAGE_NTFS, &pm_ntfs), &pm_bitlocker, &pm_swap, &pm_raw,
};

const struct part_method *part_method_match(const char *fstype)
{
	for (size_t i = 0; i < ARRAY_SIZE(part_method_table); i++)
		if (part_method_table[i] && part_method_table[i]->match(fstype))
			return part_method_table[i];
	return &pm_raw;
}

const struct part_method *part_method_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(part_method_table); i++)
		if (part_method_table[i] && streq(part_method_table[i]->name, name))
			return part_method_table[i];
	return NULL;
}

const struct part_method *const *part_methods(size_t *n)
{
	*n = ARRAY_SIZE(part_method_table);
	return part_method_table;
}
