/* SHA-256 (FIPS 180-4), for payload hashes and content digests. */
#ifndef ABUR_SHA256_H
#define ABUR_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits and NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
/* Finishes s and writes lowercase hex into hex[SHA256_HEX_LEN]. */
void sha256_final_hex(struct sha256 *s, char hex[SHA256_HEX_LEN]);
void sha256_hex(const void *data, size_t n, char hex[SHA256_HEX_LEN]);
/* True when the CPU's SHA extensions are used (else portable C). */
bool sha256_accelerated(void);
/* Tests: use the portable code (on) or pick the best again (off). */
void sha256_force_generic(bool on);
#endif
