/*
 * xapi_harness.h - a whole xapi for a unit test: a host's state directory,
 * xapi started on it (on loopback, any free port), and a root session;
 * stopped and freed again. test_dispatch, test_vm and test_xapi_lifecycle
 * share it.
 */
#ifndef CX_XAPI_HARNESS_H
#define CX_XAPI_HARNESS_H

#include <stddef.h>

#include "core/xapi.h"

/* Makes a host in a new directory from templ (mkdtemp's XXXXXX) with the
 * root password; dir receives its path. */
void harness_host_init(char *dir, size_t len, const char *templ, const char *password);
/* Starts xapi on the host in dir (run_dir and modules may be NULL for
 * the defaults) and logs in as root: session receives the ref. */
struct xapi *harness_xapi_start(const char *dir, const char *run_dir,
                                const struct xapi_module *const *modules, const char *password,
                                char session[IDS_REF_LEN + 1]);
/* Stops xapi (every thread must end) and frees it. */
void harness_xapi_stop(struct xapi *x);
/* v with its streams (replies written from the database as they go out)
 * turned into plain values, through JSON: for tests that look inside a
 * reply. */
struct val *harness_value(struct arena *a, struct val *v);
/* rm -rf dir. */
void harness_host_remove(const char *dir);

#endif
