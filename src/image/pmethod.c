/* The partition methods, in match order (libblkid's idinfos[]): the first
 * whose match() claims a partition's filesystem type captures it.  Adding a
 * filesystem: its file pm_NAME.c and one row here (doc/design.md, "Adding a
 * filesystem"). */
#include "imgint.h"

extern const struct part_method pm_ext, pm_swap, pm_raw;

/* The first match wins: raw, which claims everything, stays last. */
static const struct part_method *const part_method_table[] = {&pm_ext, &pm_swap, &pm_raw};

const struct part_method *part_method_match(const char *fstype)
{
	for (size_t i = 0; i < ARRAY_SIZE(part_method_table); i++)
		if (part_method_table[i]->match(fstype))
			return part_method_table[i];
	return &pm_raw;
}

const struct part_method *part_method_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(part_method_table); i++)
		if (streq(part_method_table[i]->name, name))
			return part_method_table[i];
	return NULL;
}

const struct part_method *const *part_methods(size_t *n)
{
	*n = ARRAY_SIZE(part_method_table);
	return part_method_table;
}
