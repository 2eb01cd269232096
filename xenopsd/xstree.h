/*
 * xstree.h - the xenstore tree Xen's toolstack keeps for each domain:
 * /local/domain/<domid>/... (readable by the guest, with control/, data/
 * and attr/ owned by it), /vm/<uuid>/..., and each device's frontend
 * (under the guest) and backend (under dom0) directories. Written in
 * transactions, so a guest or a watcher never sees half a domain.
 */
#ifndef XO_XSTREE_H
#define XO_XSTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xs_client.h"

struct xstree_domain {
    const char *vm_id, *name;
    int domid;
    int64_t memory_static_max, memory_target; /* bytes; xenstore holds KiB */
    int vcpus_max, vcpus;
    bool hvm;
};

struct xstree_device {
    bool vif;
    int devid;
    /* VBD */
    const char *device, *mode, *type, *params;
    /* VIF */
    const char *mac, *bridge;
    int64_t mtu;
};

/* Writes the domain's tree and introduces it to xenstored (which gives it
 * RUNDIR/xenstored-domains/<domid>.sock). */
int xstree_domain_write(struct xs_client *xs, const struct xstree_domain *d, struct xs_error *err);
/* Rewrites what a running domain's guest follows: memory/target and
 * each cpu/N/availability. */
int xstree_domain_live(struct xs_client *xs, const struct xstree_domain *d, struct xs_error *err);
/* True when the tree of domid is there and belongs to vm_id. */
bool xstree_domain_intact(struct xs_client *xs, int domid, const char *vm_id);
/* Removes the domain's tree, its devices' backends and /vm/<vm_id>, and
 * releases it. Missing pieces are fine. */
int xstree_domain_remove(struct xs_client *xs, int domid, const char *vm_id, struct xs_error *err);

int xstree_device_write(struct xs_client *xs, int domid, const struct xstree_device *dev,
                        struct xs_error *err);
int xstree_device_remove(struct xs_client *xs, int domid, bool vif, int devid,
                         struct xs_error *err);
/* The devid of a VBD: Xen's encoding of xvdX (202 << 8 | X << 4), else
 * from its position. */
int xstree_vbd_devid(const char *device, int position);

/* Asks the guest to shut down ("poweroff", "reboot", "suspend"), or
 * withdraws the request (""). */
int xstree_shutdown_request(struct xs_client *xs, int domid, const char *reason,
                            struct xs_error *err);

/* The domids under /local/domain (dom0 left out); *domids malloc'd. */
int xstree_domids(struct xs_client *xs, int **domids, size_t *n, struct xs_error *err);
/* The names under /vm; free(*names) (one block). */
int xstree_vm_ids(struct xs_client *xs, char ***names, size_t *n, struct xs_error *err);

#endif
