/* abur reimage: checks first (class, size, hashes), then writes: partition
 * data, the partition table (with sector 0's boot signature cleared), swap,
 * growth, the newest settings, and last the boot code and boot signature.
 * A disk cut off at any point before the end does not boot, so the
 * firmware falls through to the flash; the store marker says the rest. */
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "core/blk.h"
#include "core/io.h"
#include "image.h"
#include "imgint.h"
#include "osapply.h"
#include "osupd.h"
#include "rootfs.h"

struct run {
	const struct abur_config *cfg;
	struct store *s;
	const char *dev;
	const struct reimage_opts *o;
	struct disk_info *d;
	struct gen_list gl;
	const struct generation *g;   /* the seal written */
	const struct generation *upd; /* the update applied over it, or NULL */
	uint64_t upd_skipped;
	char *upd_why;
	const char *stage;
	unsigned sector_size; /* the target's logical sector size */
	bool written;         /* anything on the disk changed yet */
	uint64_t skipped;     /* newer generation that failed verification */
	time_t started;
	bool plan;          /* image_reimage_plan(): nothing is written, a missing confirm is noted */
	bool needs_confirm; /* plan: ours or foreign without the serial */
	struct layout l;    /* the chosen image's layout.ini, read by check_fit */
};

static void progress(struct run *run, const char *stage, uint64_t done, uint64_t total)
{
	if (run->o->progress)
		run->o->progress(run->o->progress_arg, stage, done, total);
}

/* The marker says which disk, which image, how far, and why it stopped.
 * Writing it must succeed before the disk is touched. */
static int marker(struct run *run, const char *stage, const char *error)
{
	_cleanup_free_ char *text = NULL;

	run->stage = stage;
	text =
	    xasprintf("; abur reimage did not finish: this disk is NOT a complete restore\n"
		      "disk = %s\nserial = %s\nmodel = %s\ngeneration = %llu\nupdate = %llu\nstage = %s\nwritten = %s\n"
		      "started = %lld\n%s%s%s",
		      run->dev, run->d->serial, run->d->model, (unsigned long long)run->g->seq,
		      (unsigned long long)(run->upd ? run->upd->seq : 0), stage, run->written ? "yes" : "no",
		      (long long)run->started, error ? "error = " : "", error ? error : "", error ? "\n" : "");
	int r = store_put_file(run->s, IMAGE_MARKER, text, strlen(text));
	return r < 0 ? abur_fail_wrap(r, "writing the reimage marker") : 0;
}

static int check_class(struct run *run)
{
	_cleanup_free_ char *id = NULL, *where = NULL;
	const struct disk_info *d;
	int r;

	abur_ignore(image_sealed_info(run->s, &id, NULL, NULL)); /* none: not ours */
	r = image_probe(run->dev, id, &run->d);
	if (r < 0)
		return r;
	d = run->d;
	if (d->cls == DISK_FLASH)
		return abur_fail(-EPERM, "%s is the ABUR flash (%s): never a reimage target", run->dev, d->reason);
	run->needs_confirm = d->cls != DISK_BLANK && !(run->o->confirm && streq(run->o->confirm, d->serial));
	if (run->needs_confirm && !run->plan)
		return abur_fail(-EPERM, "%s is %s (%s): to overwrite it, confirm with its serial: --yes=%s", run->dev,
				 disk_class_name(d->cls), d->reason, d->serial);
	r = blk_find_mount(run->dev, &where);
	if (r > 0)
		return abur_fail(-EBUSY, "%s is mounted (%s)", run->dev, where);
	if (r == 0) {
		_cleanup_close_ int fd = open(run->dev, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? abur_fail(-errno, "%s: %m", run->dev) : blk_sector_size(fd, run->dev, &run->sector_size);
	}
	return r;
}

static uint64_t required_of(const struct generation *g)
{
	const char *v = manifest_extra(&g->m, "required_size");

	return v ? strtoull(v, NULL, 10) : 0;
}

static int check_size(struct run *run, const struct generation *g)
{
	uint64_t need = required_of(g);
	char b1[32], b2[32];

	if (!need)
		return abur_fail(-EBADMSG, "os generation %llu does not record the size it needs",
				 (unsigned long long)g->seq);
	if (run->d->size < need)
		return abur_fail(-ENOSPC, "%s holds %llu bytes (%s); os generation %llu needs at least %llu bytes (%s)",
				 run->dev, (unsigned long long)run->d->size, fmt_bytes(run->d->size, b1, sizeof(b1)),
				 (unsigned long long)g->seq, (unsigned long long)need, fmt_bytes(need, b2, sizeof(b2)));
	return 0;
}

static int select_generation(struct run *run)
{
	const struct generation *g = NULL;
	int r = store_list(run->s, IMAGE_COMPONENT, &run->gl);

	if (r < 0)
		return abur_fail_wrap(r, "listing the os images");
	if (!run->o->generation) {
		run->g = osupd_newest_seal(&run->gl, store_os_base_max(run->s));
		return run->g ? 0 : abur_fail(-ENOENT, "the store holds no os image (run abur seal first)");
	}
	g = gen_list_find(&run->gl, run->o->generation);
	if (!g)
		return abur_fail(-ENOENT, "no os generation %llu", (unsigned long long)run->o->generation);
	if (!g->valid)
		return abur_fail(-EBADMSG, "os generation %llu is damaged: %s", (unsigned long long)g->seq, g->problem);
	if (!osupd_is_update(g)) {
		run->g = g;
		return 0;
	}
	/* An update: its seal first, then it. */
	run->upd = g;
	run->g = gen_list_find(&run->gl, osupd_base(g));
	if (run->g && (!run->g->valid || osupd_is_update(run->g)))
		run->g = NULL;
	return run->g ? 0
		      : abur_fail(-ENOENT, "os update %llu is based on seal %llu, which the store does not hold",
				  (unsigned long long)g->seq, (unsigned long long)osupd_base(g));
}

/* Reads g's payload as the write will, writing nothing: DI_CHECK every
 * entry against layout.ini and the target, and the hash at the end;
 * DI_LAYOUT layout.ini only.  *parsed: layout.ini was read and obeys the
 * layout rules (so a failure is about this target, not a damaged image). */
static int dry_run(struct run *run, const struct generation *g, enum diskimg_mode mode, bool *parsed)
{
	struct diskimg_dst dst = {
	    .fd = -1, .dev = run->dev, .mode = mode, .disk_size = run->d->size, .sector_size = run->sector_size};
	struct payload_reader *p;
	int r = payload_open(run->s, g, IMAGE_PAYLOAD, &p);

	if (r < 0)
		return r;
	if (mode == DI_CHECK) { /* the verify stage: bytes checked */
		dst.progress = run->o->progress;
		dst.progress_arg = run->o->progress_arg;
	}
	r = diskimg_extract(payload_archive(p), &dst);
	*parsed = dst.have_layout;
	layout_free(&run->l); /* kept for the plan and check_grow */
	run->l = dst.l;
	dst.l = (struct layout){0};
	if (mode == DI_LAYOUT)
		payload_discard(p);
	else
		r = payload_close(p, r);
	diskimg_dst_free(&dst);
	return r;
}

/* Before anything is written: the image's layout fits this disk (sector
 * size, size, a table libfdisk accepts).  A layout.ini that cannot be
 * read is left to the verification, which may fall back to an older
 * image; with a caller-verified image it is refused here. */
static int check_fit(struct run *run)
{
	bool parsed = false;
	int r = dry_run(run, run->g, DI_LAYOUT, &parsed);

	if (r < 0 && (parsed || run->o->verified))
		return abur_fail_wrap(r, "os generation %llu cannot be written to %s", (unsigned long long)run->g->seq,
				      run->dev);
	return 0;
}

/* The chosen image's hashes and shape; without --generation an older
 * image that passes (and fits) is used instead, as for every component. */
static int verify_image(struct run *run)
{
	uint64_t first = run->g->seq;
	bool parsed;

	/* The caller verified what it named; a named update's seal it did not. */
	if (run->o->verified && run->o->generation == run->g->seq)
		return 0;
	progress(run, "verify", 0, 0);
	int r = dry_run(run, run->g, DI_CHECK, &parsed);
	_cleanup_free_ char *why = r < 0 ? xstrdup(abur_errmsg(r)) : NULL;

	while (r < 0 && !run->o->generation) {
		const struct generation *older;
		if (run->g->seq <= 1 || !(older = osupd_newest_seal(&run->gl, run->g->seq - 1)) ||
		    check_size(run, older) < 0)
			return abur_fail(r, "os generation %llu fails verification: %s", (unsigned long long)first,
					 why);
		run->skipped = first;
		run->g = older;
		r = dry_run(run, run->g, DI_CHECK, &parsed);
	}
	return r < 0 ? abur_fail_wrap(r, "os generation %llu fails verification", (unsigned long long)run->g->seq) : 0;
}

/* A generation and everything it needs pass gen_verify() (the seal was
 * checked by the image's own verification); progress "verify os", of each
 * generation read. */
static int verify_closure(struct run *run, const struct generation *upd, bool verified)
{
	struct progress_hook ph = {run->o->progress, run->o->progress_arg};
	uint64_t *needs = NULL;
	size_t n = 0, k = 0;
	int r = gen_needs(upd, &needs, &n);
	_cleanup_free_ const struct generation **check = xcalloc(n + 1, sizeof(*check));

	if (r == 0 && !verified)
		check[k++] = upd;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct generation *g = gen_list_find(&run->gl, needs[i]);
		if (!g)
			r = abur_fail(-ENOENT, "it needs g%06llu, which the store does not hold",
				      (unsigned long long)needs[i]);
		else if (g != run->g)
			check[k++] = g;
	}
	if (r == 0)
		r = gens_verify_progress(run->s, check, k, &ph);
	free(needs);
	return r;
}

/* The newest update of the chosen seal whose closure verifies; older ones
 * in turn; none (the bare seal) when none does.  A named update must. */
static int select_update(struct run *run)
{
	if (run->o->no_update)
		return 0;
	if (run->upd) {
		int r = verify_closure(run, run->upd, run->o->verified);
		return r < 0 ? abur_fail_wrap(r, "os update %llu fails verification", (unsigned long long)run->upd->seq)
			     : 0;
	}
	for (size_t i = run->gl.n; i-- > 0;) {
		const struct generation *g = &run->gl.g[i];
		if (g->seq < run->g->seq || !osupd_is_update(g) || osupd_base(g) != run->g->seq)
			continue;
		int r = verify_closure(run, g, false);
		if (r == 0) {
			run->upd = g;
			return 0;
		}
		if (!run->upd_why)
			run->upd_why = xasprintf("os update %llu: %s", (unsigned long long)g->seq, abur_errmsg(r));
		run->upd_skipped++;
	}
	return 0;
}

static int checks(struct run *run)
{
	int r = check_class(run);

	if (r == 0)
		r = select_generation(run);
	if (r == 0)
		r = check_size(run, run->g);
	if (r == 0)
		r = check_fit(run);
	return r;
}

/* The partition that starts last (l has one). */
static const struct part_rec *last_part(const struct layout *l)
{
	const struct part_rec *last = &l->parts[0];

	for (size_t i = 1; i < l->nparts; i++)
		if (l->parts[i].start > last->start)
			last = &l->parts[i];
	return last;
}

/* With grow, the programs the last partition's method grows it with are
 * here: else refused before the first write (an initramfs without
 * ntfsresize, say), not after the data. */
static int check_grow(struct run *run)
{
	const struct part_rec *last;
	bool parsed;
	int r = 0;

	if (!run->o->grow)
		return 0;
	if (!run->l.nparts) /* verify_image read it, unless the caller had verified */
		r = dry_run(run, run->g, DI_LAYOUT, &parsed);
	if (r < 0 || !run->l.nparts || !layout_can_grow(&run->l))
		return r;
	last = last_part(&run->l);
	for (const char *const *t = last->method->grow_tools; t && *t; t++)
		if (!proc_found(*t))
			return abur_fail(-ENOENT,
					 "growing partition %u (%s) needs %s, which this system does not have: install "
					 "it, or set grow_last_partition = no; nothing was written",
					 last->num, last->method->name, *t);
	return 0;
}

/* ---- writing ---- */

static int write_image(struct run *run, struct diskimg_dst *dst)
{
	struct payload_reader *p;
	int r = payload_open(run->s, run->g, IMAGE_PAYLOAD, &p);

	if (r < 0)
		return r;
	r = diskimg_extract(payload_archive(p), dst);
	if (r < 0) {
		payload_discard(p); /* the disk failed: do not read the rest of the image */
		return r;
	}
	r = payload_close(p, 0);
	return r < 0 ? abur_fail_wrap(r, "the os image failed its check while being written") : 0;
}

/* Partition data and the boot-area gap, with the old table wiped first so
 * an interrupted run leaves no table that looks valid. */
static int write_data(struct run *run, struct diskimg_dst *dst)
{
	uint64_t size = run->d->size, span = size < MiB ? size : MiB;
	int r;

	run->written = true;
	r = marker(run, "write", NULL);
	if (r < 0)
		return r;
	dst->fd = io_open(run->dev, O_RDWR | O_EXCL | O_CLOEXEC, 0);
	if (dst->fd < 0)
		return abur_fail_wrap(dst->fd, "%s: cannot open exclusively", run->dev);
	if (run->d->cls != DISK_BLANK) {
		r = diskimg_zero(dst, 0, span, "the old partition table");
		if (r == 0)
			r = diskimg_zero(dst, size - span, span, "the old backup partition table");
	}
	if (r == 0)
		r = write_image(run, dst);
	if (r == 0)
		r = io_fsync(dst->fd, run->dev);
	closep(&dst->fd);
	return r;
}

/* Writes bytes of sector 0 and makes them durable. */
static int write_sector0(struct run *run, struct diskimg_dst *dst, uint64_t off, const void *b, size_t n,
			 const char *what)
{
	int r;

	dst->fd = io_open(run->dev, O_WRONLY | O_CLOEXEC, 0);
	if (dst->fd < 0)
		return dst->fd;
	r = diskimg_write_at(dst, off, b, n, what);
	if (r == 0)
		r = io_fsync(dst->fd, run->dev);
	closep(&dst->fd);
	return r;
}

/* The partition table, with sector 0's boot signature (0x55AA) cleared at
 * once: until arm_boot() runs last, BIOS firmware finds the disk not
 * bootable and falls through to the flash, whose agent resumes. A disk cut
 * off while its settings are restored must not boot without them. */
static int write_table(struct run *run, struct diskimg_dst *dst)
{
	static const uint8_t none[2];
	int r = marker(run, "table", NULL);

	if (r == 0)
		r = layout_write(run->dev, &dst->l, run->d->size, run->o->grow);
	if (r == 0)
		r = write_sector0(run, dst, 510, none, 2, "the cleared boot signature");
	return r;
}

/* Last of all: sector 0's boot code and the boot signature. */
static int arm_boot(struct run *run, struct diskimg_dst *dst)
{
	static const uint8_t sig[2] = {0x55, 0xAA};
	int r = marker(run, "boot", NULL);

	if (r == 0 && dst->bootarea_len >= MBR_CODE_LEN)
		r = write_sector0(run, dst, 0, dst->bootarea, MBR_CODE_LEN, "the boot code");
	if (r == 0)
		r = write_sector0(run, dst, 510, sig, 2, "the boot signature");
	return r;
}

/* After growing the last partition, its content follows (its method's grow). */
static int grow_fs(struct run *run, const struct layout *l)
{
	const struct part_rec *last = last_part(l);
	int r;

	if (!last->method->grow)
		return 0;
	r = last->method->grow(run->dev, last);
	return r < 0 ? abur_fail_wrap(r, "growing partition %u", last->num) : 0;
}

static int finish_disk(struct run *run, const struct layout *l)
{
	int r = marker(run, "partitions", NULL);

	if (r == 0)
		r = reread_partitions(run->dev, l);
	for (size_t i = 0; r == 0 && i < l->nparts; i++)
		if (l->parts[i].method->finish)
			r = l->parts[i].method->finish(run->dev, &l->parts[i], l->sector_size);
	if (r == 0 && run->o->grow)
		r = grow_fs(run, l);
	return r;
}

/* After the base, before the settings: the update, over the sealed files. */
static int update_stage(struct run *run, struct diskimg_dst *dst, struct reimage_result *res)
{
	struct osapply_result ar = {0};
	struct progress_hook ph = {run->o->progress, run->o->progress_arg};
	struct osapply_ctx ax = {run->s,        &run->gl,          run->dev, &dst->l, dst,
				 dst->bootarea, dst->bootarea_len, &ar,      &ph,     0};
	int r = marker(run, "update", NULL);

	if (r == 0)
		r = osapply_run(&ax, run->upd);
	res->update_files = ar.files;
	res->update_deleted = ar.deleted;
	res->update_raw = ar.raw;
	return r;
}

static int image_reimage_write(struct run *run, struct reimage_result *res)
{
	struct diskimg_dst dst = {
	    .fd = -1, .dev = run->dev, .zero_holes = true, .disk_size = run->d->size, .sector_size = run->sector_size};
	int r;

	dst.progress = run->o->progress;
	dst.progress_arg = run->o->progress_arg;
	r = write_data(run, &dst);
	if (r == 0)
		r = write_table(run, &dst);
	if (r == 0)
		r = finish_disk(run, &dst.l);
	res->written = dst.written;
	if (r == 0 && run->upd)
		r = update_stage(run, &dst, res);
	if (r == 0 && !run->o->skip_settings && dst.l.root) {
		r = marker(run, "settings", NULL);
		if (r == 0)
			r = image_restore_files(run->cfg, run->s, run->dev, dst.l.root, IMAGE_FILES_ALL,
						&(struct progress_hook){run->o->progress, run->o->progress_arg},
						&res->files);
		if (r >= 0)
			res->components = (unsigned)r, r = 0;
	}
	if (r == 0)
		r = arm_boot(run, &dst);
	diskimg_dst_free(&dst);
	return r;
}

int image_reimage(const struct abur_config *cfg, struct store *s, const char *dev, const struct reimage_opts *o,
		  struct reimage_result *res)
{
	struct run run = {.cfg = cfg, .s = s, .dev = dev, .o = o, .started = time(NULL)};
	int r;

	memset(res, 0, sizeof(*res));
	r = checks(&run);
	if (r == 0)
		r = marker(&run, "verify", NULL);
	if (r == 0 && (r = verify_image(&run)) == 0 && (r = check_grow(&run)) == 0 && (r = select_update(&run)) == 0)
		r = image_reimage_write(&run, res);
	if (r == 0) {
		r = store_remove_file(s, IMAGE_MARKER);
		if (r < 0)
			r = abur_fail_wrap(r, "removing the reimage marker");
	} else if (run.stage) {
		_cleanup_free_ char *why = xstrdup(abur_errmsg(r));
		if (marker(&run, run.stage, why) < 0)
			abur_fail(r, "%s (and the marker could not be updated)", why);
		else
			abur_fail(r, "%s", why);
	}
	res->seq = run.g ? run.g->seq : 0;
	res->skipped = run.skipped;
	res->update = run.upd ? run.upd->seq : 0;
	res->update_skipped = run.upd_skipped;
	res->update_why = run.upd_why;
	gen_list_free(&run.gl);
	disk_info_free(run.d);
	layout_free(&run.l);
	return r;
}

/* ---- the plan ---- */

static void plan_layout(const struct layout *l, struct reimage_plan *p)
{
	p->label = l->label ? xstrdup(l->label) : NULL;
	p->sector_size = l->sector_size;
	p->bytes = l->bootarea;
	p->parts = xcalloc(l->nparts + 1, sizeof(*p->parts));
	for (; p->nparts < l->nparts; p->nparts++) {
		const struct part_rec *r = &l->parts[p->nparts];
		p->parts[p->nparts] = (struct reimage_plan_part){
		    r->num,          r->start * l->sector_size,         r->size * l->sector_size,
		    r->method->name, r->type ? xstrdup(r->type) : NULL, r->fstype ? xstrdup(r->fstype) : NULL,
		    r->used};
		p->bytes += r->used;
	}
}

/* What the settings stage restores: every files component's newest
 * generation that verifies (image_restore_files, IMAGE_FILES_ALL). */
static int plan_components(const struct run *run, struct reimage_plan *p)
{
	if (run->o->skip_settings || !run->l.root)
		return 0;
	p->comps = xcalloc(run->cfg->ncomps + 1, sizeof(*p->comps));
	for (size_t i = 0; i < run->cfg->ncomps; i++) {
		const struct abur_component *c = &run->cfg->comps[i];
		_cleanup_(gen_list_free) struct gen_list gl = {0};
		const struct generation *g = NULL;
		if (!component_is(c, CT_FILE_TREE))
			continue;
		int r = store_newest(run->s, c->name, GEN_CHECK_VERIFY, GEN_SEQ_ANY, &gl, &g);
		if (r < 0 && r != -ENOENT)
			return abur_fail_wrap(r, "component %s", c->name);
		p->comps[p->ncomps++] = (struct reimage_plan_comp){c->name, g ? g->seq : 0};
	}
	return 0;
}

int image_reimage_plan(const struct abur_config *cfg, struct store *s, const char *dev, const struct reimage_opts *o,
		       struct reimage_plan *p)
{
	struct run run = {.cfg = cfg, .s = s, .dev = dev, .o = o, .plan = true};
	int r;

	memset(p, 0, sizeof(*p));
	r = checks(&run);
	if (r == 0)
		r = select_update(&run);
	if (r == 0)
		plan_layout(&run.l, p);
	if (r == 0)
		r = check_grow(&run);
	p->grow = o->grow && layout_can_grow(&run.l);
	if (r == 0)
		r = plan_components(&run, p);
	p->disk = run.d;
	p->needs_confirm = run.needs_confirm;
	p->seq = run.g ? run.g->seq : 0;
	p->seal_time = run.g ? (time_t)run.g->m.time : 0;
	p->update = run.upd ? run.upd->seq : 0;
	p->update_time = run.upd ? (time_t)run.upd->m.time : 0;
	p->update_skipped = run.upd_skipped;
	p->update_why = run.upd_why;
	gen_list_free(&run.gl);
	layout_free(&run.l);
	return r;
}

void reimage_plan_free(struct reimage_plan *p)
{
	for (size_t i = 0; i < p->nparts; i++)
		free(p->parts[i].type), free(p->parts[i].fstype);
	free(p->parts);
	free(p->comps);
	free(p->label);
	free(p->update_why);
	disk_info_free(p->disk);
	memset(p, 0, sizeof(*p));
}
