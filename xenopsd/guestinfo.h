/*
 * guestinfo.h - what the guests say about themselves: one thread watches
 * each running domain's data/ and attr/ in xenstore, reads the guest
 * agent's keys (PV drivers, OS, addresses, memory) when they change, keeps
 * them on the VM for VM.stat and posts a VM update, the way upstream turns
 * a xenstore watch into "VM needs attention".
 */
#ifndef XO_GUESTINFO_H
#define XO_GUESTINFO_H

#include "xenopsd.h"

struct xo_guestinfo *xo_guestinfo_new(struct xenopsd *x);
int xo_guestinfo_start(struct xo_guestinfo *g);
void xo_guestinfo_free(struct xo_guestinfo *g);
/* Starts or stops following the guest of domid (vm_id's domain). */
void xo_guestinfo_watch(struct xo_guestinfo *g, const char *vm_id, int domid);
void xo_guestinfo_unwatch(struct xo_guestinfo *g, const char *vm_id, int domid);

#endif
