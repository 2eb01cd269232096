/*
 * quota.c - quota defaults and their names for CONTROL "quota".
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "quota.h"

static const struct {
    const char *name;
    size_t off;
} quota_names[] = {
    {"nodes", offsetof(struct xsd_quota, nodes)},
    {"watches", offsetof(struct xsd_quota, watches)},
    {"transactions", offsetof(struct xsd_quota, transactions)},
    {"transaction-nodes", offsetof(struct xsd_quota, transaction_nodes)},
    {"node-permissions", offsetof(struct xsd_quota, permissions)},
    {"path-max", offsetof(struct xsd_quota, path_max)},
    {"node-size", offsetof(struct xsd_quota, node_size)},
    {"output", offsetof(struct xsd_quota, output)},
};
#define QUOTA_N (sizeof(quota_names) / sizeof(quota_names[0]))

void quota_defaults(struct xsd_quota *domu, struct xsd_quota *dom0)
{
    *domu = (struct xsd_quota){
        .nodes = 1000,
        .watches = 128,
        .transactions = 10,
        .transaction_nodes = 1024,
        .permissions = 5,
        .path_max = 2048, /* XENSTORE_REL_PATH_MAX */
        .node_size = 4096,
        .output = 1 << 20,
    };
    *dom0 = (struct xsd_quota){
        .nodes = 0, /* unbounded: the toolstack builds the tree */
        .watches = 65536,
        .transactions = 1024,
        .transaction_nodes = 1 << 20,
        .permissions = 1024,
        .path_max = 0, /* only XENSTORE_ABS_PATH_MAX */
        .node_size = 4096,
        .output = 64 << 20,
    };
}

static long long *quota_field(struct xsd_quota *q, size_t i)
{
    return (long long *)((char *)q + quota_names[i].off);
}

void quota_format(const struct xsd_quota *q, struct buf *out)
{
    for (size_t i = 0; i < QUOTA_N; i++)
        buf_printf(out, "%s %lld\n", quota_names[i].name, *quota_field((struct xsd_quota *)q, i));
}

int quota_set(struct xsd_quota *q, const char *name, const char *value)
{
    char *end;
    long long v = strtoll(value, &end, 10);
    if (!*value || *end || v < 0 || v > (1LL << 40))
        return EINVAL;
    for (size_t i = 0; i < QUOTA_N; i++) {
        if (strcmp(quota_names[i].name, name) == 0) {
            *quota_field(q, i) = v;
            return 0;
        }
    }
    return EINVAL;
}

bool quota_over(long long limit, long long value)
{
    return limit > 0 && value > limit;
}
