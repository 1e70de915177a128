/* What abur ls and abur diff share: picking a generation, reading its
 * entries (a file component's payload, an os seal or update through the
 * image module), PATH filters, and how an entry's fields are written. */
#include <string.h>
#include <time.h>

#include "abur/kconfig.h"
#include "cmd.h"
#include "core/osidx.h"
#include "image/image.h"

int open_component(struct ctx *ctx, const struct cmd *self, const char *name, const struct abur_component **comp,
		   struct store **s)
{
	int r = ctx_config(ctx);

	if (r)
		return r;
	if (!(*comp = ctx_component(ctx, name, self)))
		return EXIT_USAGE;
	return ctx_store(ctx, STORE_READ, s);
}

int find_generation(const char *comp, const struct gen_list *l, uint64_t seq, const struct generation **g)
{
	*g = gen_list_find(l, seq);
	if (!*g)
		return abur_fail(-ENOENT, "%s has no generation g%06llu", comp, (unsigned long long)seq);
	if (!(*g)->valid)
		return abur_fail(-EBADMSG, "%s g%06llu is damaged: %s", comp, (unsigned long long)seq, (*g)->problem);
	return 0;
}

int pick_generation(struct store *s, const char *comp, uint64_t want, struct gen_list *l, const struct generation **g)
{
	int r;

	if (!want) {
		r = store_newest(s, comp, GEN_CHECK_VALID, GEN_SEQ_ANY, l, g);
		return r == -ENOENT ? abur_fail(r, "%s has no valid generation", comp) : r;
	}
	r = store_list(s, comp, l);
	return r < 0 ? r : find_generation(comp, l, want, g);
}

int entries_load(struct store *s, const struct abur_component *c, const struct gen_list *l, const struct generation *g,
		 struct osidx *out)
{
	if (component_is(c, CT_FILE_TREE))
		return gen_entries(s, g, out);
	if (IS_ENABLED(CONFIG_IMAGE) && component_is(c, CT_DISK_IMAGE))
		return image_os_entries(s, l, g, out);
	return abur_fail(-EOPNOTSUPP, "%s: listing its generations is not supported in this build", c->name);
}

/* "/etc/vms/" -> "etc/vms" (in place). */
static char *filter_path(char *p)
{
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	return p;
}

void filter_init(struct path_filter *f, char **paths, size_t n)
{
	f->paths = paths;
	f->n = n;
	f->hit = xcalloc(n ? n : 1, sizeof(*f->hit));
	for (size_t i = 0; i < n; i++)
		paths[i] = filter_path(paths[i]);
}

bool filter_match(struct path_filter *f, const char *path)
{
	bool any = f->n == 0;

	for (size_t i = 0; i < f->n; i++) {
		size_t k = strlen(f->paths[i]);
		if (!*f->paths[i] || (!strncmp(path, f->paths[i], k) && (path[k] == '\0' || path[k] == '/')))
			any = f->hit[i] = true;
	}
	return any;
}

const char *filter_missed(const struct path_filter *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (!f->hit[i])
			return f->paths[i];
	return NULL;
}

void filter_free(struct path_filter *f)
{
	free(f->hit);
	f->hit = NULL;
}

int entries_missed(const struct path_filter *f, const char *comp)
{
	const char *miss = filter_missed(f);
	char esc[160];

	if (!miss)
		return 0;
	return abur_fail(-ENOENT, "%s: no path '%s' in the generation%s", comp, cli_escape(miss, esc, sizeof(esc)),
			 f->n > 1 ? "s" : "");
}

static const struct {
	char type;
	char ls;
	const char *name;
} types[] = {
    {OSIDX_FILE, '-', "file"},
    {OSIDX_DIR, 'd', "dir"},
    {OSIDX_SYMLINK, 'l', "symlink"},
    {OSIDX_HARDLINK, 'h', "hardlink"},
};

static size_t type_row(char type)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].type == type)
			return i;
	return 0;
}

const char *entry_type_name(char type)
{
	return types[type_row(type)].name;
}

char *entry_mode(const struct osidx_ent *e, char buf[11])
{
	static const char rwx[] = "rwxrwxrwx";
	uint32_t m = e->mode;

	buf[0] = types[type_row(e->type)].ls;
	for (int i = 0; i < 9; i++)
		buf[1 + i] = m & (0400u >> i) ? rwx[i] : '-';
	if (m & 04000)
		buf[3] = m & 0100 ? 's' : 'S';
	if (m & 02000)
		buf[6] = m & 0010 ? 's' : 'S';
	if (m & 01000)
		buf[9] = m & 0001 ? 't' : 'T';
	buf[10] = '\0';
	return buf;
}

char *entry_line_gen(const char *comp, const struct generation *g, char *buf, size_t n)
{
	char when[32];

	snprintf(buf, n, "%s g%06llu  %s  %s%s%s", comp, (unsigned long long)g->seq,
		 fmt_time(g->m.time, when, sizeof(when)), g->m.trigger, gen_tag(g) ? "  tag " : "",
		 gen_tag(g) ? gen_tag(g) : "");
	return buf;
}
