/* INI reading with line numbers, on top of inih.
 *
 * inih does the syntax; this wrapper feeds it from memory, counts lines,
 * reports section headers (inih does not), and turns lines inih rejects or
 * truncates into errors that name the line. */
#ifndef ABUR_INI_H
#define ABUR_INI_H

#include "util.h"

/* Called for a section header (key == NULL) and for each key = value.
 * Return 0 to go on, < 0 to record that the line was rejected (the callback
 * records its own message). */
typedef int (*ini_cb)(void *user, const char *section, const char *key, const char *value, int line);
/* Called for a syntax error inih found, or a line too long. */
typedef void (*ini_syntax_cb)(void *user, int line, const char *what);

/* Parses text[0..len). Returns 0 when every line was accepted, else -EINVAL
 * (after calling the callbacks for every problem). A NUL byte in text is a
 * syntax error. */
int ini_walk(const char *text, size_t len, ini_cb cb, ini_syntax_cb syntax, void *user) MUST_CHECK;

/* The first line of text[0..len) that starts with a blank and is not
 * blank (1-based), 0 when none.  The reader adds such a continuation line
 * to the key before it and strips no inline comment from it, so formats
 * that a program writes refuse it (their writer never makes one). */
int ini_continuation_line(const char *text, size_t len);

#define INI_LINE_MAX 199
#endif
