/* How a command reports: its --json document, whole or not at all, and
 * its failures, on stderr as text and with --json also as the error object
 * on stdout (doc/abur.8 JSON OUTPUT; design "JSON output"). */
#include <stdarg.h>
#include <string.h>

#include "cmd.h"
#include "core/json.h"
#include "core/log.h"

/* One command per process: its document in memory, and the failure it
 * reported last (what the error object says). */
static struct {
	FILE *mem;
	char *buf;
	size_t len;
	bool written; /* a whole document reached stdout */
	char token[32];
	char message[2048];
} out;

static void note(const char *token, const char *message)
{
	size_t n;

	snprintf(out.token, sizeof(out.token), "%s", token);
	snprintf(out.message, sizeof(out.message), "%s", message);
	n = strlen(out.message);
	while (n && out.message[n - 1] == '\n')
		out.message[--n] = '\0';
}

/* A stable word for what failed: the error object's "error". */
static const char *errno_token(int r)
{
	static const struct {
		int err;
		const char *token;
	} words[] = {
	    {ENOENT, "not-found"},
	    {EBADMSG, "corrupt"},
	    {EIO, "io"},
	    {EACCES, "permission"},
	    {EPERM, "permission"},
	    {ENOSPC, "no-space"},
	    {EBUSY, "busy"},
	    {EEXIST, "exists"},
	    {EINVAL, "invalid"},
	    {EOPNOTSUPP, "unsupported"},
	    {ECANCELED, "cancelled"},
	    {ENODEV, "no-device"},
	    {ETIMEDOUT, "timeout"},
	    {ENOTDIR, "not-a-directory"},
	    {EROFS, "read-only"},
	    {EFBIG, "too-big"},
	    {E2BIG, "too-big"},
	};
	const char *name = strerrorname_np(-r);

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (words[i].err == -r)
			return words[i].token;
	return name ? name : "failed";
}

void cmd_json_begin(struct json *j, const char *command)
{
	out.mem = open_memstream(&out.buf, &out.len);
	if (!out.mem)
		abort(); /* no memory: as xmalloc */
	json_init(j, out.mem, false);
	json_obj_begin(j, NULL);
	json_uint(j, "schema", ABUR_JSON_SCHEMA);
	json_str(j, "command", command);
}

static void drop_document(void)
{
	if (out.mem)
		fclose(out.mem);
	free(out.buf);
	out.mem = NULL;
	out.buf = NULL;
	out.len = 0;
}

void cmd_json_end(struct json *j)
{
	json_obj_end(j);
	json_end(j);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	drop_document();
	out.written = true;
}

int cmd_json_exit(const struct ctx *ctx, const char *command, int status)
{
	bool error = ctx->json && !out.written && status != EXIT_OK;
	struct json j;

	drop_document();
	if (error) {
		json_init(&j, stdout, false);
		json_obj_begin(&j, NULL);
		json_uint(&j, "schema", ABUR_JSON_SCHEMA);
		json_str(&j, "command", command);
		json_str(&j, "error", *out.token ? out.token : "failed");
		json_int(&j, "code", status);
		json_str(&j, "message", *out.message ? out.message : "failed");
		json_obj_end(&j);
		json_end(&j);
	}
	memset(&out, 0, sizeof(out)); /* the next command (a test) starts afresh */
	return status;
}

void json_seq_or_null(struct json *j, const char *key, uint64_t seq)
{
	if (seq)
		json_uint(j, key, seq);
	else
		json_str(j, key, NULL);
}

void json_gen(struct json *j, const char *key, const struct generation *g)
{
	if (key)
		json_obj_begin(j, key);
	json_uint(j, "generation", g->seq);
	json_time(j, "time", g->m.time);
	json_str(j, "trigger", g->m.trigger);
	json_str(j, "tag", gen_tag(g));
	if (key)
		json_obj_end(j);
}

int abur_error(int status, const char *token, const char *fmt, ...)
{
	char what[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	note(token, what);
	fprintf(stderr, "abur: %s\n", out.message);
	return status;
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	note("usage", what);
	fprintf(stderr, "abur %s: %s\nusage: abur %s %s\n", c->name, what, c->name, c->usage);
	return EXIT_USAGE;
}

int cmd_error(int r, const char *fmt, ...)
{
	_cleanup_free_ char *message = NULL;
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	message = xasprintf("%s: %s", what, abur_errmsg(r));
	note(errno_token(r), message);
	log_error_errno(r, "%s", what);
	return EXIT_FAIL;
}
