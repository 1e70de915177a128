/* The agent's report: every line it said, kept for the store's log and
 * the restored system's /var/log/abur/. */
#ifndef ABUR_REPORT_H
#define ABUR_REPORT_H

#include "core/util.h"
#include "store/store.h"

struct report {
	char *buf;
	size_t len;
	int64_t started;
};

void report_line(struct report *r, const char *fmt, ...) PRINTF(2, 3);
void report_free(struct report *r);
/* "restore-YYYYmmdd-HHMMSS.txt" for the start time. Caller frees. */
char *report_name(const struct report *r, const char *what);
/* Writes it to <store>/log/NAME. */
int report_to_store(const struct report *r, struct store *s, const char *name) MUST_CHECK;
/* Writes it to var/log/abur/NAME in the root filesystem on disk dev (the
 * first ext2/3/4 partition holding /etc), mounted for the purpose. */
int report_to_disk(const struct report *r, const char *dev, const char *name) MUST_CHECK;
#endif
