/* The daemon state file: state_parse() never crashes; a state it accepts
 * saves, loads back, and saves to the same file again. */
#include <unistd.h>

#include "fuzz.h"
#include "watch/state.h"

static char *dir_a, *dir_b;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char *base = fuzz_scratch("state");
	dir_a = xasprintf("%s/a", base);
	dir_b = xasprintf("%s/b", base);
	free(base);
	return 0;
}

static char *saved(const char *dir, const struct daemon_state *st, size_t *len)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, STATE_FILE);
	char *text = NULL;

	FUZZ_ASSERT(state_save(dir, st) == 0, "state_save: %s", abur_errmsg(-EIO));
	FUZZ_ASSERT(read_file(path, 1 << 22, &text, len) == 0, "read back %s", path);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_state st, back;
	char *a, *b;
	size_t alen, blen;
	int r;

	if (state_parse((const char *)data, size, &st) < 0) {
		FUZZ_ASSERT(st.ncomps == 0 && st.comps == NULL && st.defer_reason == NULL,
			    "rejected state not cleared");
		abur_fail_clear();
		return 0;
	}
	for (size_t i = 0; i < st.ncomps; i++)
		FUZZ_ASSERT(state_find(&st, st.comps[i].name) != NULL, "component %s not found", st.comps[i].name);
	a = saved(dir_a, &st, &alen);
	r = state_load(dir_a, &back);
	FUZZ_ASSERT(r == 0, "saved state does not load: %s\n%s", abur_errmsg(-EINVAL), a);
	b = saved(dir_b, &back, &blen);
	FUZZ_ASSERT(alen == blen && memcmp(a, b, alen) == 0, "saved state changes when loaded back:\n%s\n---\n%s", a,
		    b);
	free(a);
	free(b);
	state_free(&st);
	state_free(&back);
	abur_fail_clear();
	return 0;
}
