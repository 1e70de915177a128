/* Optional Prometheus textfile ([daemon] metrics = /path/abur.prom), for
 * node_exporter's textfile collector: rewritten (temp file and rename)
 * whenever the daemon's state changes, never on a timer. */
#ifndef ABUR_METRICS_H
#define ABUR_METRICS_H

#include "core/config.h"
#include "events.h"
#include "state.h"

/* Writes the metrics file; a no-op returning 0 when path is NULL. */
int metrics_write(const char *path, const struct abur_config *cfg, const struct daemon_state *st,
		  const struct event_log *ev) MUST_CHECK;
#endif
