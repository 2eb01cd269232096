/*
 * quota.h - the limits that keep one client from taking the daemon's
 * memory, with Xen's names and (mostly) Xen's defaults. Unprivileged
 * domains are bound per domain, as Xen does; privileged connections (dom0)
 * are exempt from Xen's quotas but still bound per connection, generously,
 * so that no client can grow the daemon without limit. 0 means no bound.
 */
#ifndef XSD_QUOTA_H
#define XSD_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

struct xsd_quota {
    long long nodes;             /* nodes a domain owns: ENOSPC */
    long long watches;           /* E2BIG, as Xen */
    long long transactions;      /* open at once: ENOSPC */
    long long transaction_nodes; /* nodes one transaction touches: ENOSPC */
    long long permissions;       /* entries in one node's list: ENOSPC */
    long long path_max;          /* below /local/domain/N/: E2BIG */
    long long node_size;         /* bytes of one value: E2BIG */
    long long output;            /* bytes queued for a connection before it is dropped */
};

void quota_defaults(struct xsd_quota *domu, struct xsd_quota *dom0);
/* Appends "name value\n" for each quota of q. */
void quota_format(const struct xsd_quota *q, struct buf *out);
/* Sets quota name of q to value. Returns 0, or EINVAL for an unknown name
 * or a value out of range. */
int quota_set(struct xsd_quota *q, const char *name, const char *value);
/* Whether value goes past limit (0: no bound). */
bool quota_over(long long limit, long long value);

#endif
