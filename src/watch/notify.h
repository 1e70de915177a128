/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET
 * ("READY=1", "STATUS=...", "STOPPING=1", "RELOADING=1").  A no-op when the
 * variable is unset (not started by systemd with Type=notify). */
#ifndef ABUR_NOTIFY_H
#define ABUR_NOTIFY_H

#include "core/util.h"

/* Returns 1 when sent, 0 when there is no socket, -errno on failure. */
int notify_send(const char *fmt, ...) PRINTF(1, 2);
#endif
