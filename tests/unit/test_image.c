/* The image module without root: layout.ini, extent maps, a disk.tar.zst
 * written from and back onto plain files, probe classes of plain files,
 * (the progress bar: test_progress.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "abur/kconfig.h"
#include "image/image.h"
#include "image/imgint.h"

#define MB (1024 * 1024)

static const char good_ini[] = "[disk]\nlabel = gpt\nid = 846410D5-1706-B145-8B01-3B4137476724\n"
			       "sector_size = 512\nsize = 67108864\nfirst_lba = 2048\nlast_lba = 131038\n"
			       "entries = 128\nbootarea = 1048576\nroot = 2\n\n"
			       "[partition 1]\nstart = 2048\nsize = 2048\ntype = 21686148-6449-6E6F-744E-656564454649\n"
			       "name = bios boot\nmethod = raw\nused = 4096\n\n"
			       "[partition 2]\nstart = 4096\nsize = 65536\ntype = "
			       "0FC63DAF-8483-4772-8E79-3D69D8477DE4\nfs = ext4\nfs_uuid = abc\nmethod = ext\n"
			       "attrs = RequiredPartition LegacyBIOSBootable\nbootable = no\nused = 99\n";

static void layout_roundtrip(void **state)
{
	struct layout l, l2;
	(void)state;

	assert_int_equal(layout_parse(good_ini, strlen(good_ini), &l), 0);
	assert_string_equal(l.label, "gpt");
	assert_int_equal(l.nparts, 2);
	assert_string_equal(l.parts[0].name, "bios boot");
	assert_ptr_equal(l.parts[1].method, part_method_find("ext"));
	assert_string_equal(l.parts[1].attrs, "RequiredPartition LegacyBIOSBootable");
	/* end of p2 (69632 sectors) plus the 33-sector GPT backup */
	assert_int_equal(layout_required(&l), (69632ULL + 33) * 512);
	assert_int_equal(layout_gap_start(&l), 34 * 512);
	char *text = layout_format(&l);
	assert_int_equal(layout_parse(text, strlen(text), &l2), 0);
	char *text2 = layout_format(&l2);
	assert_string_equal(text, text2);
	free(text), free(text2);
	layout_free(&l), layout_free(&l2);
}

static void layout_rejects(void **state)
{
	static const char *const bad[] = {
	    "[disk]\nlabel = sun\nsector_size = 512\nbootarea = 512\n[partition 1]\nstart = 1\nsize = 1\n",
	    "[disk]\nlabel = dos\nsector_size = 512\nbootarea = 1048576\n[partition 1]\nstart = 1\nsize = 1\n",
	    "[disk]\nlabel = dos\nsector_size = 512\nbogus = 1\n",
	    "[disk]\nlabel = dos\nsector_size = 512\n[partition 1]\nmethod = zip\n",
	    "[disk]\nlabel = dos\nsector_size = 512\n[partition 1]\nstart = 1\n[partition 1]\nstart = 2\n",
	    "[disk]\nlabel = dos\nsector_size = 300\n[partition 1]\nstart = 8\nsize = 1\n",
	    "[disk]\nlabel = dos\nsector_size = 512\n",
	    /* found by fuzz_layout: read as name = "x ; y", formatted, read back as "x" */
	    "[disk]\nlabel = dos\nsector_size = 512\n[partition 1]\nstart = 8\nsize = 1\nname = a\n x ; y\n",
	};
	struct layout l;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(layout_parse(bad[i], strlen(bad[i]), &l), -EINVAL);
	assert_non_null(strstr(abur_errmsg(-EINVAL), "layout.ini"));
	assert_int_equal(layout_parse(bad[2], strlen(bad[2]), &l), -EINVAL);
	assert_non_null(strstr(abur_errmsg(-EINVAL), "layout.ini:4: bogus = 1"));
}

/* good_ini with one line replaced (or added to a section): each crafted
 * layout must be refused by the layout rules, naming why. */
static void layout_rules(void **state)
{
	static const struct {
		const char *from, *to, *why;
	} cases[] = {
	    {"[partition 2]\nstart = 4096", "[partition 2]\nstart = 3000", "overlap"},
	    {"[partition 2]\nstart = 4096\nsize = 65536", "[partition 2]\nstart = 4096\nsize = 0", "no sectors"},
	    {"start = 4096\nsize = 65536", "start = 4096\nsize = 18446744073709550000", "overflows"},
	    {"start = 4096\nsize = 65536", "start = 36028797018963968\nsize = 65536", "overflows"},
	    {"start = 4096\nsize = 65536", "start = 4096\nsize = 9999999", "past the end"},
	    {"start = 4096\nsize = 65536", "start = -4096\nsize = 65536", "start = -4096"},
	    {"[partition 1]\nstart = 2048", "[partition 1]\nstart = 10", "partition table area"},
	    {"bootarea = 1048576", "bootarea = 2000000", "boot area"},
	    {"first_lba = 2048", "first_lba = 20", "usable sectors"},
	    {"last_lba = 131038", "last_lba = 131070", "usable sectors"},
	    {"[partition 2]", "[partition 1]", "[partition 1]"},
	    {"[partition 1]", "[partition 3]", "listed after"},
	    {"[partition 1]", "[partition 129]", "beyond the table's entries"},
	    {"entries = 128", "entries = 100000", "entries"},
	    {"sector_size = 512", "sector_size = 520", "sector_size"},
	    {"type = 21686148-6449-6E6F-744E-656564454649", "type = linux", "GUID"},
	    {"root = 2", "root = 7", "root partition"},
	    {"used = 99", "used = 999999999999", "more bytes"},
	};
	struct layout l;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *at = strstr(good_ini, cases[i].from);
		assert_non_null(at);
		char *text =
		    xasprintf("%.*s%s%s", (int)(at - good_ini), good_ini, cases[i].to, at + strlen(cases[i].from));
		int r = layout_parse(text, strlen(text), &l);
		if (r == 0 || !strstr(abur_errmsg(r), cases[i].why))
			fail_msg("case %zu (%s): r=%d %s", i, cases[i].to, r, r ? abur_errmsg(r) : "accepted");
		free(text);
	}
	static const char dos_ext[] = "[disk]\nlabel = dos\nsector_size = 512\nsize = 8388608\nentries = 4\n"
				      "bootarea = 512\n[partition 1]\nstart = 2048\nsize = 2048\ntype = 5\n";
	assert_int_equal(layout_parse(dos_ext, strlen(dos_ext), &l), -EINVAL);
	assert_non_null(strstr(abur_errmsg(-EINVAL), "no primary DOS type"));
}

/* good_ini with partition 1 given method name (and size sectors). */
static int parse_with_method(const char *name, const char *size, struct layout *l)
{
	const char *m = strstr(good_ini, "method = raw"), *sz = strstr(good_ini, "size = 2048");
	assert_true(m && sz && sz < m);
	char *text = xasprintf("%.*ssize = %s%.*smethod = %s%s", (int)(sz - good_ini), good_ini, size,
			       (int)(m - sz - strlen("size = 2048")), sz + strlen("size = 2048"), name,
			       m + strlen("method = raw"));
	int r = layout_parse(text, strlen(text), l);
	free(text);
	return r;
}

/* What claims an NTFS volume: its method, or raw when it is not built. */
#define NTFS (IS_ENABLED(CONFIG_IMAGE_NTFS) ? "ntfs" : "raw")

/* pmethod.c:part_methods[]: every row complete, names unique, each name
 * read from and written to layout.ini, and the first match wins. */
static void part_method_table(void **state)
{
	static const struct {
		const char *fstype, *method;
	} cases[] = {
	    {"ext2", "ext"}, {"ext3", "ext"}, {"ext4", "ext"},    {"swap", "swap"},
	    {"xfs", "raw"},  {"vfat", "raw"}, {"ext4dev", "raw"}, {"swsuspend", "raw"},
	    {"", "raw"},     {NULL, "raw"},   {"ntfs", NTFS},     {"BitLocker", "bitlocker"},
	};
	size_t n;
	const struct part_method *const *t = part_methods(&n);
	struct layout l;
	(void)state;

	assert_true(n >= 2);
	assert_true(IS_ENABLED(CONFIG_IMAGE_NTFS) == (part_method_find("ntfs") != NULL));
	for (size_t i = 0; i < n; i++) {
		const struct part_method *m = t[i];
		if (!m) /* its feature is off */
			continue;
		assert_true(m->name && m->name[0] && strlen(m->name) < 16);
		assert_non_null(m->match);
		/* stored, or recreated once the table is written */
		assert_true(m->scan || m->finish);
		if (!m->scan)
			assert_int_equal(m->flags & (PMF_ZERO_HOLES | PMF_FILES | PMF_RAW_AREA), 0);
		for (size_t k = 0; k < i; k++)
			if (t[k])
				assert_string_not_equal(t[k]->name, m->name);
		assert_ptr_equal(part_method_find(m->name), m);
		assert_int_equal(parse_with_method(m->name, "2048", &l), 0);
		assert_ptr_equal(l.parts[0].method, m);
		char *text = layout_format(&l), *want = xasprintf("method = %s\n", m->name);
		assert_non_null(strstr(text, want));
		free(text), free(want);
		layout_free(&l);
		if (m->min_bytes) { /* a layout rule of the method's own */
			char *small = xasprintf("%llu", (unsigned long long)(m->min_bytes / 512 - 1));
			assert_int_equal(parse_with_method(m->name, small, &l), -EINVAL);
			assert_non_null(strstr(abur_errmsg(-EINVAL), "too small for"));
			free(small);
		}
	}
	assert_null(part_method_find("zip"));
	assert_null(part_method_find("ext4"));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (!streq(part_method_match(cases[i].fstype)->name, cases[i].method))
			fail_msg("fs %s: method %s, expected %s", cases[i].fstype ? cases[i].fstype : "(none)",
				 part_method_match(cases[i].fstype)->name, cases[i].method);
	/* the last row claims what no other does */
	assert_ptr_equal(part_method_match("no such filesystem"), t[n - 1]);
}

static void extents_merge(void **state)
{
	struct extents x = {0};
	(void)state;

	extents_add(&x, 0, 4096);
	extents_add(&x, 4096, 4096); /* adjacent: merged */
	extents_add(&x, 16384, 0);   /* empty: ignored */
	extents_add(&x, 16384, 512);
	assert_int_equal(x.n, 2);
	assert_int_equal(x.e[0].len, 8192);
	assert_int_equal(x.bytes, 8192 + 512);
	extents_free(&x);
	assert_int_equal(x.n, 0);
}

/* A 4 MiB "disk": boot area with code, p1 full of data at 1 MiB, p2 at
 * 2 MiB with three scattered blocks. */
static int make_disk(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char buf[8192];

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * MB), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 1);
	assert_int_equal(pwrite(fd, buf, 440, 0), 440);
	assert_int_equal(pwrite(fd, buf, 2000, 512), 2000); /* the gap */
	for (int i = 0; i < MB / (int)sizeof(buf); i++)
		assert_int_equal(pwrite(fd, buf, sizeof(buf), MB + i * (off_t)sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(pwrite(fd, buf, 4096, 2 * MB), 4096);
	assert_int_equal(pwrite(fd, buf + 3, 100, 2 * MB + 40960), 100);
	assert_int_equal(pwrite(fd, buf, 4096, 4 * MB - 4096), 4096);
	return fd;
}

static void dos_layout(struct layout *l)
{
	memset(l, 0, sizeof(*l));
	l->label = xstrdup("dos");
	l->id = xstrdup("0x1234abcd");
	l->sector_size = 512;
	l->disk_size = 4 * MB;
	l->bootarea = MB;
	l->entries = 4;
	l->nparts = 2;
	l->parts = xcalloc(2, sizeof(*l->parts));
	l->parts[0] = (struct part_rec){.num = 1, .start = 2048, .size = 2048, .type = xstrdup("83")};
	l->parts[1] = (struct part_rec){.num = 2, .start = 4096, .size = 4096, .type = xstrdup("83")};
}

static void fill_to_file(const char *disk, int fd, struct layout *l, const char *out)
{
	struct archive *a = archive_write_new();
	char *text;

	for (size_t i = 0; i < l->nparts; i++)
		assert_int_equal(blocks_scan(fd, disk, 512, &l->parts[i], 0), 0);
	assert_ptr_equal(l->parts[0].method, part_method_find("raw"));
	assert_int_equal(l->parts[0].used, MB);
	assert_int_equal(l->parts[1].used, 3 * 4096); /* three non-zero 4 KiB blocks */
	text = layout_format(l);
	struct diskimg_src src = {.dev = disk, .fd = fd, .l = l, .layout_text = text};
	archive_write_set_format_pax(a);
	archive_write_add_filter_zstd(a);
	assert_int_equal(archive_write_open_filename(a, out), ARCHIVE_OK);
	assert_int_equal(diskimg_fill(a, &src), 0);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	free(text);
}

static struct archive *open_read(const char *path)
{
	struct archive *a = archive_read_new();

	archive_read_support_format_tar(a);
	archive_read_support_filter_zstd(a);
	assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
	return a;
}

static void diskimg_roundtrip(void **state)
{
	char dir[] = "/tmp/test_image.XXXXXX";
	struct layout l;
	(void)state;

	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *disk = xasprintf("%s/disk", dir), *tar = xasprintf("%s/disk.tar.zst", dir);
	_cleanup_free_ char *target = xasprintf("%s/target", dir);
	int fd = make_disk(disk);
	dos_layout(&l);
	fill_to_file(disk, fd, &l, tar);

	/* the target holds old data everywhere: holes of raw partitions must be zeroed */
	int tfd = open(target, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char junk[65536];
	memset(junk, 0x5a, sizeof(junk));
	for (int i = 0; i < 4 * MB / (int)sizeof(junk); i++)
		assert_int_equal(write(tfd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	struct diskimg_dst dst = {.fd = tfd, .dev = target, .zero_holes = true};
	struct archive *a = open_read(tar);
	assert_int_equal(diskimg_extract(a, &dst), 0);
	archive_read_free(a);
	assert_int_equal(dst.bootarea_len, MB);
	assert_int_equal(dst.l.nparts, 2);

	char *x = xmalloc(3 * MB), *y = xmalloc(3 * MB);
	assert_int_equal(pread(fd, x, 3 * MB, MB), 3 * MB);
	assert_int_equal(pread(tfd, y, 3 * MB, MB), 3 * MB);
	assert_memory_equal(x, y, 3 * MB); /* both partitions, holes zeroed */
	assert_int_equal(pread(fd, x, MB - 512, 512), MB - 512);
	assert_int_equal(pread(tfd, y, MB - 512, 512), MB - 512);
	assert_memory_equal(x, y, MB - 512); /* the gap; sector 0 is written later, by reimage */
	free(x), free(y);
	diskimg_dst_free(&dst);
	layout_free(&l);
	close(fd), close(tfd);
	unlink(disk), unlink(tar), unlink(target), rmdir(dir);
}

static void diskimg_sparse_entries(void **state)
{
	char dir[] = "/tmp/test_image.XXXXXX";
	struct archive_entry *e;
	struct layout l;
	int found = 0;
	(void)state;

	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *disk = xasprintf("%s/disk", dir), *tar = xasprintf("%s/disk.tar.zst", dir);
	int fd = make_disk(disk);
	dos_layout(&l);
	fill_to_file(disk, fd, &l, tar);
	struct archive *a = open_read(tar);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (streq(archive_entry_pathname(e), "p2.img")) {
			found = 1;
			assert_int_equal(archive_entry_size(e), 2 * MB);
			assert_true(archive_entry_sparse_count(e) >= 2);
		}
		archive_read_data_skip(a);
	}
	archive_read_free(a);
	struct stat st;
	assert_int_equal(stat(tar, &st), 0);
	assert_true(st.st_size < 1200 * 1024); /* p2's 2 MiB are not stored */
	assert_true(found);
	layout_free(&l);
	close(fd);
	unlink(disk), unlink(tar), rmdir(dir);
}

static void probe_plain_files(void **state)
{
	char path[] = "/tmp/test_probe.XXXXXX";
	int fd = mkstemp(path);
	struct disk_info *d;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 * MB), 0);
	assert_int_equal(image_probe(path, NULL, &d), 0);
	assert_int_equal(d->cls, DISK_BLANK);
	disk_info_free(d);
	assert_int_equal(pwrite(fd, "EFI PART", 8, 8 * MB - 512), 8);
	assert_int_equal(image_probe(path, NULL, &d), 0);
	assert_int_equal(d->cls, DISK_FOREIGN);
	assert_non_null(strstr(d->reason, "stale backup GPT"));
	disk_info_free(d);
	assert_int_equal(pwrite(fd, "\0\0\0\0\0\0\0\0", 8, 8 * MB - 512), 8);
	assert_int_equal(pwrite(fd, "x", 1, 700 * 1024), 1);
	assert_int_equal(image_probe(path, NULL, &d), 0);
	assert_int_equal(d->cls, DISK_FOREIGN);
	assert_non_null(strstr(d->reason, "first MiB"));
	disk_info_free(d);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(layout_roundtrip),       cmocka_unit_test(layout_rejects),
	    cmocka_unit_test(layout_rules),           cmocka_unit_test(part_method_table),
	    cmocka_unit_test(extents_merge),          cmocka_unit_test(diskimg_roundtrip),
	    cmocka_unit_test(diskimg_sparse_entries), cmocka_unit_test(probe_plain_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
