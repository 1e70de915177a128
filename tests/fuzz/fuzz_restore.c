/* The restore pre-check: restore_check_archive() over an archive read
 * from memory (tar/pax, raw or zstd-compressed, as payloads are), once
 * with the default limits and once with tiny ones.  It must never crash
 * or leak, whatever the archive holds. */
#include <archive.h>

#include "fuzz.h"
#include "store/store.h"

static void check(const uint8_t *data, size_t size, const struct restore_limits *lim)
{
	struct archive *a = archive_read_new();
	int r;

	FUZZ_ASSERT(a, "archive_read_new");
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
		r = restore_check_archive(a, lim);
		FUZZ_ASSERT(r == 0 || r == -EPERM || r == -EFBIG || r == -EBADMSG, "unexpected result %d", r);
		FUZZ_ASSERT(r == 0 || *abur_errmsg(r), "refused without a reason");
	}
	archive_read_free(a);
	abur_fail_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct restore_limits dflt = {16ULL << 30, 200000}, tiny = {1000, 3};

	check(data, size, &dflt);
	check(data, size, &tiny);
	return 0;
}
