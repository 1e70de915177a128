/* The os index (seal base indexes, update states, the stat caches): a text
 * off the flash or the state directory.  osidx_parse() never crashes; an
 * index it accepts is sorted, formats and parses back to the same text. */
#include "fuzz.h"
#include "core/osidx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct osidx x, back;
	char *text, *text2;
	size_t len, len2;

	if (osidx_parse((const char *)data, size, &x) < 0) {
		FUZZ_ASSERT(x.n == 0 && x.e == NULL, "a rejected index is not cleared");
		abur_fail_clear();
		return 0;
	}
	for (size_t i = 1; i < x.n; i++)
		FUZZ_ASSERT(strcmp(x.e[i - 1].path, x.e[i].path) < 0, "paths out of order: %s, %s", x.e[i - 1].path,
			    x.e[i].path);
	for (size_t i = 0; i < x.n; i++)
		FUZZ_ASSERT(osidx_find(&x, x.e[i].path) == &x.e[i], "%s is not found", x.e[i].path);
	text = osidx_format(&x, &len);
	FUZZ_ASSERT(osidx_parse(text, len, &back) == 0, "formatted index does not parse: %s", abur_errmsg(-EINVAL));
	text2 = osidx_format(&back, &len2);
	FUZZ_ASSERT(len == len2 && memcmp(text, text2, len) == 0, "formatted index changes when parsed back");
	free(text);
	free(text2);
	osidx_free(&back);
	osidx_free(&x);
	abur_fail_clear();
	return 0;
}
