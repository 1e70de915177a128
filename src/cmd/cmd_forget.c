/* abur forget COMPONENT --generation N|TAG [--unpin]: remove one
 * generation now. */
#include <getopt.h>

#include "cmd.h"
#include "core/json.h"

int cmd_forget(struct ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"generation", required_argument, NULL, 'g'}, {"unpin", no_argument, NULL, 'u'}, {}};
	const struct cmd *self = cmd_find("forget");
	_cleanup_(store_closep) struct store *s = NULL;
	struct gen_want want = {0};
	bool unpin = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c == 'u')
			unpin = true;
		else if (c != 'g')
			return cmd_usage_error(self, "bad option");
		else if ((r = ctx_generation(self, optarg, &want)))
			return r;
	if (optind + 1 != argc || (!want.seq && !want.tag))
		return cmd_usage_error(self, "need COMPONENT and --generation N|TAG");
	if ((r = ctx_config(ctx)) || (r = ctx_store(ctx, STORE_WRITE, &s)))
		return r;
	if (!ctx_stored_component(ctx, s, argv[optind], self))
		return EXIT_USAGE;
	if ((r = ctx_resolve(s, argv[optind], &want)))
		return r;
	r = store_forget(s, argv[optind], want.seq, unpin);
	if (r < 0)
		return cmd_error(r, "forget %s", argv[optind]);
	if (ctx->json) {
		struct json j;
		cmd_json_begin(&j, self->name);
		json_str(&j, "component", argv[optind]);
		json_uint(&j, "generation", want.seq);
		json_str(&j, "tag", want.tag);
		cmd_json_end(&j);
	} else {
		printf("%s: g%06llu forgotten%s%s%s\n", argv[optind], (unsigned long long)want.seq,
		       want.tag ? " (tag " : "", want.tag ? want.tag : "", want.tag ? ")" : "");
	}
	return EXIT_OK;
}
