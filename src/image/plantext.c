/* A reimage plan as text: what `abur reimage --dry-run` prints and the
 * boot agent shows before it writes, in one spelling. */
#include <stdarg.h>

#include "image.h"

struct out {
	void (*line)(void *arg, const char *text);
	void *arg;
};

static void PRINTF(2, 3) say(const struct out *o, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	o->line(o->arg, text ? text : fmt);
}

static void say_part(const struct out *o, const struct reimage_plan_part *p, bool grows)
{
	char start[32], size[32], stored[32];

	say(o, "    p%-3u at %s, %s%s  %s  type %s  fs %s  %s stored", p->num,
	    fmt_bytes(p->start, start, sizeof(start)), fmt_bytes(p->size, size, sizeof(size)),
	    grows ? " (grown to the end of the disk)" : "", p->method, p->type ? p->type : "-",
	    p->fstype ? p->fstype : "-", fmt_bytes(p->stored, stored, sizeof(stored)));
}

/* The partition that ends last is the one a grow extends. */
static const struct reimage_plan_part *last_part(const struct reimage_plan *p)
{
	const struct reimage_plan_part *last = p->nparts ? &p->parts[0] : NULL;

	for (size_t i = 1; i < p->nparts; i++)
		if (p->parts[i].start > last->start)
			last = &p->parts[i];
	return last;
}

static void say_files(const struct out *o, const struct reimage_plan *p)
{
	if (!p->ncomps) {
		say(o, "  files:  none (no root partition, or --no-settings)");
		return;
	}
	for (size_t i = 0; i < p->ncomps; i++) {
		if (p->comps[i].seq)
			say(o, "  files:  %s g%06llu", p->comps[i].name, (unsigned long long)p->comps[i].seq);
		else
			say(o, "  files:  %s: no generation that verifies (left as sealed)", p->comps[i].name);
	}
}

void reimage_plan_text(const struct reimage_plan *p, void (*line)(void *arg, const char *text), void *arg)
{
	const struct out o = {line, arg};
	_cleanup_free_ char *disk = disk_summary(p->disk);
	const struct reimage_plan_part *last = last_part(p);
	char b[32];

	say(&o, "  disk:   %s  %s  %s (%s)", p->disk->dev, disk, disk_class_name(p->disk->cls), p->disk->reason);
	if (p->needs_confirm)
		say(&o, "  confirm: the disk is %s: writing it needs its serial, %s", disk_class_name(p->disk->cls),
		    p->disk->serial);
	say(&o, "  layout: %s, %u-byte sectors, %zu partition%s", p->label ? p->label : "-", p->sector_size, p->nparts,
	    p->nparts == 1 ? "" : "s");
	for (size_t i = 0; i < p->nparts; i++)
		say_part(&o, &p->parts[i], p->grow && &p->parts[i] == last);
	say(&o, "  os:     g%06llu", (unsigned long long)p->seq);
	say(&o, "  sealed: %s", fmt_time(p->seal_time, b, sizeof(b)));
	if (p->update) {
		say(&o, "  update: g%06llu", (unsigned long long)p->update);
		say(&o, "  captured: %s", fmt_time(p->update_time, b, sizeof(b)));
	} else
		say(&o, "  update: none: the server as sealed");
	if (p->update_skipped)
		say(&o, "  update: %llu damaged passed over (%s)", (unsigned long long)p->update_skipped,
		    p->update_why);
	say_files(&o, p);
	say(&o, "  bytes:  %s (%llu) of disk image to write", fmt_bytes(p->bytes, b, sizeof(b)),
	    (unsigned long long)p->bytes);
}
