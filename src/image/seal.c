/* abur seal: the os image of an unmounted disk, then the file-level
 * components from its root filesystem, all as pinned generations. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "core/blk.h"
#include "image.h"
#include "imgint.h"
#include "osbase.h"
#include "osraw.h"
#include "osupd.h"
#include "rootfs.h"

const char *image_raw_encrypted(const struct generation *g)
{
	return manifest_extra(&g->m, IMAGE_RAW_ENCRYPTED);
}

int image_sealed_info(struct store *s, char **disk_id, uint64_t *required, uint64_t *seq)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g = NULL;
	const char *v;
	int r = store_list(s, IMAGE_COMPONENT, &l);

	if (r < 0)
		return abur_fail_wrap(r, "listing the os images");
	if (!(g = osupd_newest_seal(&l, store_os_base_max(s))))
		return abur_fail(-ENOENT, "the store holds no os image");
	if (disk_id)
		*disk_id = (v = manifest_extra(&g->m, "disk_id")) ? xstrdup(v) : NULL;
	if (required)
		*required = (v = manifest_extra(&g->m, "required_size")) ? strtoull(v, NULL, 10) : 0;
	if (seq)
		*seq = g->seq;
	return 0;
}

static void add_u64(struct manifest *m, const char *key, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	manifest_add_extra(m, key, buf);
}

/* A manifest list of partition numbers: "3 4". */
static void append_part(char **list, unsigned num)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", num);
	xstrappend(list, " ", buf);
}

static void seal_extra(struct manifest *m, const struct disk_info *d, const struct layout *l, uint64_t used)
{
	manifest_add_extra(m, "disk_serial", d->serial);
	manifest_add_extra(m, "disk_model", d->model);
	add_u64(m, "disk_size", d->size);
	if (d->slot)
		manifest_add_extra(m, "disk_slot", d->slot);
	manifest_add_extra(m, "label", l->label);
	if (l->id)
		manifest_add_extra(m, "disk_id", l->id);
	add_u64(m, "required_size", layout_required(l));
	add_u64(m, "partitions", l->nparts);
	add_u64(m, "root_partition", l->root);
	add_u64(m, "used_bytes", used);
	_cleanup_free_ char *raw = NULL;
	for (size_t i = 0; i < l->nparts; i++)
		if (part_raw_encrypted(&l->parts[i]))
			append_part(&raw, l->parts[i].num);
	if (raw) /* abur list says so: a copy of ciphertext, readable only with its key */
		manifest_add_extra(m, IMAGE_RAW_ENCRYPTED, raw);
}

/* Reads the layout and the used-block maps, with the disk held
 * exclusively (O_EXCL fails while anything on it is mounted). */
static int scan_disk(const struct abur_config *cfg, const char *dev, int fd, struct layout *l, uint64_t *used)
{
	unsigned flags = cfg->disk.raw_encrypted ? SCAN_RAW_ENCRYPTED : 0;
	int r = 0;

	*used = l->bootarea;
	for (size_t i = 0; r == 0 && i < l->nparts; i++) {
		r = blocks_scan(fd, dev, l->sector_size, &l->parts[i], flags);
		if (r < 0)
			r = abur_fail_wrap(r, "%s partition %u", dev, l->parts[i].num);
		*used += l->parts[i].used;
	}
	return r;
}

/* What an update capture compares with: the raw areas' hashes, and which
 * filesystems have a base index. */
static int base_extra(struct manifest *m, const struct disk_info *d, int fd, const struct layout *l,
		      const struct osbase *b)
{
	size_t nraw;
	_cleanup_free_ struct osraw *raw = osraw_list(l, &nraw);
	_cleanup_free_ char *parts = NULL;
	int r = osraw_hash(fd, d->dev, raw, nraw);

	for (size_t i = 0; r == 0 && i < nraw; i++) {
		_cleanup_free_ char *key = xasprintf("raw_%s", raw[i].name);
		manifest_add_extra(m, key, raw[i].sha);
	}
	for (size_t i = 0; i < b->n; i++)
		append_part(&parts, b->fs[i].part);
	if (parts)
		manifest_add_extra(m, "index", parts);
	return r;
}

/* What goes into layout.ini must obey the rules reimage checks and read
 * back as the same text: a name or type that would not is refused now,
 * not when the disk is restored. */
static int check_storable(const char *dev, const struct layout *l, const char *text)
{
	struct layout back;
	int r = layout_check(l);

	if (r == 0)
		r = layout_parse(text, strlen(text), &back);
	if (r < 0)
		return abur_fail_wrap(r, "%s: its partition table cannot be sealed", dev);
	_cleanup_free_ char *again = layout_format(&back);
	layout_free(&back);
	if (!streq(again, text))
		return abur_fail(-EINVAL,
				 "%s: its partition table does not survive layout.ini (names or types "
				 "with characters layout.ini cannot hold)",
				 dev);
	return 0;
}

/* The seal in force (0: none): a re-seal of the same disk, unchanged,
 * reuses it rather than storing a second full copy. */
static uint64_t seal_in_force(struct store *s)
{
	_cleanup_(gen_list_free) struct gen_list l = {0};
	const struct generation *g;

	if (store_list(s, IMAGE_COMPONENT, &l) < 0 || !(g = image_newest_seal(s, &l)))
		return 0;
	return g->seq;
}

static int commit_os(const struct abur_config *cfg, struct store *s, const struct disk_info *d, int fd,
		     struct layout *l, const struct seal_opts *o, struct osbase *base, struct seal_result *res)
{
	_cleanup_free_ char *text = layout_format(l);
	const struct abur_component *comp = config_component(cfg, IMAGE_COMPONENT);
	struct diskimg_src src = {.dev = d->dev, .fd = fd, .l = l, .layout_text = text};
	struct payload_spec spec[] = {{IMAGE_PAYLOAD, diskimg_fill, &src}, {OSBASE_PAYLOAD, osbase_fill, base}};
	const char *sources[] = {d->dev};
	char digest[SHA256_HEX_LEN];
	_cleanup_(manifest_clear) struct manifest m = {0};
	int r;

	r = check_storable(d->dev, l, text);
	if (r < 0)
		return r;
	if (o) {
		src.progress = o->progress;
		src.progress_arg = o->progress_arg;
	}
	/* The layout names every identifier and how many bytes each partition
	 * holds: the same text means the same disk captured the same way. */
	sha256_hex(text, strlen(text), digest);
	seal_extra(&m, d, l, res->used_bytes);
	free(base->layout_text);
	base->layout_text = xstrdup(text);
	r = base_extra(&m, d, fd, l, base);
	if (r < 0)
		return r;
	struct commit_info ci = {.component = IMAGE_COMPONENT,
				 .trigger = "seal",
				 .content_digest = digest,
				 .pinned = true,
				 .sources = sources,
				 .nsources = 1,
				 .keep = comp ? comp->keep : 2,
				 .extra = &m,
				 .same_as = seal_in_force(s)};
	r = store_commit(s, &ci, spec, ARRAY_SIZE(spec), &res->seq);
	if (r < 0)
		return r;
	res->reused = r == 1;
	res->payload_bytes = store_generation_bytes(s, IMAGE_COMPONENT, res->seq);
	return 0;
}

/* What one seal committed, for the seal record. */
struct sealed {
	const char **names;
	uint64_t *seqs;
	size_t n;
};

static void sealed_add(struct sealed *sd, const char *name, uint64_t seq)
{
	sd->names = xrealloc(sd->names, (sd->n + 1) * sizeof(*sd->names));
	sd->seqs = xrealloc(sd->seqs, (sd->n + 1) * sizeof(*sd->seqs));
	sd->names[sd->n] = name;
	sd->seqs[sd->n++] = seq;
}

struct seal_warn {
	const struct seal_opts *o;
	const char *component;
};

static void seal_warning(void *arg, const char *line)
{
	const struct seal_warn *w = arg;

	if (w->o->warn)
		w->o->warn(w->o->warn_arg, w->component, line);
}

static int seal_files(const struct abur_config *cfg, struct store *s, const char *mnt, const struct seal_opts *o,
		      struct seal_result *res, struct sealed *sd)
{
	for (size_t i = 0; i < cfg->ncomps; i++) {
		const struct abur_component *c = &cfg->comps[i];
		struct restore_limits lim = {cfg->restore.max_total_size, cfg->restore.max_entries};
		struct backup_result br = {0};
		if (!component_is(c, CT_FILE_TREE))
			continue;
		/* No stat cache: the disk is not this system's. */
		int r = backup_component(s, c, mnt, NULL, "seal", NULL, BACKUP_PINNED, &lim,
					 &(struct progress_hook){o->progress, o->progress_arg}, &br);
		backup_result_warnings(&br, seal_warning, &(struct seal_warn){o, c->name});
		backup_result_free(&br);
		if (r < 0)
			return abur_fail_wrap(r, "sealing component %s", c->name);
		sealed_add(sd, c->name, br.seq);
		res->components++;
	}
	return 0;
}

static int check_target(const char *dev, struct disk_info **d)
{
	_cleanup_free_ char *where = NULL;
	int r = blk_find_mount(dev, &where);

	if (r > 0)
		return abur_fail(-EBUSY, "%s is mounted (%s): seal needs the disk unmounted", dev, where);
	if (r == 0)
		r = image_probe(dev, NULL, d);
	if (r == 0 && (*d)->cls == DISK_FLASH)
		r = abur_fail(-EPERM, "%s is the ABUR flash (%s), not a system disk", dev, (*d)->reason);
	if (r == 0 && (*d)->pttype && streq((*d)->pttype, "PMBR"))
		r = abur_fail(-EINVAL, "%s: only a protective MBR is readable: its GPT is invalid or damaged", dev);
	return r;
}

/* The file-level components come from the root filesystem: without one
 * they would be skipped, and the seal would look complete. */
static int check_root(const struct abur_config *cfg, const char *dev, const struct rootfs *rf)
{
	_cleanup_free_ char *names = NULL;

	if (rf->num)
		return 0;
	for (size_t i = 0; i < cfg->ncomps; i++)
		if (component_is(&cfg->comps[i], CT_FILE_TREE))
			xstrappend(&names, ", ", cfg->comps[i].name);
	if (!names)
		return 0;
	return abur_fail(-ENOENT,
			 "%s: no root filesystem found (a partition holding etc/fstab, etc/os-release or a "
			 "configured path), but components %s are configured",
			 dev, names);
}

int image_seal(const struct abur_config *cfg, struct store *s, const char *dev, const struct seal_opts *o,
	       struct seal_result *res)
{
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	struct layout l = {0};
	struct rootfs rf = {0};
	struct osbase base = {0};
	struct sealed sd = {0};
	int fd = -1, r;

	memset(res, 0, sizeof(*res));
	r = check_target(dev, &d);
	if (r == 0)
		r = layout_read(dev, &l);
	if (r == 0) /* no udev, maybe no partition parser in the kernel */
		r = kernel_partitions(dev, &l);
	if (r == 0)
		r = rootfs_find(cfg, dev, &rf); /* mounts, looks, unmounts */
	if (r == 0)
		r = check_root(cfg, dev, &rf);
	if (r == 0) /* what later update captures compare with */
		r = osbase_scan(d, dev, &base);
	if (r == 0) {
		fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
		if (fd < 0)
			r = abur_fail(-errno, "%s: cannot open exclusively (in use?): %m", dev);
	}
	if (r == 0)
		r = scan_disk(cfg, dev, fd, &l, &res->used_bytes);
	if (r == 0) {
		l.root = rf.num;
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		r = commit_os(cfg, s, d, fd, &l, o, &base, res);
	}
	if (fd >= 0)
		close(fd);
	if (r == 0 && rf.num)
		r = rootfs_mount(&rf, dev, BLK_RO);
	if (r == 0)
		sealed_add(&sd, IMAGE_COMPONENT, res->seq);
	if (r == 0 && rf.num)
		r = seal_files(cfg, s, rf.mnt, o, res, &sd);
	/* Last, one atomic record: only now is this seal the pin and the base;
	 * a seal that failed before leaves the previous one in force. */
	if (r == 0)
		r = store_put_seal(s, sd.names, sd.seqs, sd.n);
	free(sd.names);
	free(sd.seqs);
	r = abur_after(r, ((void)rootfs_release(&rf), 0)); /* read only: its unmount changes nothing sealed */
	osbase_free(&base);
	layout_free(&l);
	return r;
}
