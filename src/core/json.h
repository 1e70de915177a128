/* A small streaming JSON writer for --json output and event logs.
 * key is NULL for array elements and the top-level value. */
#ifndef ABUR_JSON_H
#define ABUR_JSON_H

#include <stdio.h>

#include "util.h"

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];
	bool pretty;
};

void json_init(struct json *j, FILE *f, bool pretty);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val); /* NULL -> null */
void json_int(struct json *j, const char *key, int64_t val);
void json_uint(struct json *j, const char *key, uint64_t val);
void json_bool(struct json *j, const char *key, bool val);
/* KEY: t as RFC 3339 UTC, "2026-12-03T12:00:00Z" (null outside the years
 * 0..9999), and KEY_epoch: t in seconds (doc/abur.8 JSON OUTPUT). */
void json_time(struct json *j, const char *key, int64_t t);
/* json_time(), but both null when t is 0: a state time that has not
 * happened ("never"). */
void json_time_or_never(struct json *j, const char *key, int64_t t);
/* Ends the document with a newline. */
void json_end(struct json *j);
/* Writes s as a JSON string literal (with quotes). */
void json_write_string(FILE *f, const char *s);
#endif
