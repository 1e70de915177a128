#include "metrics.h"

#include <inttypes.h>
#include <string.h>

#include "core/io.h"
#include "watcher.h"

struct comp_metric {
	const char *name;
	const char *help;
	int64_t (*get)(const struct comp_state *cs);
};

static int64_t m_dirty(const struct comp_state *cs)
{
	return cs->dirty;
}
static int64_t m_change(const struct comp_state *cs)
{
	return cs->last_change;
}
static int64_t m_backup(const struct comp_state *cs)
{
	return cs->last_backup;
}
static int64_t m_seq(const struct comp_state *cs)
{
	return (int64_t)cs->last_seq;
}

static const struct comp_metric comp_metrics[] = {
    {"abur_component_dirty", "1 when the component changed since its last backup", m_dirty},
    {"abur_component_last_change_timestamp_seconds", "last change seen", m_change},
    {"abur_component_last_backup_timestamp_seconds", "last successful backup or unchanged check", m_backup},
    {"abur_component_generation", "generation of the last backup", m_seq},
};

static void write_comps(FILE *f, const struct abur_config *cfg, const struct daemon_state *st)
{
	for (size_t m = 0; m < ARRAY_SIZE(comp_metrics); m++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", comp_metrics[m].name, comp_metrics[m].help,
			comp_metrics[m].name);
		for (size_t i = 0; i < cfg->ncomps; i++) {
			const struct comp_state *cs = state_find(st, cfg->comps[i].name);
			if (cs && comp_watched(&cfg->comps[i]))
				fprintf(f, "%s{component=\"%s\"} %" PRId64 "\n", comp_metrics[m].name, cs->name,
					comp_metrics[m].get(cs));
		}
	}
}

int metrics_write(const char *path, const struct abur_config *cfg, const struct daemon_state *st,
		  const struct event_log *ev)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!path || !*path)
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return abur_fail(-ENOMEM, "metrics: out of memory");
	write_comps(f, cfg, st);
	fprintf(
	    f,
	    "# HELP abur_next_run_timestamp_seconds next nightly run\n# TYPE abur_next_run_timestamp_seconds gauge\n");
	fprintf(f, "abur_next_run_timestamp_seconds %lld\n", (long long)st->next_run);
	fprintf(f, "# HELP abur_deferrals consecutive deferred nights\n# TYPE abur_deferrals gauge\n");
	fprintf(f, "abur_deferrals %u\n", st->deferrals);
	fprintf(f, "# HELP abur_flash_missing_since_timestamp_seconds 0 when the flash is present\n");
	fprintf(f, "# TYPE abur_flash_missing_since_timestamp_seconds gauge\n");
	fprintf(f, "abur_flash_missing_since_timestamp_seconds %lld\n", (long long)st->flash_missing);
	fprintf(f, "# HELP abur_events_total daemon events by kind\n# TYPE abur_events_total counter\n");
	for (int k = 0; k < EV__COUNT; k++)
		fprintf(f, "abur_events_total{event=\"%s\"} %" PRIu64 "\n", event_name(k), ev->counts[k]);
	if (fclose(f) != 0)
		return abur_fail(-ENOMEM, "metrics: out of memory");
	return io_write_file_atomic(path, buf, len, 0644);
}
