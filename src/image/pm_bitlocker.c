/* Partition method bitlocker: a volume BitLocker encrypts (libblkid finds
 * its "-FVE-FS-" signature).  Its used clusters cannot be told from its
 * free ones without the key, and a raw copy carries a volume whose key may
 * live in a TPM the replacement server lacks: seal refuses it, unless the
 * configuration asks for a raw copy ([disk] raw_encrypted, PMF_ENCRYPTED). */
#include "imgint.h"

static bool match_bitlocker(const char *fstype)
{
	return fstype && streq(fstype, "BitLocker");
}

static int refuse_bitlocker(int fd, const char *dev, uint64_t off, uint64_t size, struct part_rec *p)
{
	(void)fd, (void)dev, (void)off, (void)size, (void)p;
	return abur_fail(-EMEDIUMTYPE,
			 "a BitLocker volume (signature -FVE-FS-): its used clusters cannot be "
			 "read without its key; turn BitLocker off in Windows (manage-bde -off), let decryption "
			 "finish, shut down fully, seal again (or set raw_encrypted = yes in [disk] to store it as a "
			 "raw copy, which needs its recovery key after a reimage)");
}

const struct part_method pm_bitlocker = {
    .name = "bitlocker",
    .match = match_bitlocker,
    .scan = refuse_bitlocker,
    .flags = PMF_ENCRYPTED,
};
