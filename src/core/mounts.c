#include "mounts.h"

#include <string.h>
#include <sys/sysmacros.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unoctal(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

static void add_line(struct mount_list *l, const char *line)
{
	unsigned maj, mnr;
	char dir[4096], src[1024] = "?";
	const char *dash = strstr(line, " - ");

	if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &mnr, dir) != 3)
		return;
	if (dash)
		sscanf(dash + 3, "%*s %1023s", src);
	unoctal(dir);
	unoctal(src);
	l->e = xrealloc(l->e, (l->n + 1) * sizeof(*l->e));
	l->e[l->n++] = (struct mount_ent){makedev(maj, mnr), xstrdup(dir), xstrdup(src)};
}

int mounts_read(struct mount_list *out)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];

	out->e = NULL;
	out->n = 0;
	if (!f)
		return abur_fail(-errno, "/proc/self/mountinfo: %m");
	while (fgets(line, sizeof(line), f))
		add_line(out, line);
	return 0;
}

void mounts_free(struct mount_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].dir);
		free(l->e[i].source);
	}
	free(l->e);
	l->e = NULL;
	l->n = 0;
}
