/* A writer thread for reimage: the main thread decompresses and parses
 * the archive while this one writes to the disk, in runs of up to 1 MiB
 * (adjacent archive blocks are merged).  Two cores, two stages. */
#include <pthread.h>
#include <string.h>

#include "imgint.h"

#define WSLOTS 8
#define WBUF (1 * MiB)

struct wslot {
	uint64_t off, len;
	bool zero;
	char what[40];
	char *buf;
};

struct dwriter {
	struct diskimg_dst *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wslot slot[WSLOTS];
	unsigned head, count; /* pending slots: head .. head+count-1 */
	unsigned fill;        /* the slot being filled (head+count when claimed) */
	bool filling;         /* slot fill holds unsubmitted data */
	bool done;
	int err;             /* the first write error, */
	struct abur_error e; /* with its message: records are per thread */
};

static int do_slot(struct dwriter *w, const struct wslot *s)
{
	if (s->zero)
		return diskimg_zero(w->d, s->off, s->len, s->what);
	return diskimg_write_at(w->d, s->off, s->buf, s->len, s->what);
}

static void *run(void *arg)
{
	struct dwriter *w = arg;

	abur_fail_clear(); /* an entry point: this thread's own record */
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->count && !w->done)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->count)
			break;
		struct wslot *s = &w->slot[w->head];
		pthread_mutex_unlock(&w->mu);
		int r = w->err ? 0 : do_slot(w, s); /* after an error: drain only */
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->err) {
			w->err = r;
			abur_error_save(&w->e);
		}
		w->head = (w->head + 1) % WSLOTS;
		w->count--;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct dwriter *dwriter_start(struct diskimg_dst *d)
{
	struct dwriter *w = xcalloc(1, sizeof(*w));

	w->d = d;
	for (unsigned i = 0; i < WSLOTS; i++)
		w->slot[i].buf = xmalloc(WBUF);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, run, w) != 0)
		abort(); /* as for OOM: nothing sane to do */
	return w;
}

static struct wslot *fill_slot(struct dwriter *w)
{
	return &w->slot[w->fill];
}

static void submit(struct dwriter *w)
{
	pthread_mutex_lock(&w->mu);
	if (w->filling) {
		w->count++;
		w->filling = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Waits for a free slot and makes it the one being filled. */
static int claim(struct dwriter *w, uint64_t off, bool zero, const char *what)
{
	struct wslot *s;
	int err;

	pthread_mutex_lock(&w->mu);
	while (w->count == WSLOTS && !w->err)
		pthread_cond_wait(&w->cv, &w->mu);
	err = w->err ? abur_error_restore(&w->e) : 0;
	w->fill = (w->head + w->count) % WSLOTS;
	pthread_mutex_unlock(&w->mu);
	if (err)
		return err;
	s = fill_slot(w);
	s->off = off, s->len = 0, s->zero = zero;
	snprintf(s->what, sizeof(s->what), "%s", what);
	w->filling = true;
	return 0;
}

int dwriter_data(struct dwriter *w, uint64_t off, const void *buf, size_t n, const char *what)
{
	while (n > 0) {
		struct wslot *s = fill_slot(w);
		if (w->filling && (s->zero || s->off + s->len != off || s->len == WBUF))
			submit(w);
		if (!w->filling) {
			int r = claim(w, off, false, what);
			if (r < 0)
				return r;
			s = fill_slot(w);
		}
		size_t k = WBUF - s->len < n ? WBUF - s->len : n;
		memcpy(s->buf + s->len, buf, k);
		s->len += k, off += k, n -= k;
		buf = (const char *)buf + k;
	}
	return 0;
}

int dwriter_zero(struct dwriter *w, uint64_t off, uint64_t len, const char *what)
{
	if (len == 0)
		return 0;
	submit(w);
	int r = claim(w, off, true, what);
	if (r < 0)
		return r;
	fill_slot(w)->len = len;
	submit(w);
	return 0;
}

int dwriter_finish(struct dwriter *w)
{
	int r;

	submit(w);
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	r = w->err ? abur_error_restore(&w->e) : 0;
	for (unsigned i = 0; i < WSLOTS; i++)
		free(w->slot[i].buf);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	return r;
}
