#include "ini.h"

#include <ctype.h>
#include <ini.h>
#include <string.h>

struct walk {
	const char *p, *end;
	int line;
	int first_flagged; /* first line we reported, to tell inih's own reports apart */
	int failed;
	ini_cb cb;
	ini_syntax_cb syntax;
	void *user;
	char section[INI_LINE_MAX + 1];
};

static void flag(struct walk *w)
{
	w->failed = 1;
	if (!w->first_flagged)
		w->first_flagged = w->line;
}

static void section_header(struct walk *w, const char *line, size_t n)
{
	const char *close;
	size_t len;

	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	if (!n || *line != '[')
		return;
	close = memchr(line, ']', n);
	if (!close)
		return; /* inih reports it */
	len = (size_t)(close - line - 1);
	memcpy(w->section, line + 1, len);
	w->section[len] = '\0';
	if (w->cb(w->user, w->section, NULL, NULL, w->line) < 0)
		flag(w);
}

/* inih reports only the first bad line; check each line here so every one
 * gets its own message. */
static void check_syntax(struct walk *w, const char *line)
{
	const char *s = line;

	if (*s == ' ' || *s == '\t')
		return; /* continuation of the previous value, or blank */
	if (!*s || *s == '\n' || *s == '\r' || *s == ';' || *s == '#')
		return;
	if (*s == '[' ? strchr(s, ']') != NULL : strpbrk(s, "=:") != NULL)
		return;
	w->syntax(w->user, w->line, *s == '[' ? "section header without ']'" : "expected '[section]' or 'key = value'");
	flag(w);
}

/* inih strips "value ; comment" on a key's line but not on a continuation
 * line (one that starts with a blank): do it here, the same way. */
static void strip_continuation_comment(char *s)
{
	if (*s != ' ' && *s != '\t')
		return;
	for (char *p = s + 1; *p; p++)
		if (*p == ';' && isspace((unsigned char)p[-1])) {
			p[0] = '\n';
			p[1] = '\0';
			return;
		}
}

static char *reader(char *str, int num, void *stream)
{
	struct walk *w = stream;
	const char *nl;
	size_t n, take;

	if (w->p >= w->end)
		return NULL;
	w->line++;
	nl = memchr(w->p, '\n', (size_t)(w->end - w->p));
	n = nl ? (size_t)(nl - w->p) + 1 : (size_t)(w->end - w->p);
	take = n < (size_t)num - 1 ? n : (size_t)num - 1;
	if (memchr(w->p, '\0', n)) {
		w->syntax(w->user, w->line, "NUL byte in line");
		flag(w);
		take = 0;
	} else if (n > (size_t)num - 1 && !(n == (size_t)num && nl)) {
		w->syntax(w->user, w->line, "line too long (at most 199 characters)");
		flag(w);
		take = 0;
	}
	memcpy(str, w->p, take);
	str[take] = '\0';
	strip_continuation_comment(str);
	if (take)
		check_syntax(w, str);
	section_header(w, str, take);
	w->p += n;
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct walk *w = user;

	if (w->cb(w->user, section, name, value, w->line) < 0) {
		flag(w);
		return 0;
	}
	return 1;
}

int ini_walk(const char *text, size_t len, ini_cb cb, ini_syntax_cb syntax, void *user)
{
	struct walk w = {.p = text, .end = text + len, .cb = cb, .syntax = syntax, .user = user};
	int r = ini_parse_stream(reader, &w, handler, &w);

	if (r > 0 && (!w.first_flagged || r < w.first_flagged)) {
		syntax(user, r, "expected '[section]' or 'key = value'");
		w.failed = 1;
	} else if (r < 0) {
		return abur_fail(-ENOMEM, "INI parser could not allocate memory");
	}
	return w.failed ? -EINVAL : 0;
}

/* The line number of the first continuation line (one that starts with a
 * blank and is not blank), 0 when none. */
int ini_continuation_line(const char *text, size_t len)
{
	int line = 1;

	for (const char *p = text, *end = text + len; p < end; p++) {
		if ((p == text || p[-1] == '\n') && (*p == ' ' || *p == '\t')) {
			const char *q = p;
			while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
				q++;
			if (q < end && *q != '\n')
				return line;
		}
		line += *p == '\n';
	}
	return 0;
}
