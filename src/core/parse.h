/* Parsers for configuration values.  All return 0 or -EINVAL. */
#ifndef ABUR_PARSE_H
#define ABUR_PARSE_H

#include "util.h"

/* "30s", "60m", "1h", "2d", or a plain number of seconds ("0"). */
int parse_duration(const char *s, uint64_t *seconds) MUST_CHECK;
/* "HH:MM" (00:00 .. 23:59) -> minutes after midnight. */
int parse_hhmm(const char *s, unsigned *minutes) MUST_CHECK;
/* "512", "64K", "1M", "16G" (binary units) -> bytes. */
int parse_size(const char *s, uint64_t *bytes) MUST_CHECK;
/* yes/no, true/false, on/off, 1/0. */
int parse_bool(const char *s, bool *v) MUST_CHECK;
/* Unsigned integer within [lo, hi]; -ERANGE when outside. */
int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *v) MUST_CHECK;
/* "1h 5m" style, for printing durations. Returns buf. */
char *fmt_duration(uint64_t seconds, char *buf, size_t len);
#endif
