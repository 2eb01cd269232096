/*
 * role.h - where this host stands in its pool, kept in STATE/pool.conf
 * as upstream keeps it: one line, "master", or "slave:ADDRESS" naming
 * the master. No file is a master (a pool of its own).
 */
#ifndef CX_XAPI_POOL_ROLE_H
#define CX_XAPI_POOL_ROLE_H

#include "core/xapi.h"

/* Reads the role of the host in state_dir into *role. Returns 0, or -1
 * with *why (in a) for a file that says anything else. */
int pool_role_load(struct arena *a, const char *state_dir, struct xapi_role *role,
                   const char **why);

#endif
