/* Disk probing and classification (libblkid, sysfs; no udev needed). */
#include <blkid.h>
#include <libfdisk.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/blk.h"
#include "image.h"
#include "imgint.h"

static const char *const class_names[] = {
    [DISK_BLANK] = "blank", [DISK_OURS] = "ours", [DISK_FOREIGN] = "foreign", [DISK_FLASH] = "flash"};

/* Filesystem or partition labels that make a disk the ABUR flash. */
static const char *const flash_labels[] = {"ABUR-BOOT", "ABUR-STORE"};

const char *disk_class_name(enum disk_class c)
{
	return c < ARRAY_SIZE(class_names) ? class_names[c] : "?";
}

/* s (allocated) trimmed in place; NULL (s freed) when nothing is left. */
static char *trimmed_or_null(char *s)
{
	char *t = strstrip(s);

	memmove(s, t, strlen(t) + 1);
	if (!*s) {
		free(s);
		return NULL;
	}
	return s;
}

/* A sysfs attribute of /sys/block/NAME, trimmed; NULL when absent/empty. */
static char *sysattr(const char *name, const char *attr)
{
	_cleanup_free_ char *path = xasprintf("/sys/block/%s/%s", name, attr);
	char *text = NULL;
	size_t len;

	if (read_file(path, 4096, &text, &len) < 0)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!isprint((unsigned char)text[i]))
			text[i] = ' ';
	return trimmed_or_null(text);
}

/* SCSI/SATA disks without udev: the unit serial number VPD page. */
static char *vpd_serial(const char *name)
{
	_cleanup_free_ char *path = xasprintf("/sys/block/%s/device/vpd_pg80", name);
	_cleanup_free_ char *raw = NULL;
	size_t len;

	if (read_file(path, 4096, &raw, &len) < 0 || len < 5)
		return NULL;
	size_t n = (unsigned char)raw[3];
	if (n > len - 4)
		n = len - 4;
	char *s = xmalloc(n + 1);
	memcpy(s, raw + 4, n);
	s[n] = '\0';
	return trimmed_or_null(s);
}

static char *find_serial(const char *name)
{
	static const char *const attrs[] = {"device/serial", "serial", "device/cid"};
	char *s;

	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++)
		if ((s = sysattr(name, attrs[i])))
			return s;
	return vpd_serial(name);
}

static bool is_pci_addr(const char *s, size_t n)
{
	/* dddd:bb:dd.f */
	if (n != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (i != 4 && i != 7 && i != 10 && !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A by-path style name from the sysfs device path: the last PCI function,
 * then the transport (nvme namespace, ata port, scsi address). */
static char *find_slot(const char *name)
{
	_cleanup_free_ char *link = xasprintf("/sys/block/%s", name);
	char real[PATH_MAX];
	const char *pci = NULL, *p, *q;
	char tail[64] = "";

	if (!realpath(link, real))
		return NULL;
	for (p = real; (q = strchr(p, '/')); p = q + 1)
		if (is_pci_addr(p, (size_t)(q - p)))
			pci = p;
	if (!pci)
		return NULL;
	if (strstr(real, "/nvme/") && (p = strrchr(name, 'n')) && p > name)
		snprintf(tail, sizeof(tail), "-nvme-%s", p + 1);
	else if ((p = strstr(real, "/ata")))
		snprintf(tail, sizeof(tail), "-ata-%d", atoi(p + 4));
	else if ((p = strstr(real, "/target")) && (q = strchr(p + 1, '/')))
		snprintf(tail, sizeof(tail), "-scsi-%.*s", (int)strcspn(q + 1, "/"), q + 1);
	return xasprintf("pci-%.12s%s", pci, tail);
}

static void read_sysfs(struct disk_info *d)
{
	d->model = sysattr(d->name, "device/model");
	if (!d->model)
		d->model = sysattr(d->name, "device/name");
	if (!d->model)
		d->model = xstrdup("");
	d->serial = find_serial(d->name);
	if (!d->serial) {
		d->serial = xstrdup(d->name);
		d->serial_is_name = true;
	}
	_cleanup_free_ char *rm = sysattr(d->name, "removable");
	d->removable = rm && streq(rm, "1");
	d->slot = find_slot(d->name);
}

/* The type's name in libfdisk's table of label ("EFI System", "Linux
 * filesystem", "Linux swap"); NULL for a type it does not know. */
static char *type_name(struct fdisk_label *label, blkid_partition par)
{
	const char *s = blkid_partition_get_type_string(par);
	struct fdisk_parttype *t =
	    !label ? NULL
	    : s    ? fdisk_label_get_parttype_from_string(label, s)
		   : fdisk_label_get_parttype_from_code(label, (unsigned)blkid_partition_get_type(par));
	const char *name = t && !fdisk_parttype_is_unknown(t) ? fdisk_parttype_get_name(t) : NULL;
	char *v = name ? xstrdup(name) : NULL;

	fdisk_unref_parttype(t);
	return v;
}

static void read_parts(blkid_probe pr, int fd, struct disk_info *d)
{
	blkid_partlist pl = blkid_probe_get_partitions(pr);
	int n = pl ? blkid_partlist_numof_partitions(pl) : 0;
	struct fdisk_context *fc = fdisk_new_context();
	struct fdisk_label *label = fc && d->pttype ? fdisk_get_label(fc, d->pttype) : NULL;

	d->parts = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*d->parts));
	for (int i = 0; i < n; i++) {
		blkid_partition par = blkid_partlist_get_partition(pl, i);
		struct probe_part *p = &d->parts[d->nparts++];
		const char *s;
		p->num = (unsigned)blkid_partition_get_partno(par);
		p->start = (uint64_t)blkid_partition_get_start(par) * 512;
		p->size = (uint64_t)blkid_partition_get_size(par) * 512;
		p->type = (s = blkid_partition_get_type_string(par)) ? xstrdup(s)
								     : xasprintf("%x", blkid_partition_get_type(par));
		p->type_name = type_name(label, par);
		p->uuid = (s = blkid_partition_get_uuid(par)) ? xstrdup(s) : NULL;
		p->name = (s = blkid_partition_get_name(par)) ? xstrdup(s) : NULL;
		abur_ignore(probe_fs_at(fd, p->start, p->size, &p->fstype, &p->fsuuid, &p->fslabel)); /* none known */
	}
	fdisk_unref_context(fc);
}

/* Whole-disk signatures: the partition table, or a filesystem/RAID/LVM
 * superblock (libblkid also looks at the end: md 0.90/1.0, GPT backup).
 * Returns blkid_do_safeprobe()'s result: -2 for ambivalent signatures. */
static int read_signatures(int fd, struct disk_info *d)
{
	blkid_probe pr = blkid_new_probe();
	int r;

	if (!pr || blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		if (pr)
			blkid_free_probe(pr);
		return abur_fail(-EIO, "%s: cannot probe", d->dev);
	}
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		d->pttype = blkid_value(pr, "PTTYPE");
		d->ptuuid = blkid_value(pr, "PTUUID");
		d->fstype = blkid_value(pr, "TYPE");
		d->fslabel = blkid_value(pr, "LABEL");
		if (d->pttype)
			read_parts(pr, fd, d);
	}
	blkid_free_probe(pr);
	return r;
}

static bool is_flash(const struct disk_info *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(flash_labels); i++) {
		/* a store made straight on the whole device (no partition table) */
		if (d->fslabel && streq(d->fslabel, flash_labels[i]))
			return true;
		for (size_t k = 0; k < d->nparts; k++)
			if ((d->parts[k].fslabel && streq(d->parts[k].fslabel, flash_labels[i])) ||
			    (d->parts[k].name && streq(d->parts[k].name, flash_labels[i])))
				return true;
	}
	return false;
}

/* Disk ids from libblkid ("1234abcd", lower case) and libfdisk
 * ("0x1234ABCD", upper case) name the same thing. */
static bool same_id(const char *a, const char *b)
{
	if (startswith(a, "0x"))
		a += 2;
	if (startswith(b, "0x"))
		b += 2;
	return strcasecmp(a, b) == 0;
}

enum zero_check { ZC_ZERO, ZC_DATA, ZC_GPT_BACKUP };

static int check_zero(int fd, uint64_t off, uint64_t len, bool last, enum zero_check *out)
{
	_cleanup_free_ char *buf = xmalloc(MiB);
	ssize_t n = pread(fd, buf, (size_t)len, (off_t)off);

	if (n != (ssize_t)len)
		return abur_fail(n < 0 ? -errno : -EIO, "read at byte %llu failed", (unsigned long long)off);
	*out = mem_is_zero(buf, (size_t)len) ? ZC_ZERO : ZC_DATA;
	if (*out == ZC_DATA && last && len >= 512 && memcmp(buf + len - 512, "EFI PART", 8) == 0)
		*out = ZC_GPT_BACKUP;
	return 0;
}

/* Between the first and the last MiB: this many 4 KiB samples, evenly
 * spread, the first at 1 MiB (where a wiped table's first partition, and
 * its filesystem superblock, usually start).  Cheap (256 KiB of reads),
 * and it finds the data of a disk whose table alone was zeroed. */
#define MID_SAMPLES 64
#define MID_SAMPLE 4096

/* The byte offset of the first sample holding data, or UINT64_MAX. */
static int check_middle(int fd, const struct disk_info *d, uint64_t *hit)
{
	char buf[MID_SAMPLE];

	*hit = UINT64_MAX;
	if (d->size < 2 * MiB + MID_SAMPLE)
		return 0;
	uint64_t span = d->size - 2 * MiB - MID_SAMPLE;
	for (unsigned i = 0; i < MID_SAMPLES; i++) {
		uint64_t off = (MiB + span / (MID_SAMPLES - 1) * i) & ~(uint64_t)(MID_SAMPLE - 1);
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n != (ssize_t)sizeof(buf))
			return abur_fail(n < 0 ? -errno : -EIO, "read at byte %llu failed", (unsigned long long)off);
		if (!mem_is_zero(buf, sizeof(buf))) {
			*hit = off;
			return 0;
		}
	}
	return 0;
}

static int classify_unlabelled(int fd, struct disk_info *d, int sig)
{
	uint64_t span = d->size < MiB ? d->size : MiB, mid = UINT64_MAX;
	enum zero_check head, tail;
	int r;

	if (sig == -2) {
		d->cls = DISK_FOREIGN, d->reason = xstrdup("conflicting signatures (libblkid: ambivalent probe)");
		return 0;
	}
	if (d->fstype) {
		d->cls = DISK_FOREIGN;
		d->reason = xasprintf("%s signature on the whole disk, no partition table", d->fstype);
		return 0;
	}
	r = check_zero(fd, 0, span, false, &head);
	if (r == 0)
		r = check_zero(fd, d->size - span, span, true, &tail);
	if (r == 0)
		r = check_middle(fd, d, &mid);
	if (r < 0)
		return abur_fail_wrap(r, "%s", d->dev);
	d->cls = head == ZC_ZERO && tail == ZC_ZERO && mid == UINT64_MAX ? DISK_BLANK : DISK_FOREIGN;
	if (tail == ZC_GPT_BACKUP)
		d->reason = xstrdup("no partition table, but a stale backup GPT header in the last sector");
	else if (head != ZC_ZERO)
		d->reason = xstrdup("no partition table or signature, but the first MiB is not zero");
	else if (tail != ZC_ZERO)
		d->reason = xstrdup("no partition table or signature, but the last MiB is not zero");
	else if (mid != UINT64_MAX)
		d->reason =
		    xasprintf("no partition table or signature, but data at byte %llu", (unsigned long long)mid);
	else
		d->reason = xstrdup("no partition table, no signature, first and last MiB and "
				    "64 samples between zero");
	return 0;
}

static int classify(int fd, struct disk_info *d, const char *sealed_id, int sig)
{
	if (is_flash(d)) {
		d->cls = DISK_FLASH;
		d->reason = xstrdup("holds an ABUR-BOOT or ABUR-STORE filesystem");
	} else if (d->pttype && d->ptuuid && sealed_id && same_id(d->ptuuid, sealed_id)) {
		d->cls = DISK_OURS;
		d->reason = xasprintf("%s disk id %s matches the sealed os image", d->pttype, d->ptuuid);
	} else if (d->pttype) {
		d->cls = DISK_FOREIGN;
		d->reason = xasprintf("%s partition table, disk id %s %s", d->pttype, d->ptuuid ? d->ptuuid : "-",
				      sealed_id ? "is not the sealed one" : "(no sealed os image to compare)");
	} else {
		return classify_unlabelled(fd, d, sig);
	}
	return 0;
}

int image_probe(const char *dev, const char *sealed_id, struct disk_info **out)
{
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	_cleanup_(disk_info_freep) struct disk_info *d = NULL;
	char real[PATH_MAX];
	int r, sig;

	if (fd < 0)
		return abur_fail(-errno, "%s: %m", dev);
	r = blk_check_whole_disk(dev);
	if (r < 0)
		return r;
	d = xcalloc(1, sizeof(*d));
	d->dev = xstrdup(dev);
	if (!realpath(dev, real))
		snprintf(real, sizeof(real), "%s", dev);
	d->name = xstrdup(strrchr(real, '/') ? strrchr(real, '/') + 1 : real);
	r = blk_size(dev, &d->size);
	if (r == 0 && d->size < 2 * 512)
		r = abur_fail(-EINVAL, "%s: too small to be a disk", dev);
	if (r < 0)
		return r;
	read_sysfs(d);
	sig = read_signatures(fd, d);
	if (sig < 0 && sig != -2)
		return sig == -1 ? abur_fail(-EIO, "%s: probing failed", dev) : sig;
	r = classify(fd, d, sealed_id, sig);
	if (r < 0)
		return r;
	*out = TAKE_PTR(d);
	return 0;
}

void disk_info_free(struct disk_info *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nparts; i++) {
		struct probe_part *p = &d->parts[i];
		free(p->type), free(p->type_name), free(p->uuid), free(p->name), free(p->fstype), free(p->fsuuid),
		    free(p->fslabel);
	}
	free(d->parts);
	free(d->dev), free(d->name), free(d->model), free(d->serial), free(d->slot);
	free(d->pttype), free(d->ptuuid), free(d->fstype), free(d->fslabel), free(d->reason);
	free(d);
}

char *disk_summary(const struct disk_info *d)
{
	char sz[32];

	return xasprintf("model %s, serial %s%s, %s (%llu bytes)", d->model && *d->model ? d->model : "-", d->serial,
			 d->serial_is_name ? " (no serial: device name)" : "", fmt_bytes(d->size, sz, sizeof(sz)),
			 (unsigned long long)d->size);
}
