/* layout.ini: the partition table of a sealed disk as text.  Written by
 * seal, read back by reimage (and by a technician with tar). */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/fields.h"
#include "core/ini.h"
#include "imgint.h"

/* method = NAME: a row of the method table (pmethod.c). */
static int parse_method(const struct field *f, void *p, const char *val)
{
	const struct part_method *m = part_method_find(val);

	if (!m)
		return abur_fail(-EINVAL, "%s = %s: no such partition method", f->key, val);
	*(const struct part_method **)p = m;
	return 0;
}

static char *format_method(const struct field *f, const void *p)
{
	(void)f;
	return xstrdup((*(const struct part_method *const *)p)->name);
}

#define DF(k, t, m)                                                                                                    \
	{                                                                                                              \
		.key = k, .type = t, .off = offsetof(struct layout, m)                                                 \
	}
static const struct field disk_fields[] = {
    DF("label", FT_STR, label),
    DF("id", FT_STR, id),
    DF("sector_size", FT_UINT, sector_size),
    DF("size", FT_U64, disk_size),
    DF("first_lba", FT_U64, first_lba),
    DF("last_lba", FT_U64, last_lba),
    DF("entries", FT_UINT, entries),
    DF("bootarea", FT_U64, bootarea),
    DF("root", FT_UINT, root),
};

#define PF(k, t, m)                                                                                                    \
	{                                                                                                              \
		.key = k, .type = t, .off = offsetof(struct part_rec, m)                                               \
	}
static const struct field part_fields[] = {
    PF("start", FT_U64, start),
    PF("size", FT_U64, size),
    PF("type", FT_STR, type),
    PF("uuid", FT_STR, uuid),
    PF("name", FT_STR, name),
    PF("attrs", FT_STR, attrs),
    PF("bootable", FT_BOOL, bootable),
    PF("fs", FT_STR, fstype),
    PF("fs_uuid", FT_STR, fsuuid),
    PF("fs_label", FT_STR, fslabel),
    {.key = "method",
     .type = FT_CUSTOM,
     .off = offsetof(struct part_rec, method),
     .parse = parse_method,
     .format = format_method},
    PF("used", FT_U64, used),
};

char *layout_format(const struct layout *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	fprintf(f, "; ABUR os image layout (see abur(8))\n[disk]\n");
	field_write(f, disk_fields, ARRAY_SIZE(disk_fields), l, " = ");
	for (size_t i = 0; i < l->nparts; i++) {
		fprintf(f, "\n[partition %u]\n", l->parts[i].num);
		field_write(f, part_fields, ARRAY_SIZE(part_fields), &l->parts[i], " = ");
	}
	fclose(f);
	return buf;
}

struct lparse {
	struct layout *l;
	struct part_rec *cur; /* NULL in [disk] */
	bool in_disk;
	int bad_line;
	char why[160];
};

static int on_section(struct lparse *ps, const char *section)
{
	unsigned num;
	char end;

	ps->in_disk = streq(section, "disk");
	ps->cur = NULL;
	if (ps->in_disk)
		return 0;
	if (sscanf(section, "partition %u%c", &num, &end) != 1 || num == 0 || num > PART_NUM_MAX)
		return -EINVAL;
	if (layout_part(ps->l, num))
		return -EEXIST;
	ps->l->parts = xrealloc(ps->l->parts, (ps->l->nparts + 1) * sizeof(*ps->l->parts));
	ps->cur = &ps->l->parts[ps->l->nparts++];
	memset(ps->cur, 0, sizeof(*ps->cur));
	ps->cur->num = num;
	ps->cur->method = part_method_match(NULL); /* no method = a partition with no filesystem */
	return 0;
}

static int on_line(void *user, const char *section, const char *key, const char *value, int line)
{
	struct lparse *ps = user;
	const struct field *t = ps->in_disk ? disk_fields : part_fields;
	size_t n = ps->in_disk ? ARRAY_SIZE(disk_fields) : ARRAY_SIZE(part_fields);
	const struct field *fd = key && (ps->in_disk || ps->cur) ? field_find(t, n, key) : NULL;
	int r = -EINVAL;

	if (!key)
		r = on_section(ps, section);
	else if (fd)
		r = field_parse(fd, ps->in_disk ? (void *)ps->l : (void *)ps->cur, value);
	if (r < 0 && !ps->bad_line) {
		ps->bad_line = line;
		snprintf(ps->why, sizeof(ps->why), "%s%s%s", key ? key : "[", key ? " = " : section, key ? value : "]");
	}
	return r;
}

static void on_syntax(void *user, int line, const char *what)
{
	struct lparse *ps = user;

	if (!ps->bad_line) {
		ps->bad_line = line;
		snprintf(ps->why, sizeof(ps->why), "%s", what);
	}
}

/* ---- the rules every layout obeys (seal checks what it read, reimage
 * what it is given, before anything is written) ---- */

static bool is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Printable, at most max bytes: it goes into layout.ini as one value. */
#define TEXT_MAX (INI_LINE_MAX - sizeof("fs_label = ") + 1)

static bool is_text(const char *s, size_t max)
{
	size_t n = 0;

	for (; s && s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return n <= max;
}

/* A DOS type code libfdisk can recreate as a primary partition:
 * extended containers (5, f, 85) and "empty" are not. */
static bool dos_type_ok(const char *t)
{
	unsigned long v;
	char *end;

	if (!t || !*t || strlen(t) > 2)
		return false;
	errno = 0;
	v = strtoul(t, &end, 16);
	return !*end && !errno && v != 0 && v != 0x05 && v != 0x0f && v != 0x85;
}

static int bad(const struct part_rec *p, const char *why)
{
	return abur_fail(-EINVAL, "partition %u %s", p->num, why);
}

/* First sector a partition may use: after sector 0, and on GPT after the
 * primary header and entry array. */
static uint64_t first_usable(const struct layout *l)
{
	return layout_gap_start(l) / l->sector_size;
}

static int check_part_bounds(const struct layout *l, const struct part_rec *p)
{
	uint64_t end, end_bytes, bytes;

	if (p->size == 0)
		return bad(p, "has no sectors");
	if (__builtin_add_overflow(p->start, p->size, &end) ||
	    __builtin_mul_overflow(end, (uint64_t)l->sector_size, &end_bytes) || end_bytes > INT64_MAX)
		return bad(p, "ends beyond any disk (start + size overflows)");
	bytes = p->size * l->sector_size;
	if (end_bytes > l->disk_size)
		return bad(p, "runs past the end of the disk");
	if (p->start < first_usable(l))
		return bad(p, "starts inside the partition table area");
	if (p->start * l->sector_size < l->bootarea)
		return bad(p, "overlaps the stored boot area");
	if (streq(l->label, "gpt") && (p->start < l->first_lba || end - 1 > l->last_lba))
		return bad(p, "lies outside the GPT's usable sectors (first_lba .. last_lba)");
	if (streq(l->label, "dos") && (p->start > UINT32_MAX || p->size > UINT32_MAX))
		return bad(p, "does not fit a DOS partition table (32-bit sectors)");
	if (p->used > bytes)
		return bad(p, "stores more bytes than it has");
	if (bytes < p->method->min_bytes)
		return abur_fail(-EINVAL, "partition %u is too small for %s", p->num, p->method->name);
	return 0;
}

static int check_part_text(const struct layout *l, const struct part_rec *p)
{
	bool gpt = streq(l->label, "gpt");

	if (p->num == 0 || p->num > PART_NUM_MAX || p->num > l->entries)
		return bad(p, "has a number beyond the table's entries");
	if (gpt ? !is_uuid(p->type) : !dos_type_ok(p->type))
		return bad(p, gpt ? "has a type that is not a GUID" : "has a type that is no primary DOS type");
	if ((gpt && p->uuid && !is_uuid(p->uuid)) || !is_text(p->uuid, 64))
		return bad(p, "has a malformed UUID");
	/* TEXT_MAX: "fs_label = " and the value fit one INI line (layout_format) */
	if (!is_text(p->name, 72) || !is_text(p->attrs, TEXT_MAX))
		return bad(p, "has a name or attributes that cannot be stored");
	if (!is_text(p->fstype, 32) || !is_text(p->fsuuid, 64) || !is_text(p->fslabel, TEXT_MAX))
		return bad(p, "has a malformed filesystem type, UUID or label");
	if ((p->method->flags & PMF_FS_UUID) && p->fsuuid && !is_uuid(p->fsuuid))
		return abur_fail(-EINVAL, "partition %u is %s with a malformed UUID", p->num, p->method->name);
	return 0;
}

/* Every pair of partitions apart, numbers ascending (n <= PART_NUM_MAX). */
static int check_overlaps(const struct layout *l)
{
	for (size_t i = 0; i < l->nparts; i++)
		for (size_t k = i + 1; k < l->nparts; k++) {
			const struct part_rec *a = &l->parts[i], *b = &l->parts[k];
			if (a->num == b->num)
				return bad(a, "appears twice");
			if (a->num > b->num) /* seal writes them in table order */
				return abur_fail(-EINVAL, "partition %u is listed after partition %u", b->num, a->num);
			if (a->start < b->start + b->size && b->start < a->start + a->size)
				return abur_fail(-EINVAL, "partitions %u and %u overlap", a->num, b->num);
		}
	return 0;
}

static int check_disk(const struct layout *l)
{
	bool gpt;
	uint64_t end;

	if (!l->label || (!streq(l->label, "gpt") && !streq(l->label, "dos")))
		return abur_fail(-EINVAL, "label must be gpt or dos");
	gpt = streq(l->label, "gpt");
	if (l->sector_size < 512 || l->sector_size > 4096 || (l->sector_size & (l->sector_size - 1)))
		return abur_fail(-EINVAL, "bad sector_size %u", l->sector_size);
	if (gpt ? l->entries == 0 || l->entries > GPT_ENTRIES_MAX : l->entries != 4)
		return abur_fail(-EINVAL, "%u partition entries (gpt: 1 to %u, dos: 4)", l->entries, GPT_ENTRIES_MAX);
	if (l->nparts == 0 || l->nparts > l->entries || l->nparts > PART_NUM_MAX)
		return abur_fail(-EINVAL, "%zu partitions (1 to %u)", l->nparts,
				 l->entries < PART_NUM_MAX ? l->entries : PART_NUM_MAX);
	if (l->bootarea > BOOTAREA_MAX)
		return abur_fail(-EINVAL, "boot area of %llu bytes (at most %llu)", (unsigned long long)l->bootarea,
				 (unsigned long long)BOOTAREA_MAX);
	if (!is_text(l->id, 64) || (gpt && l->id && !is_uuid(l->id)))
		return abur_fail(-EINVAL, "malformed disk id");
	if (gpt &&
	    (l->first_lba < first_usable(l) || l->last_lba < l->first_lba ||
	     __builtin_add_overflow(l->last_lba, 1 + GPT_BACKUP_SECTORS, &end) || end > l->disk_size / l->sector_size))
		return abur_fail(-EINVAL, "GPT usable sectors %llu .. %llu do not fit a disk of %llu bytes",
				 (unsigned long long)l->first_lba, (unsigned long long)l->last_lba,
				 (unsigned long long)l->disk_size);
	if (l->root && (!layout_part(l, l->root) || !part_stored(layout_part(l, l->root))))
		return abur_fail(-EINVAL, "root partition %u is not a partition holding a filesystem", l->root);
	return 0;
}

int layout_check(const struct layout *l)
{
	int r = check_disk(l);

	for (size_t i = 0; r == 0 && i < l->nparts; i++) {
		r = check_part_text(l, &l->parts[i]);
		if (r == 0)
			r = check_part_bounds(l, &l->parts[i]);
	}
	return r < 0 ? r : check_overlaps(l);
}

int layout_check_target(const struct layout *l, const char *dev, uint64_t disk_bytes, unsigned sector_size)
{
	uint64_t need = layout_required(l);

	if (sector_size != l->sector_size)
		return abur_fail(-EINVAL,
				 "%s has %u-byte logical sectors, the image was sealed from a disk with %u-byte "
				 "sectors: ABUR does not convert between sector sizes",
				 dev, sector_size, l->sector_size);
	if (need > disk_bytes)
		return abur_fail(-ENOSPC, "layout.ini needs %llu bytes, %s has %llu", (unsigned long long)need, dev,
				 (unsigned long long)disk_bytes);
	return 0;
}

int layout_parse(const char *text, size_t len, struct layout *l)
{
	struct lparse ps = {.l = l};
	int r;

	memset(l, 0, sizeof(*l));
	r = ini_continuation_line(text, len);
	if (r)
		return abur_fail(-EINVAL, "layout.ini:%d: continuation line", r);
	r = ini_walk(text, len, on_line, on_syntax, &ps);
	if (r < 0 || ps.bad_line) {
		r = abur_fail(-EINVAL, "layout.ini:%d: %s", ps.bad_line, ps.why);
		layout_free(l);
		return r;
	}
	r = layout_check(l);
	if (r < 0) {
		r = abur_fail_wrap(r, "layout.ini");
		layout_free(l);
	}
	return r;
}
