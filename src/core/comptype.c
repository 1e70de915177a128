/* The component types (libfdisk's label operations, as data): adding one is
 * an enum value and a row here, and the flags say what it takes part in. */
#include "comptype.h"

static const struct comp_type_info comp_type_table[] = {
    [COMP_FILES] = {"files", CT_FILE_TREE | CT_WATCHED},
    [COMP_DISK] = {"disk", CT_DISK_IMAGE},
};

const struct comp_type_info *comp_type_info(enum comp_type t)
{
	return &comp_type_table[t];
}

const char *comp_type_name(enum comp_type t)
{
	return comp_type_table[t].name;
}

int comp_type_parse(const char *name, enum comp_type *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(comp_type_table); i++)
		if (streq(name, comp_type_table[i].name)) {
			*t = (enum comp_type)i;
			return 0;
		}
	return -EINVAL;
}

const struct comp_type_info *comp_types(size_t *n)
{
	*n = ARRAY_SIZE(comp_type_table);
	return comp_type_table;
}
