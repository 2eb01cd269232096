/*
 * sim.h - the simulator backend: domains that exist only in xenopsd's
 * memory, with domids, memory accounted against the host, vCPUs, a
 * pause flag and a shutdown reason, and suspend images that hold the VM's
 * metadata (there is no guest memory to save). Its guests are played by
 * agent.c.
 */
#ifndef XO_SIM_H
#define XO_SIM_H

#include <stdint.h>

#include "agent.h"
#include "backend.h"

struct sim;

/* A shutdown nobody asked for (the guest powered off or rebooted of its
 * own accord, or a client wrote control/shutdown directly). */
typedef void (*sim_shutdown_fn)(void *ctx, int domid);

/* memory_total: bytes guests may use; cpus: the host's. */
struct sim *sim_new(int64_t memory_total, int cpus);
void sim_free(struct sim *s);
/* Guests boot boot_ms after their first unpause, through agent (NULL: no
 * guests, as in the unit tests). */
void sim_set_agent(struct sim *s, struct agent *agent, int boot_ms);
void sim_set_unsolicited(struct sim *s, sim_shutdown_fn fn, void *ctx);
struct xo_backend sim_backend(struct sim *s);

/* What a guest does to leave: it shut down for reason. */
void sim_guest_shutdown(void *sim, int domid, enum xo_shutdown_reason reason);

/* The host's memory for guests: MemTotal from /proc/meminfo less what
 * dom0 keeps (a quarter, at most 2 GiB). */
int64_t sim_host_memory(void);

#endif
