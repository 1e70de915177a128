/* Fields of a struct named in a text format: one descriptor per key (its
 * type, where it lives, its bounds) and one engine that parses a value
 * into the struct, checking it, and formats it back.  abur.ini
 * (core/config.c), layout.ini (image/layoutini.c) and the daemon state
 * (watch/state.c) are tables of these. */
#ifndef ABUR_FIELDS_H
#define ABUR_FIELDS_H

#include <stddef.h>

#include "util.h"

enum field_type {
	FT_STR,      /* char *: "" stores NULL; not written when NULL */
	FT_UINT,     /* unsigned, lo..hi (hi 0: UINT_MAX) */
	FT_U64,      /* uint64_t, lo..hi (hi 0: UINT64_MAX) */
	FT_TIME,     /* time_t, seconds lo..hi; written as 0 when before 1970 */
	FT_PID,      /* pid_t, lo..hi */
	FT_FLAG,     /* bool, written 1 or 0, read 0 or 1 */
	FT_BOOL,     /* bool, written yes or no, read as parse_bool() */
	FT_ENUM,     /* int (an enum): the index of the value in names */
	FT_DURATION, /* uint64_t seconds as parse_duration(), lo..hi */
	FT_SIZE,     /* uint64_t bytes as parse_size(), lo..hi */
	FT_HHMM,     /* unsigned minutes after midnight, "HH:MM" */
	FT_HEX,      /* char[hi + 1]: exactly hi lower-case hex digits; not written when "" */
	FT_LIST,     /* char ** at off, size_t count at noff: words split at blanks and commas; each line adds */
	FT_CUSTOM,   /* parse() and format() of the table's own (they record their errors) */
};

/* FT_STR: refuse "" (FF_NONEMPTY), anything but an absolute path
 * (FF_PATH), control characters or more than hi bytes (FF_TEXT). */
enum { FF_NONEMPTY = 1, FF_PATH = 2, FF_TEXT = 4 };

struct field {
	const char *key;
	enum field_type type;
	size_t off;
	uint64_t lo, hi;
	unsigned flags;
	const char *const *names; /* FT_ENUM */
	size_t nnames;
	size_t noff; /* FT_LIST: the count */
	/* FT_CUSTOM: p is base + off; format() returns NULL for "not written" */
	int (*parse)(const struct field *f, void *p, const char *val);
	char *(*format)(const struct field *f, const void *p);
};

/* The descriptor of key in t[0..n), or NULL. */
const struct field *field_find(const struct field *t, size_t n, const char *key);
/* Parses val into the field of the struct at base: 0; -EINVAL when val is
 * not of the field's type, -ERANGE when it is outside the bounds, with
 * "KEY = VALUE: what was expected" recorded (abur_errmsg()). */
int field_parse(const struct field *f, void *base, const char *val) MUST_CHECK;
/* The field's value as field_parse() reads it back (caller frees); NULL
 * when it is not written (an unset string or digest, an empty list).  A
 * list is its words separated by one space. */
char *field_format(const struct field *f, const void *base);
/* "KEY<sep>VALUE\n" for each field of t[0..n) that is written.  A list
 * longer than INI_LINE_MAX goes on more lines of the same key. */
void field_write(FILE *out, const struct field *t, size_t n, const void *base, const char *sep);
#endif
