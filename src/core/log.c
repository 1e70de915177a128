#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "abur/kconfig.h"

static enum log_level level = LOG_LVL_INFO;
static bool to_syslog;
static bool stamps;
static const char *ident_name = "abur";

void log_setup(const char *ident, bool use_syslog)
{
	ident_name = ident;
	to_syslog = IS_ENABLED(CONFIG_SYSLOG) && use_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_set_level(enum log_level lvl)
{
	level = lvl;
}
enum log_level log_get_level(void)
{
	return level;
}
void log_set_timestamps(bool on)
{
	stamps = on;
}

static void vlog(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *const tag[] = {"error: ", "warning: ", "", "debug: "};
	char msg[2048];
	char when[32] = "";

	if (lvl > level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (stamps) {
		time_t t = time(NULL);
		struct tm tm;
		strftime(when, sizeof(when), "%H:%M:%S ", localtime_r(&t, &tm));
	}
	fprintf(stderr, "%s%s: %s%s%s%s\n", when, ident_name, tag[lvl], msg, suffix ? ": " : "", suffix ? suffix : "");
	if (to_syslog)
		syslog(prio[lvl], "%s%s%s", msg, suffix ? ": " : "", suffix ? suffix : "");
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, NULL, fmt, ap);
	va_end(ap);
}

void log_syslog(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[2048];
	va_list ap;

	if (!to_syslog || lvl > level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	syslog(prio[lvl], "%s", msg);
}

int log_error_errno(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, abur_errmsg(r), fmt, ap);
	va_end(ap);
	return r;
}

int log_warn_errno(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, abur_errmsg(r), fmt, ap);
	va_end(ap);
	return r;
}
