/* layout.ini: the partition table of a sealed disk as text.  Written by
 * seal, read back by reimage (and by a technician with tar). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/ini.h"
#include "core/parse.h"
#include "imgint.h"

enum field_type { F_STR, F_U64, F_UINT, F_BOOL, F_METHOD };

struct field {
	const char *key;
	enum field_type type;
	size_t off;
};

#define DF(k, t, m)                                                                                                    \
	{                                                                                                              \
		k, t, offsetof(struct layout, m)                                                                       \
	}
static const struct field disk_fields[] = {
    DF("label", F_STR, label),
    DF("id", F_STR, id),
    DF("sector_size", F_UINT, sector_size),
    DF("size", F_U64, disk_size),
    DF("first_lba", F_U64, first_lba),
    DF("last_lba", F_U64, last_lba),
    DF("entries", F_UINT, entries),
    DF("bootarea", F_U64, bootarea),
    DF("root", F_UINT, root),
};

#define PF(k, t, m)                                                                                                    \
	{                                                                                                              \
		k, t, offsetof(struct part_rec, m)                                                                     \
	}
static const struct field part_fields[] = {
    PF("start", F_U64, start),        PF("size", F_U64, size),        PF("type", F_STR, type),
    PF("uuid", F_STR, uuid),          PF("name", F_STR, name),        PF("attrs", F_STR, attrs),
    PF("bootable", F_BOOL, bootable), PF("fs", F_STR, fstype),        PF("fs_uuid", F_STR, fsuuid),
    PF("fs_label", F_STR, fslabel),   PF("method", F_METHOD, method), PF("used", F_U64, used),
};

static const char *const method_names[] = {[PM_RAW] = "raw", [PM_EXT] = "ext", [PM_SWAP] = "swap"};

const char *part_method_name(enum part_method m)
{
	return m < ARRAY_SIZE(method_names) ? method_names[m] : "?";
}

static void put_fields(FILE *f, const struct field *t, size_t n, const void *base)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)base + t[i].off;
		switch (t[i].type) {
		case F_STR:
			if (*(char *const *)p)
				fprintf(f, "%s = %s\n", t[i].key, *(char *const *)p);
			break;
		case F_U64:
			fprintf(f, "%s = %llu\n", t[i].key, (unsigned long long)*(const uint64_t *)p);
			break;
		case F_UINT:
			fprintf(f, "%s = %u\n", t[i].key, *(const unsigned *)p);
			break;
		case F_BOOL:
			fprintf(f, "%s = %s\n", t[i].key, *(const bool *)p ? "yes" : "no");
			break;
		case F_METHOD:
			fprintf(f, "%s = %s\n", t[i].key, part_method_name(*(const enum part_method *)p));
			break;
		}
	}
}

char *layout_format(const struct layout *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	fprintf(f, "; ABUR os image layout (see abur(8))\n[disk]\n");
	put_fields(f, disk_fields, ARRAY_SIZE(disk_fields), l);
	for (size_t i = 0; i < l->nparts; i++) {
		fprintf(f, "\n[partition %u]\n", l->parts[i].num);
		put_fields(f, part_fields, ARRAY_SIZE(part_fields), &l->parts[i]);
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

static int set_field(const struct field *fd, void *base, const char *val)
{
	char *p = (char *)base + fd->off;
	uint64_t v;
	bool b;

	switch (fd->type) {
	case F_STR:
		free(*(char **)p);
		*(char **)p = *val ? xstrdup(val) : NULL;
		return 0;
	case F_U64:
	case F_UINT:
		if (parse_uint(val, 0, fd->type == F_UINT ? UINT32_MAX : UINT64_MAX, &v) < 0)
			return -EINVAL;
		if (fd->type == F_U64)
			*(uint64_t *)p = v;
		else
			*(unsigned *)p = (unsigned)v;
		return 0;
	case F_BOOL:
		if (parse_bool(val, &b) < 0)
			return -EINVAL;
		*(bool *)p = b;
		return 0;
	case F_METHOD:
		for (size_t i = 0; i < ARRAY_SIZE(method_names); i++)
			if (streq(val, method_names[i])) {
				*(enum part_method *)p = (enum part_method)i;
				return 0;
			}
		return -EINVAL;
	}
	return -EINVAL;
}

static int on_section(struct lparse *ps, const char *section)
{
	unsigned num;
	char end;

	ps->in_disk = streq(section, "disk");
	ps->cur = NULL;
	if (ps->in_disk)
		return 0;
	if (sscanf(section, "partition %u%c", &num, &end) != 1 || num == 0 || num > 256)
		return -EINVAL;
	if (layout_part(ps->l, num))
		return -EEXIST;
	ps->l->parts = xrealloc(ps->l->parts, (ps->l->nparts + 1) * sizeof(*ps->l->parts));
	ps->cur = &ps->l->parts[ps->l->nparts++];
	memset(ps->cur, 0, sizeof(*ps->cur));
	ps->cur->num = num;
	return 0;
}

static int on_line(void *user, const char *section, const char *key, const char *value, int line)
{
	struct lparse *ps = user;
	const struct field *t = ps->in_disk ? disk_fields : part_fields;
	size_t n = ps->in_disk ? ARRAY_SIZE(disk_fields) : ARRAY_SIZE(part_fields);
	int r = -EINVAL;

	if (!key) {
		r = on_section(ps, section);
	} else if (ps->in_disk || ps->cur) {
		for (size_t i = 0; i < n; i++)
			if (streq(t[i].key, key))
				r = set_field(&t[i], ps->in_disk ? (void *)ps->l : (void *)ps->cur, value);
	}
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

static int check_layout(const struct layout *l)
{
	if (!l->label || (!streq(l->label, "gpt") && !streq(l->label, "dos")))
		return abur_fail(-EINVAL, "layout.ini: label must be gpt or dos");
	if (l->sector_size < 512 || l->sector_size > 4096 || (l->sector_size & (l->sector_size - 1)))
		return abur_fail(-EINVAL, "layout.ini: bad sector_size %u", l->sector_size);
	if (l->nparts == 0 || l->bootarea > BOOTAREA_MAX)
		return abur_fail(-EINVAL, "layout.ini: no partitions, or boot area too large");
	for (size_t i = 0; i < l->nparts; i++)
		if (l->parts[i].size == 0 || l->parts[i].start * l->sector_size < l->bootarea)
			return abur_fail(-EINVAL, "layout.ini: partition %u overlaps the boot area or is empty",
					 l->parts[i].num);
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
	r = check_layout(l);
	if (r < 0)
		layout_free(l);
	return r;
}
