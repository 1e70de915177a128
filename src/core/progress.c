#include "progress.h"

#include <string.h>
#include <unistd.h>

#include "json.h"

#define BAR_WIDTH 24
#define NS_PER_S 1000000000LL

static int64_t tick_ns; /* PROGRESS_TICK_ENV: the step, and the clock it drives */
static int64_t tick_now;

static int tick_clock(clockid_t id, struct timespec *ts)
{
	if (id != CLOCK_MONOTONIC)
		return clock_gettime(id, ts);
	tick_now += tick_ns;
	ts->tv_sec = tick_now / NS_PER_S;
	ts->tv_nsec = tick_now % NS_PER_S;
	return 0;
}

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * NS_PER_S + (b->tv_nsec - a->tv_nsec);
}

void progress_init(struct progress *p, FILE *f, enum progress_flags flags)
{
	const char *tick = getenv(PROGRESS_TICK_ENV);

	memset(p, 0, sizeof(*p));
	p->f = f;
	p->flags = flags;
	p->tty = !(flags & PROGRESS_JSON) && isatty(fileno(f));
	p->clock = clock_gettime;
	p->step = -1;
	if (tick && *tick) {
		tick_ns = (int64_t)strtoull(tick, NULL, 10) * 1000000LL;
		p->clock = tick_clock;
	}
}

char *progress_fmt_eta(uint64_t s, char *buf, size_t len)
{
	if (s >= 3600)
		snprintf(buf, len, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llu:%02llu", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	return buf;
}

/* Bytes per second so far (0: not measurable yet), and seconds left at
 * that rate (meaningful when *rate and the total is not reached). */
static void rate_eta(const struct progress *p, const struct timespec *now, uint64_t *rate, uint64_t *eta)
{
	int64_t ns = ns_between(&p->start, now);

	*rate = ns >= PROGRESS_RATE_MIN_NS ? (uint64_t)((double)p->done * NS_PER_S / (double)ns) : 0;
	*eta = *rate && p->total > p->done ? (p->total - p->done) / *rate : 0;
}

static bool has_eta(const struct progress *p, uint64_t rate)
{
	return rate && p->total > p->done;
}

static unsigned percent(const struct progress *p)
{
	if (!p->total)
		return 0;
	return (unsigned)(p->done >= p->total ? 100 : p->done * 100 / p->total);
}

static void print_json(struct progress *p, uint64_t rate, uint64_t eta)
{
	struct json j;

	json_init(&j, p->f, false);
	json_obj_begin(&j, NULL);
	json_str(&j, "event", "progress");
	json_str(&j, "stage", p->stage);
	json_uint(&j, "done", p->done);
	json_uint(&j, "total", p->total);
	json_uint(&j, "rate", rate);
	json_uint(&j, "eta_s", eta);
	json_obj_end(&j);
	json_end(&j);
}

/* "41.0 MiB of 120 MiB (34%)", "41.0 MiB" without a total, "started" before
 * anything was counted; then ", 12.3 MiB/s, ETA 0:06" as far as known. */
static char *fmt_amount(const struct progress *p, uint64_t rate, uint64_t eta, char *buf, size_t len)
{
	char d[32], t[32], r[32], e[32];
	int n;

	if (p->total)
		n = snprintf(buf, len, "%s of %s (%u%%)", fmt_bytes(p->done, d, sizeof(d)),
			     fmt_bytes(p->total, t, sizeof(t)), percent(p));
	else
		n = snprintf(buf, len, "%s", p->done ? fmt_bytes(p->done, d, sizeof(d)) : "started");
	if (rate && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %s/s", fmt_bytes(rate, r, sizeof(r)));
	if (has_eta(p, rate) && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", ETA %s", progress_fmt_eta(eta, e, sizeof(e)));
	return buf;
}

/* One line of its own: "2026-12-04 20:31:05 UTC STAGE: TEXT". */
static void print_line(struct progress *p, const char *text)
{
	struct timespec wall = {0};
	char when[64];

	p->clock(CLOCK_REALTIME, &wall);
	fprintf(p->f, "%s %s: %s\n", fmt_time(wall.tv_sec, when, sizeof(when)), p->stage, text);
	fflush(p->f);
}

/* The terminal's bar, redrawn in place. */
static void print_bar(struct progress *p, uint64_t rate, uint64_t eta)
{
	char bar[BAR_WIDTH + 1], text[160];
	unsigned fill = percent(p) * BAR_WIDTH / 100;

	memset(bar, '#', fill);
	memset(bar + fill, '.', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = '\0';
	fmt_amount(p, rate, eta, text, sizeof(text));
	if (p->total)
		fprintf(p->f, "\r%-8s [%s] %s\033[K", p->stage, bar, text);
	else
		fprintf(p->f, "\r%-8s %s\033[K", p->stage, text);
	fflush(p->f);
	p->drawn = true;
}

static bool due(const struct progress *p, const struct timespec *now)
{
	if (p->flags & PROGRESS_JSON)
		return (int)percent(p) != p->step;
	if (!p->printed)
		return true;
	return ns_between(&p->last, now) >= (p->tty ? PROGRESS_TTY_INTERVAL_NS : PROGRESS_LINE_INTERVAL_S * NS_PER_S);
}

static void show(struct progress *p, bool force)
{
	struct timespec now;
	uint64_t rate, eta;
	char text[160];

	p->clock(CLOCK_MONOTONIC, &now);
	if (!force && !due(p, &now))
		return;
	p->last = now;
	p->step = (int)percent(p);
	p->shown = p->done;
	p->printed = true;
	rate_eta(p, &now, &rate, &eta);
	if (p->flags & PROGRESS_JSON)
		print_json(p, rate, eta);
	else if (p->tty)
		print_bar(p, rate, eta);
	else
		print_line(p, fmt_amount(p, rate, eta, text, sizeof(text)));
}

/* -v: the stage's start, with its total when known. */
static void say_start(struct progress *p)
{
	char t[32], text[64];

	if (!(p->flags & PROGRESS_VERBOSE) || (p->flags & PROGRESS_JSON))
		return;
	snprintf(text, sizeof(text), "started%s%s", p->total ? ", " : "",
		 p->total ? fmt_bytes(p->total, t, sizeof(t)) : "");
	print_line(p, text);
}

/* -v: the stage's end: how much, how long, how fast. */
static void say_end(struct progress *p)
{
	struct timespec now;
	uint64_t rate, eta;
	char d[32], r[32], e[32], text[128];

	if (!(p->flags & PROGRESS_VERBOSE) || (p->flags & PROGRESS_JSON))
		return;
	p->clock(CLOCK_MONOTONIC, &now);
	rate_eta(p, &now, &rate, &eta);
	int n = snprintf(text, sizeof(text), "ended: %s in %s", fmt_bytes(p->done, d, sizeof(d)),
			 progress_fmt_eta((uint64_t)(ns_between(&p->start, &now) / NS_PER_S), e, sizeof(e)));
	if (rate && n > 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - (size_t)n, ", %s/s", fmt_bytes(rate, r, sizeof(r)));
	print_line(p, text);
}

void progress_update(struct progress *p, const char *stage, uint64_t done, uint64_t total)
{
	if (strncmp(p->stage, stage, sizeof(p->stage) - 1) != 0) { /* a long name is cut, the same stage still */
		if (p->stage[0])
			progress_finish(p);
		snprintf(p->stage, sizeof(p->stage), "%s", stage);
		p->clock(CLOCK_MONOTONIC, &p->start);
		p->step = -1;
		p->shown = 0;
		p->printed = false;
		p->done = done;
		p->total = total;
		say_start(p);
	}
	p->done = done;
	p->total = total;
	show(p, false);
}

void progress_interrupt(struct progress *p)
{
	if (!p->drawn)
		return;
	fputs("\r\033[K", p->f);
	fflush(p->f);
	p->drawn = false;
	p->printed = false; /* due again */
}

void progress_finish(struct progress *p)
{
	if (!p->stage[0])
		return;
	if (p->done != p->shown || !p->printed)
		show(p, true);
	if (p->drawn)
		fputc('\n', p->f);
	p->drawn = false;
	say_end(p);
	p->stage[0] = '\0';
}

void progress_cb(void *arg, const char *stage, uint64_t done, uint64_t total)
{
	progress_update(arg, stage, done, total);
}
