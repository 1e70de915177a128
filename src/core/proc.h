/* Running another program. */
#ifndef ABUR_PROC_H
#define ABUR_PROC_H

#include "util.h"

/* Runs a program (argv[0] searched in PATH); exit statuses up to ok_max
 * count as success.  -EIO naming it, its status and its last output. */
int proc_run(const char *const argv[], int ok_max) MUST_CHECK;
/* Whether proc_run() would find name: an executable file in PATH. */
bool proc_found(const char *name);
#endif
