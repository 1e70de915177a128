/* Installing the ABUR flash layout onto a real device. */
#ifndef ABUR_FLASH_H
#define ABUR_FLASH_H

#include "core/config.h"
#include "core/util.h"

struct flash_install_opts {
	const char *image;   /* the board's flash image (make flash-image) */
	const char *confirm; /* the device's serial: needed when it holds data */
};

/* Writes ABUR-BOOT (boot code, partition 1 from the flash image) and a new,
 * empty ABUR-STORE filling the rest of dev. Refuses, before writing
 * anything: the system disk (always), a mounted device, a device smaller
 * than the boot partition plus 64 MiB, and a device holding any data
 * (partition table, filesystem, an older ABUR flash) unless confirm is its
 * serial. */
int flash_install(const struct abur_config *cfg, const char *dev, const struct flash_install_opts *o) MUST_CHECK;
#endif
