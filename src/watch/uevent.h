/* Noticing the flash come back without polling: a kernel uevent netlink
 * socket (NETLINK_KOBJECT_UEVENT, the kernel's own multicast group, which
 * works without udev), opened only while the flash is missing so the idle
 * daemon gets no wake-ups from unrelated devices.  Any block-device "add"
 * or "change" (a disk plugged in, a loop device attached, a partition
 * table re-read) is a reason to look for the flash again. */
#ifndef ABUR_UEVENT_H
#define ABUR_UEVENT_H

#include "core/util.h"

/* A non-blocking socket, or -errno. */
int uevent_open(void) MUST_CHECK;
/* Drains it; 1 when a block device was added or changed, else 0. */
int uevent_block_changed(int fd);
#endif
