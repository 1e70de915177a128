#include "uevent.h"

#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

#define KERNEL_GROUP 1 /* kernel uevents; udev re-broadcasts on group 2 */

int uevent_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = KERNEL_GROUP};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return abur_fail(-errno, "uevent socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = abur_fail(-errno, "uevent bind: %s", strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

/* A message is "ACTION@DEVPATH\0KEY=VALUE\0...". */
static bool is_block_add(const char *msg, size_t n)
{
	bool block = false, action = false;

	for (size_t off = 0; off < n; off += strlen(msg + off) + 1) {
		const char *kv = msg + off;
		if (streq(kv, "SUBSYSTEM=block"))
			block = true;
		else if (streq(kv, "ACTION=add") || streq(kv, "ACTION=change"))
			action = true;
	}
	return block && action;
}

int uevent_block_changed(int fd)
{
	char buf[8192];
	int found = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if (is_block_add(buf, (size_t)n))
			found = 1;
	}
	/* Messages were dropped: one of them may have been the flash. */
	if (n < 0 && errno == ENOBUFS)
		found = 1;
	return found;
}
