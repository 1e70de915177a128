#include "progress.h"

#include <string.h>
#include <unistd.h>

#include "json.h"

#define BAR_WIDTH 24
#define TTY_INTERVAL_NS 200000000LL /* redraw at most 5 times a second */

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

void progress_init(struct progress *p, FILE *f, bool json)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->json = json;
	p->tty = !json && isatty(fileno(f));
	p->step = -1;
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

/* Bytes per second so far, and seconds left at that rate (0: unknown). */
static void rate_eta(const struct progress *p, const struct timespec *now, uint64_t *rate, uint64_t *eta)
{
	double secs = (double)ns_between(&p->start, now) / 1e9;

	*rate = secs > 0.05 ? (uint64_t)((double)p->done / secs) : 0;
	*eta = *rate && p->total > p->done ? (p->total - p->done) / *rate : 0;
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

static void print_text(struct progress *p, unsigned pct, uint64_t rate, uint64_t eta)
{
	char d[32], t[32], r[32], e[32], bar[BAR_WIDTH + 1];
	unsigned fill = pct * BAR_WIDTH / 100;

	if (!p->total) { /* a stage without a size: say that it runs */
		fprintf(p->f, "%s%-8s ...%s", p->tty ? "\r" : "", p->stage, p->tty ? "\033[K" : "\n");
		fflush(p->f);
		p->drawn = p->tty;
		return;
	}
	memset(bar, '#', fill);
	memset(bar + fill, '.', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = '\0';
	fprintf(p->f, "%s%-8s [%s] %3u%%  %s / %s  %s/s  ETA %s%s", p->tty ? "\r" : "", p->stage, bar, pct,
		fmt_bytes(p->done, d, sizeof(d)), fmt_bytes(p->total, t, sizeof(t)), fmt_bytes(rate, r, sizeof(r)),
		eta || rate ? progress_fmt_eta(eta, e, sizeof(e)) : "-", p->tty ? "\033[K" : "\n");
	fflush(p->f);
	p->drawn = p->tty;
}

static void show(struct progress *p, bool force)
{
	struct timespec now;
	unsigned pct = p->total ? (unsigned)(p->done >= p->total ? 100 : p->done * 100 / p->total) : 0;
	int step = p->json ? (int)pct : (int)pct / 5;
	uint64_t rate, eta;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force) {
		if (p->tty && ns_between(&p->last, &now) < TTY_INTERVAL_NS)
			return;
		if (!p->tty && step == p->step)
			return;
	}
	p->last = now;
	p->step = step;
	p->shown = p->done;
	rate_eta(p, &now, &rate, &eta);
	if (p->json)
		print_json(p, rate, eta);
	else
		print_text(p, pct, rate, eta);
}

void progress_update(struct progress *p, const char *stage, uint64_t done, uint64_t total)
{
	if (!streq(p->stage, stage)) {
		if (p->stage[0])
			progress_finish(p);
		snprintf(p->stage, sizeof(p->stage), "%s", stage);
		clock_gettime(CLOCK_MONOTONIC, &p->start);
		p->step = -1;
		p->shown = 0;
		p->last.tv_sec = 0;
		p->last.tv_nsec = 0;
	}
	p->done = done;
	p->total = total;
	show(p, false);
}

void progress_finish(struct progress *p)
{
	if (!p->stage[0])
		return;
	if (p->done != p->shown || p->step < 0)
		show(p, true);
	if (p->drawn)
		fputc('\n', p->f);
	p->drawn = false;
	p->stage[0] = '\0';
}

void progress_cb(void *arg, const char *stage, uint64_t done, uint64_t total)
{
	progress_update(arg, stage, done, total);
}
