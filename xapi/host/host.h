/*
 * host.h - what the host modules share: the machine's facts (facts.c),
 * the start-up sync of this host's own objects (dbsync.c) and the host
 * module with its messages (host.c).
 */
#ifndef CX_XAPI_HOST_H
#define CX_XAPI_HOST_H

#include <stdint.h>

#include "arena.h"
#include "value.h"

struct xapi_module;
struct xapi_sync;

/* --- facts.c --- */

struct host_cpu_facts {
    const char *vendor, *modelname, *stepping, *flags, *mhz;
    int64_t family, model;
};

struct host_facts {
    char hostname[256];
    int64_t now, boot_time;
    int64_t mem_total, mem_free, mem_overhead; /* bytes */
    int n_cpus, sockets;
    struct host_cpu_facts *cpus; /* n_cpus of them; CPUs not described are like the first */
    const char *features;        /* Xen's featureset words, "" off x86 */
    const char *arch;            /* uname's machine */
};

/* Reads the machine into f, allocating in a. */
void host_facts_read(struct arena *a, struct host_facts *f);
/* The firmware's strings under upstream's key names, "" when unreadable. */
struct val *host_bios_strings(struct arena *a);

/* --- dbsync.c --- */

/* The host module's part of the start-up sync: this host, its metrics and
 * CPUs, the control domain, the host internal management network and, on
 * the master, the pool. */
void host_dbsync(struct xapi_sync *s);

/* --- host.c --- */

extern const struct xapi_module host_module;

#endif
