/*
 * backend.h - what xenopsd needs from a hypervisor, as a table of function
 * pointers, so that the lifecycle, xenstore and persistence code is the
 * same whatever runs the domains. The simulator (sim.c) is the only
 * backend today; a libxc one would fill the same table.
 *
 * A backend knows domains by domid and nothing of VMs, devices' xenstore
 * trees or persistence: xenopsd does those. Calls are thread-safe; errors
 * are XenAPI errors allocated in the caller's arena.
 */
#ifndef XO_BACKEND_H
#define XO_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "value.h"

/* Domain ids at and above DOMID_FIRST_RESERVED belong to Xen itself. */
#define XO_DOMID_LIMIT 0x7FF0

enum xo_shutdown_reason {
    XO_SR_NONE, /* still up (or the wait ran out) */
    XO_SR_POWEROFF,
    XO_SR_REBOOT,
    XO_SR_SUSPEND,
    XO_SR_CRASH,
};

/* What a domain is built from. Strings are borrowed for the call. */
struct xo_domain_spec {
    const char *vm_id;
    const char *name;
    int64_t memory_static_max; /* bytes: what the host must find free */
    int64_t memory_target;     /* bytes: what the guest gets */
    int vcpus_max, vcpus;
    bool hvm;
    const char *guest; /* simulator: "full", "no-ack" or "none" (other:sim_guest) */
};

struct xo_domain_stat {
    bool paused;
    enum xo_shutdown_reason shutdown;
    int64_t memory_actual;
    int vcpus;
};

struct xo_host_stat {
    int64_t memory_total, memory_free;
    int cpus;
};

struct xo_backend_ops {
    const char *name;
    /* A new, paused, empty domain with the spec's memory reserved; fails
     * with HOST_NOT_ENOUGH_FREE_MEMORY [needed, available]. */
    int (*domain_create)(void *b, const struct xo_domain_spec *spec, int *domid, struct arena *a,
                         struct val **err);
    /* Loads the guest's kernel or firmware into the domain. */
    int (*domain_build)(void *b, int domid, struct arena *a, struct val **err);
    /* Takes back a domain that ran before xenopsd restarted. */
    int (*domain_adopt)(void *b, const struct xo_domain_spec *spec, int domid, bool paused,
                        struct arena *a, struct val **err);
    int (*domain_pause)(void *b, int domid, struct arena *a, struct val **err);
    int (*domain_unpause)(void *b, int domid, struct arena *a, struct val **err);
    /* Ends the domain at once and frees its memory; unknown domids are a
     * no-op. */
    void (*domain_destroy)(void *b, int domid);
    /* Blocks until the domain has shut down (the reason), the deadline on
     * clock_now_ms() passes or *cancel is set (XO_SR_NONE). */
    enum xo_shutdown_reason (*domain_wait_shutdown)(void *b, int domid, int64_t deadline_ms,
                                                    const atomic_bool *cancel);
    /* Wakes every domain_wait_shutdown so that it looks at *cancel. */
    void (*kick)(void *b);
    int (*device_add)(void *b, int domid, const char *kind, int devid, struct arena *a,
                      struct val **err);
    void (*device_remove)(void *b, int domid, const char *kind, int devid);
    /* Saves a domain that shut down for suspend to path, with the
     * caller's metadata (text) inside. */
    int (*suspend_image)(void *b, int domid, const char *path, const char *metadata,
                         struct arena *a, struct val **err);
    /* Checks that path holds an image saved for vm_id; *metadata (in a)
     * is what suspend_image was given. */
    int (*resume_image)(void *b, const char *path, const char *vm_id, const char **metadata,
                        struct arena *a, struct val **err);
    /* A running domain's vCPUs online (1..vcpus_max) and balloon target
     * (within the memory reserved at its creation). */
    int (*domain_set_vcpus)(void *b, int domid, int vcpus, struct arena *a, struct val **err);
    int (*domain_set_target)(void *b, int domid, int64_t target, struct arena *a, struct val **err);
    int (*domain_stat)(void *b, int domid, struct xo_domain_stat *out);
    void (*host_stat)(void *b, struct xo_host_stat *out);
};

struct xo_backend {
    const struct xo_backend_ops *ops;
    void *impl;
};

#endif
