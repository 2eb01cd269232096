/*
 * agent.h - the simulated guest agent: for each simulated domain that has
 * booted, a connection to xenstored as that domain (through
 * RUNDIR/xenstored-domains/<domid>.sock, so the guest's own permissions
 * apply) that writes what a PV guest's drivers and tools write, and that
 * answers control/shutdown requests the way a PV kernel does.
 *
 * One thread serves every domain: it polls their connections, so a host
 * of a thousand guests costs a thousand sockets, not a thousand threads.
 */
#ifndef XO_AGENT_H
#define XO_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

struct agent;

/* Called on the agent's thread when a guest has acknowledged a shutdown
 * request and left (poweroff, reboot or suspend). */
typedef void (*agent_shutdown_fn)(void *ctx, int domid, enum xo_shutdown_reason reason);

struct agent *agent_new(const char *run_dir, agent_shutdown_fn on_shutdown, void *ctx);
int agent_start(struct agent *g);
/* Stops the thread: guests no longer act. Commands still queue (and are
 * dropped by agent_free), so callers may go on until they stop too. */
void agent_stop(struct agent *g);
/* Stops the thread if needed and closes every guest connection. */
void agent_free(struct agent *g);

/* Domain domid boots: delay_ms later its guest connects and writes its
 * keys. ack false: a guest whose kernel ignores shutdown requests. */
void agent_boot(struct agent *g, int domid, const char *vm_id, int64_t memory_kib, bool ack,
                int delay_ms);
/* The domain is gone: its guest disconnects. */
void agent_forget(struct agent *g, int domid);
/* The domain's vCPUs stop or run again: a paused guest neither boots nor
 * answers requests; once unpaused it acts on what arrived meanwhile. */
void agent_pause(struct agent *g, int domid, bool paused);

/* The address the simulated guest of vm_id reports: 10.x.y.z, derived
 * from the id so that it is the same at every boot. */
void agent_guest_ip(const char *vm_id, char out[16]);

#endif
