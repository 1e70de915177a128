/* Partition tables with libfdisk: read one into a struct layout, write one
 * back with the same identifiers and offsets. */
#include <fcntl.h>
#include <libfdisk.h>
#include <stdlib.h>
#include <string.h>

#include "imgint.h"

static void fdisk_ctxp(struct fdisk_context **c)
{
	if (*c)
		fdisk_unref_context(*c);
}
#define _cleanup_fdisk_ __attribute__((cleanup(fdisk_ctxp)))

static char *dupnz(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static int read_part(struct fdisk_context *c, struct fdisk_partition *pa, struct part_rec *p)
{
	struct fdisk_parttype *t = fdisk_partition_get_type(pa);
	const char *ts = t ? fdisk_parttype_get_string(t) : NULL;

	if (!fdisk_partition_has_start(pa) || !fdisk_partition_has_size(pa))
		return abur_fail(-EINVAL, "partition without start or size");
	p->num = (unsigned)fdisk_partition_get_partno(pa) + 1;
	p->start = fdisk_partition_get_start(pa);
	p->size = fdisk_partition_get_size(pa);
	if (fdisk_is_label(c, DOS) && t)
		p->type = xasprintf("%x", fdisk_parttype_get_code(t));
	else
		p->type = dupnz(ts);
	p->uuid = dupnz(fdisk_partition_get_uuid(pa));
	p->name = dupnz(fdisk_partition_get_name(pa));
	p->attrs = dupnz(fdisk_partition_get_attrs(pa));
	p->bootable = fdisk_partition_is_bootable(pa) == 1;
	p->method = part_method_match(NULL); /* until blocks_scan() looks at the content */
	return 0;
}

static int read_table(struct fdisk_context *c, struct layout *l, const char *dev)
{
	struct fdisk_table *tb = NULL;
	struct fdisk_iter *it = NULL;
	struct fdisk_partition *pa;
	int r;

	if ((r = fdisk_get_partitions(c, &tb)) < 0)
		return abur_fail(r, "%s: cannot read the partitions", dev);
	it = fdisk_new_iter(FDISK_ITER_FORWARD);
	l->parts = xcalloc(fdisk_table_get_nents(tb) + 1, sizeof(*l->parts));
	r = 0;
	while (r == 0 && fdisk_table_next_partition(tb, it, &pa) == 0) {
		if (fdisk_partition_is_container(pa) || fdisk_partition_is_nested(pa)) {
			r = abur_fail(-ENOTSUP, "%s: extended/logical DOS partitions are not supported", dev);
			break;
		}
		if (!fdisk_partition_is_used(pa))
			continue;
		r = read_part(c, pa, &l->parts[l->nparts]);
		if (r == 0)
			l->nparts++;
	}
	fdisk_free_iter(it);
	fdisk_unref_table(tb);
	return r;
}

/* What libfdisk read must be the table the disk really has, one that
 * reimage can write back: libfdisk falls back to the protective MBR when
 * the GPT is invalid (damaged, or partitions past the end of the disk). */
static int check_read(const char *dev, const struct layout *l)
{
	for (size_t i = 0; streq(l->label, "dos") && i < l->nparts; i++)
		if (l->parts[i].type && streq(l->parts[i].type, "ee"))
			return abur_fail(-EINVAL,
					 "%s: only a protective MBR is readable: its GPT is invalid or damaged "
					 "(sfdisk --verify %s tells more)",
					 dev, dev);
	int r = layout_check(l);
	return r < 0 ? abur_fail_wrap(r, "%s: its partition table cannot be sealed", dev) : 0;
}

int layout_read(const char *dev, struct layout *l)
{
	_cleanup_fdisk_ struct fdisk_context *c = fdisk_new_context();
	struct fdisk_label *lb;
	char *id = NULL;
	int r;

	memset(l, 0, sizeof(*l));
	if (fdisk_assign_device(c, dev, 1) < 0)
		return abur_fail(-EIO, "%s: cannot open with libfdisk", dev);
	if (!fdisk_has_label(c))
		return abur_fail(-ENOMEDIUM, "%s: no partition table", dev);
	lb = fdisk_get_label(c, NULL);
	if (!fdisk_is_label(c, GPT) && !fdisk_is_label(c, DOS))
		return abur_fail(-ENOTSUP, "%s: %s partition table is not supported (gpt, dos)", dev,
				 fdisk_label_get_name(lb));
	l->label = xstrdup(fdisk_label_get_name(lb));
	if (fdisk_get_disklabel_id(c, &id) == 0 && id) {
		l->id = xstrdup(id);
		free(id);
	}
	l->sector_size = (unsigned)fdisk_get_sector_size(c);
	l->disk_size = (uint64_t)fdisk_get_nsectors(c) * l->sector_size;
	l->first_lba = fdisk_get_first_lba(c);
	l->last_lba = fdisk_get_last_lba(c);
	l->entries = fdisk_is_label(c, GPT) ? (unsigned)fdisk_get_npartitions(c) : 4;
	r = read_table(c, l, dev);
	if (r < 0)
		return r;
	if (l->nparts == 0)
		return abur_fail(-ENOENT, "%s: the partition table is empty", dev);
	uint64_t first = l->parts[0].start;
	for (size_t i = 1; i < l->nparts; i++)
		if (l->parts[i].start < first)
			first = l->parts[i].start;
	l->bootarea = first * l->sector_size;
	if (l->bootarea > BOOTAREA_MAX)
		l->bootarea = BOOTAREA_MAX;
	return check_read(dev, l);
}

void layout_free(struct layout *l)
{
	for (size_t i = 0; i < l->nparts; i++) {
		struct part_rec *p = &l->parts[i];
		free(p->type), free(p->uuid), free(p->name), free(p->attrs);
		free(p->fstype), free(p->fsuuid), free(p->fslabel);
		extents_free(&p->map);
	}
	free(l->parts);
	free(l->label);
	free(l->id);
	memset(l, 0, sizeof(*l));
}

const struct part_rec *layout_part(const struct layout *l, unsigned num)
{
	for (size_t i = 0; i < l->nparts; i++)
		if (l->parts[i].num == num)
			return &l->parts[i];
	return NULL;
}

static uint64_t last_end(const struct layout *l)
{
	uint64_t end = 0;

	for (size_t i = 0; i < l->nparts; i++)
		if (l->parts[i].start + l->parts[i].size > end)
			end = l->parts[i].start + l->parts[i].size;
	return end;
}

uint64_t layout_required(const struct layout *l)
{
	uint64_t sectors = last_end(l);

	if (streq(l->label, "gpt"))
		sectors += GPT_BACKUP_SECTORS;
	return sectors * l->sector_size;
}

uint64_t layout_gap_start(const struct layout *l)
{
	uint64_t ss = l->sector_size;

	if (streq(l->label, "gpt"))
		return (2 + ((uint64_t)l->entries * 128 + ss - 1) / ss) * ss;
	return ss;
}

/* ---- writing ---- */

static int add_part(struct fdisk_context *c, const struct part_rec *p, uint64_t size, const char *dev)
{
	struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_parttype *t = NULL;
	int r = -EINVAL;

	fdisk_partition_set_partno(pa, p->num - 1);
	fdisk_partition_set_start(pa, p->start);
	fdisk_partition_set_size(pa, size);
	if (p->type)
		t = fdisk_label_parse_parttype(fdisk_get_label(c, NULL), p->type);
	if (p->type && !t)
		goto fail;
	if (t && fdisk_partition_set_type(pa, t) < 0)
		goto fail;
	if (p->uuid && fdisk_partition_set_uuid(pa, p->uuid) < 0)
		goto fail;
	if (p->name && fdisk_partition_set_name(pa, p->name) < 0)
		goto fail;
	if (p->attrs && fdisk_partition_set_attrs(pa, p->attrs) < 0)
		goto fail;
	r = fdisk_add_partition(c, pa, NULL);
	if (r == 0 && p->bootable && fdisk_is_label(c, DOS))
		r = fdisk_toggle_partition_flag(c, p->num - 1, DOS_FLAG_ACTIVE);
fail:
	if (t)
		fdisk_unref_parttype(t);
	fdisk_unref_partition(pa);
	if (r < 0)
		return abur_fail(r, "%s: cannot recreate partition %u (start %llu, type %s)", dev, p->num,
				 (unsigned long long)p->start, p->type ? p->type : "?");
	return 0;
}

/* The new size of the last partition when growing: up to the end of the
 * usable area, rounded down to whole MiB so the end stays aligned. */
static uint64_t grown_size(struct fdisk_context *c, const struct part_rec *p, unsigned ss)
{
	uint64_t last = fdisk_get_last_lba(c);
	uint64_t size = last + 1 - p->start;
	uint64_t mib = MiB / ss;

	size -= (p->start + size) % mib;
	return size > p->size ? size : p->size;
}

bool layout_can_grow(const struct layout *l)
{
	uint64_t end = last_end(l);

	for (size_t i = 0; i < l->nparts; i++)
		if (l->parts[i].start + l->parts[i].size == end)
			return true;
	return false;
}

/* The label and partitions of l into c, not yet written. */
static int build_label(struct fdisk_context *c, const char *dev, struct layout *l, uint64_t disk_bytes, bool grow)
{
	uint64_t end = last_end(l);
	int r;

	grow = grow && layout_can_grow(l);
	if (fdisk_get_sector_size(c) != l->sector_size)
		return abur_fail(-EINVAL, "%s: sector size %lu, the image has %u", dev, fdisk_get_sector_size(c),
				 l->sector_size);
	fdisk_disable_dialogs(c, 1);
	r = fdisk_create_disklabel(c, l->label);
	if (r == 0 && streq(l->label, "gpt") && l->entries != 128)
		r = fdisk_gpt_set_npartitions(c, l->entries);
	if (r == 0 && l->id)
		r = fdisk_set_disklabel_id_from_string(c, l->id);
	if (r < 0)
		return abur_fail(r, "%s: cannot create a %s label with id %s", dev, l->label, l->id ? l->id : "-");
	if (streq(l->label, "gpt")) {
		fdisk_set_first_lba(c, l->first_lba);
		if (disk_bytes == l->disk_size)
			fdisk_set_last_lba(c, l->last_lba);
	}
	for (size_t i = 0; i < l->nparts; i++) {
		struct part_rec *p = &l->parts[i];
		if (grow && p->start + p->size == end)
			p->size = grown_size(c, p, l->sector_size); /* the kernel is told this size next */
		r = add_part(c, p, p->size, dev);
		if (r < 0)
			return r;
	}
	return 0;
}

int layout_write(const char *dev, struct layout *l, uint64_t disk_bytes, bool grow)
{
	_cleanup_fdisk_ struct fdisk_context *c = fdisk_new_context();
	int r;

	if (fdisk_assign_device(c, dev, 0) < 0)
		return abur_fail(-EIO, "%s: cannot open with libfdisk", dev);
	r = build_label(c, dev, l, disk_bytes, grow);
	if (r < 0)
		return r;
	r = fdisk_write_disklabel(c);
	if (r < 0)
		return abur_fail(r, "%s: writing the partition table failed", dev);
	r = fdisk_deassign_device(c, 1); /* fsyncs; no global sync() */
	if (r < 0)
		return abur_fail(r, "%s: syncing the partition table failed", dev);
	return 0;
}

/* The same label built on a sparse scratch file of the target's size and
 * sector size: what libfdisk refuses there it would refuse on the disk,
 * after the data was written. */
int layout_try(const char *dev, const struct layout *l, uint64_t disk_bytes)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *path = xasprintf("%s/abur-table.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	_cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
	struct layout copy = *l; /* build_label changes nothing without grow */
	int r;

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", path);
	unlink(path);
	if (ftruncate(fd, (off_t)disk_bytes) < 0)
		return abur_fail(-errno, "a scratch file of %llu bytes: %m", (unsigned long long)disk_bytes);
	_cleanup_free_ char *fdpath = xasprintf("/proc/self/fd/%d", fd);
	_cleanup_fdisk_ struct fdisk_context *c = fdisk_new_context();
	if (fdisk_save_user_sector_size(c, l->sector_size, l->sector_size) < 0 || fdisk_assign_device(c, fdpath, 0) < 0)
		return abur_fail(-EIO, "%s: cannot open with libfdisk", fdpath);
	r = build_label(c, dev, &copy, disk_bytes, false);
	if (r == 0 && (r = fdisk_write_disklabel(c)) < 0)
		r = abur_fail(r, "%s: libfdisk cannot write this partition table", dev);
	return r;
}
