/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c). */
#ifndef ABUR_FUZZ_H
#define ABUR_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property of the code under test that does not hold: abort, so that
 * libFuzzer records the input as a crash. */
#define FUZZ_ASSERT(cond, ...)                                                                                         \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond);                               \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fputc('\n', stderr);                                                                           \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

/* A scratch directory on tmpfs: $ABUR_FUZZ_SCRATCH (tests/integration/
 * fuzz.sh makes and removes it), else /dev/shm/abur-fuzz-NAME.PID. */
static inline char *fuzz_scratch(const char *name)
{
	const char *env = getenv("ABUR_FUZZ_SCRATCH");
	char *dir = env && *env ? xstrdup(env) : xasprintf("/dev/shm/abur-fuzz-%s.%d", name, (int)getpid());

	if (mkdir_p(dir, 0755) < 0)
		abort();
	return dir;
}

/* True when text has a ';' after a blank other than a newline: the INI
 * reader takes it for the start of a comment, so a value holding one (or
 * starting with ';') does not read back as written.  A known limit of the
 * INI files ABUR writes (abur.ini print, manifests, layout.ini). */
static inline bool fuzz_ini_comment(const char *text)
{
	for (const char *p = text + 1; *p; p++)
		if (*p == ';' && p[-1] != '\n' && (p[-1] == ' ' || (p[-1] >= '\t' && p[-1] <= '\r')))
			return true;
	return false;
}

/* Both NULL, or both equal strings. */
static inline bool fuzz_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && streq(a, b));
}
#endif
