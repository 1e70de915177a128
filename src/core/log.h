/* Logging: one printf-checked function with levels, to stderr and syslog.
 * Only the cmd layer and the daemon/agent loops log; libraries use
 * abur_fail() and return. */
#ifndef ABUR_LOG_H
#define ABUR_LOG_H

#include "util.h"

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident: syslog ident; use_syslog: also send to syslog (when built with
 * CONFIG_SYSLOG). Safe to call more than once. */
void log_setup(const char *ident, bool use_syslog);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Timestamps on stderr lines (daemon and agent consoles). */
void log_set_timestamps(bool on);

void log_msg(enum log_level lvl, const char *fmt, ...) PRINTF(2, 3);
/* Logs "fmt: <recorded error or strerror(r)>" at error level; returns r. */
/* To syslog only (when enabled): for programs that talk to the console
 * themselves, like the boot agent, so lines are not shown twice. */
void log_syslog(enum log_level lvl, const char *fmt, ...) PRINTF(2, 3);
int log_error_errno(int r, const char *fmt, ...) PRINTF(2, 3);
int log_warn_errno(int r, const char *fmt, ...) PRINTF(2, 3);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#endif
