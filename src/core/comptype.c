/* The component types (libfdisk's label operations, as data): adding one is
 * a line of COMP_TYPES (comptype.h), and the flags say what it takes part in. */
#include "comptype.h"

#define NAME(e, name, flags) [e] = name,
#define ROW(e, name, flags) [e] = {name, flags},
const char *const comp_type_names[COMP_TYPE_COUNT] = {COMP_TYPES(NAME)};
static const struct comp_type_info comp_type_table[] = {COMP_TYPES(ROW)};
#undef NAME
#undef ROW

const struct comp_type_info *comp_type_info(enum comp_type t)
{
	return &comp_type_table[t];
}

const char *comp_type_name(enum comp_type t)
{
	return comp_type_table[t].name;
}

const struct comp_type_info *comp_types(size_t *n)
{
	*n = ARRAY_SIZE(comp_type_table);
	return comp_type_table;
}
