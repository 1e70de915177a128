/* The os file index: what a sealed filesystem held (a base index) and how
 * a later capture differs from it (an update state).  One line-oriented
 * text format for both (doc/design.md "The index"); the parser tolerates
 * nothing malformed, since the text comes from the flash.  The file
 * components' stat cache is a base index too (store/tree.c).
 *
 * Every function returns 0 on success and -errno with the reason recorded;
 * nothing prints. */
#ifndef ABUR_OSIDX_H
#define ABUR_OSIDX_H

#include <stdint.h>
#include <sys/stat.h>

#include "sha256.h"
#include "util.h"

#define OSIDX_MAGIC "abur-osidx"
#define OSIDX_VERSION 1
/* Bounds on what a parser accepts (a crafted flash cannot make it allocate
 * more than about this many entries and bytes). */
#define OSIDX_MAX_ENTRIES (8u << 20)
#define OSIDX_MAX_LINE (1u << 20)
#define OSIDX_MAX_PATH 4096
/* git's racy rule with a margin for coarse clocks (kernel timestamps move
 * in jiffies; vfat keeps 2 s): an entry whose ctime is this close to the
 * moment it was looked at may change again without its stat changing. */
#define OSIDX_RACY_NS (2LL * 1000000000)
/* The path of the filesystem's root directory itself. */
#define OSIDX_ROOT "."
/* ref of content held by the generation the state belongs to (its number is
 * not known while the state is written); written ".".  A reader replaces it
 * with that generation's number (osidx_resolve_self()). */
#define OSIDX_REF_SELF UINT64_MAX

enum osidx_kind { OSIDX_BASE, OSIDX_STATE };

enum osidx_op {
	OSIDX_SAME = '=', /* base: the entry as sealed */
	OSIDX_ADD = '+',  /* state: added, or content changed */
	OSIDX_DEL = '-',  /* state: in the base, gone now */
	OSIDX_META = 'm', /* state: content as in the base, metadata changed */
};

enum osidx_type {
	OSIDX_FILE = 'f',
	OSIDX_DIR = 'd',
	OSIDX_SYMLINK = 'l',
	OSIDX_HARDLINK = 'h', /* target: an earlier path of the same index */
};

struct osidx_ent {
	char *path; /* relative to the filesystem root, no leading '/'; OSIDX_ROOT for the root */
	char op, type;
	uint32_t mode; /* permission bits (07777) */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime_ns, ctime_ns;
	uint64_t ino;
	uint32_t nlink;
	bool racy;                 /* stat taken too close to its ctime: re-hash next time */
	char sha[SHA256_HEX_LEN];  /* content (files) or target (symlinks); "" none */
	char meta[SHA256_HEX_LEN]; /* xattrs and ACLs; "" none */
	uint64_t ref;              /* state, '+' files: generation holding the content */
	char *ref_name;            /* its entry name in that generation's files payload */
	char *target;              /* symlink target or hard-link target path */
	char *xattrs;              /* state: "name=HEX;name=HEX" */
	char *acl;                 /* state: libarchive ACL text */
};

struct osidx {
	enum osidx_kind kind;
	struct osidx_ent *e; /* sorted by strcmp(path), no duplicates */
	size_t n, cap;
};

/* Parses text (exactly len bytes) into x (zeroed first).  -EINVAL naming
 * the line and the problem for anything malformed: a wrong header, a field
 * out of range, an unsorted or duplicate path, a path with an empty, "." or
 * ".." component, an op the kind does not allow. */
int osidx_parse(const char *text, size_t len, struct osidx *x) MUST_CHECK;
/* The text of x (malloc'd, NUL-terminated; *len gets its length). x must
 * be sorted (osidx_sort()). */
char *osidx_format(const struct osidx *x, size_t *len);
void osidx_free(struct osidx *x);

/* Replaces OSIDX_REF_SELF refs with seq. */
void osidx_resolve_self(struct osidx *x, uint64_t seq);
/* SHA-256 over what a restore of x reproduces (ops, paths, types, modes,
 * owners, sizes, mtimes of non-directories, hashes, targets, xattrs, ACLs):
 * two captures of an unchanged system give the same digest, whatever their
 * ctimes and inode numbers. */
void osidx_digest(const struct osidx *x, struct sha256 *h);

/* Appends a zeroed entry for path (copied) and returns it. */
struct osidx_ent *osidx_add(struct osidx *x, const char *path);
/* Sorts by path; -EINVAL naming a duplicate path. */
int osidx_sort(struct osidx *x) MUST_CHECK;
/* Binary search in a sorted index; NULL when absent. */
const struct osidx_ent *osidx_find(const struct osidx *x, const char *path);
/* Copies src's fields into dst (strings duplicated; dst's freed first). */
void osidx_ent_copy(struct osidx_ent *dst, const struct osidx_ent *src);

/* The current time in nanoseconds, from the clock file times come from
 * (CLOCK_REALTIME): what the racy rule compares ctimes with. */
int64_t osidx_now_ns(void);
/* Reads fd (opened on path) to its end into hex (SHA-256), adding the bytes
 * read to *bytes (may be NULL).  *steady: its size, mtime, ctime and inode
 * are still those of before (it did not move while it was read). */
int osidx_hash_file(int fd, const char *path, const struct stat *before, char hex[SHA256_HEX_LEN], uint64_t *bytes,
		    bool *steady) MUST_CHECK;
/* Fills e's stat fields from st: op '=', type (file, directory, symlink),
 * mode, owner, size (regular files), times, inode, link count, and racy
 * when st's ctime lies within racy_ns of seen_ns, the time taken just
 * before st was. */
void osidx_set_stat(struct osidx_ent *e, const struct stat *st, int64_t seen_ns, int64_t racy_ns);

/* True when two entries describe the same stat (type, mode, owner, size,
 * times, inode, link count): the file has not been touched.  A hard link
 * and a file compare as the same type (one inode, two paths). */
bool osidx_same_stat(const struct osidx_ent *a, const struct osidx_ent *b);
/* True when two entries hold the same content and metadata (type, mode,
 * owner, mtime, content or target hash, xattr/ACL hash): what a restore
 * reproduces.  ctime, inode and link count do not count. */
bool osidx_same_restored(const struct osidx_ent *a, const struct osidx_ent *b);
#endif
