#include "events.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "core/json.h"
#include "core/log.h"

static const struct {
	const char *name;
	enum log_level level;
} kinds[EV__COUNT] = {
    [EV_START] = {"start", LOG_LVL_INFO},
    [EV_STOP] = {"stop", LOG_LVL_INFO},
    [EV_BACKUP] = {"backup", LOG_LVL_INFO},
    [EV_UNCHANGED] = {"skipped-unchanged", LOG_LVL_INFO},
    [EV_DEFERRED] = {"deferred", LOG_LVL_INFO},
    [EV_FORCED] = {"forced", LOG_LVL_WARN},
    [EV_FLASH_MISSING] = {"flash-missing", LOG_LVL_WARN},
    [EV_FLASH_BACK] = {"flash-back", LOG_LVL_INFO},
    [EV_RESCAN] = {"rescan", LOG_LVL_INFO},
    [EV_CHANGED_OFFLINE] = {"changed-offline", LOG_LVL_INFO},
    [EV_ERROR] = {"error", LOG_LVL_ERROR},
    [EV_WARNING] = {"warning", LOG_LVL_WARN},
};

const char *event_name(enum event_kind k)
{
	return (unsigned)k < EV__COUNT ? kinds[k].name : "?";
}

void events_init(struct event_log *l, const char *path, uint64_t max)
{
	memset(l, 0, sizeof(*l));
	l->path = path && *path ? path : NULL;
	l->max = max;
}

static char *format_line(time_t now, enum event_kind k, const char *component, uint64_t seq, const char *msg)
{
	char *buf = NULL;
	size_t len = 0;
	struct json j;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	json_init(&j, f, false);
	json_obj_begin(&j, NULL);
	json_time(&j, "time", now); /* the rule of every --json time: RFC 3339 and time_epoch */
	json_str(&j, "event", kinds[k].name);
	if (component)
		json_str(&j, "component", component);
	if (seq)
		json_uint(&j, "generation", seq);
	json_str(&j, "message", msg);
	json_obj_end(&j);
	json_end(&j);
	fclose(f);
	return buf;
}

static int append(const struct event_log *l, const char *line)
{
	size_t n = strlen(line);
	struct stat st;
	int fd, r = 0;

	if (lstat(l->path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size + n > l->max) {
		_cleanup_free_ char *old = xasprintf("%s.1", l->path);
		if (rename(l->path, old) < 0)
			return abur_fail(-errno, "rename %s: %m", l->path);
	}
	/* Never appended through a symlink (it could point at /etc/passwd),
	 * nor blocked on a FIFO put in its place: a regular file only. */
	fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
	if (fd < 0)
		return abur_fail(-errno, "%s: %m", l->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = abur_fail(-EINVAL, "%s: not a regular file", l->path);
	/* One write() per line: O_APPEND keeps concurrent lines whole. */
	else if (write(fd, line, n) != (ssize_t)n)
		r = abur_fail(-EIO, "%s: short write", l->path);
	close(fd);
	return r;
}

void event_emit(struct event_log *l, time_t now, enum event_kind k, const char *component, uint64_t seq,
		const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *line = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	if ((unsigned)k >= EV__COUNT)
		k = EV_ERROR;
	l->counts[k]++;
	/* On stderr the level says error or warning already: "error: config:
	 * ...", not "error: error config: ..."; other kinds lead with their
	 * name ("backup config: ..."). */
	if (k == EV_ERROR || k == EV_WARNING)
		log_msg(kinds[k].level, "%s%s%s", component ? component : "", component ? ": " : "", msg);
	else
		log_msg(kinds[k].level, "%s%s%s: %s", kinds[k].name, component ? " " : "", component ? component : "",
			msg);
	if (!l->path)
		return;
	line = format_line(now, k, component, seq, msg);
	r = line ? append(l, line) : -ENOMEM;
	if (r < 0)
		log_warn("event log %s: %s", l->path,
			 r == -EINVAL  ? "not a regular file"
			 : r == -ELOOP ? "a symlink, not written through"
				       : strerror(-r));
}
