/* The restore's string set: open addressing, for paths seen in an archive. */
#include <string.h>

#include "restore_int.h"

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

bool strset_has(const struct strset *s, const char *k)
{
	if (!s->cap)
		return false;
	for (size_t i = fnv(k) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (streq(s->slot[i], k))
			return true;
	return false;
}

void strset_add(struct strset *s, const char *k)
{
	if (strset_has(s, k))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		struct strset bigger = {xcalloc(s->cap ? s->cap * 2 : 64, sizeof(char *)), s->cap ? s->cap * 2 : 64, 0};
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i]) {
				strset_add(&bigger, s->slot[i]);
				free(s->slot[i]);
			}
		free(s->slot);
		*s = bigger;
	}
	size_t i = fnv(k) & (s->cap - 1);
	while (s->slot[i])
		i = (i + 1) & (s->cap - 1);
	s->slot[i] = xstrdup(k);
	s->n++;
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}
