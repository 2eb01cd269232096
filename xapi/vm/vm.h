/*
 * vm.h - what the VM modules share: the xenopsd client
 * (xenops_client.c), the operation rules and current_operations
 * (vm_state.c), writing xenopsd's view into the database and following
 * its updates (vm_sync.c), the descriptions of VMs and devices sent to
 * xenopsd (vm_device.c), and the messages (vm.c, vm_clone.c,
 * vm_config.c, vm_device.c).
 *
 * xenopsd owns the domains; the database mirrors what it says. Every
 * power state, domid and metric xapi stores comes from a VM.stat, never
 * from what xapi expected an operation to do.
 */
#ifndef CX_VM_H
#define CX_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/api.h"
#include "db/db.h"
#include "ids.h"
#include "core/xapi.h"

/* --- xenops_client.c --- */

/* Connections kept for reuse; more may be open at once, each call taking
 * one of its own, since an ipc_client belongs to one thread at a time. */
#define XENOPS_IDLE_MAX 32

struct xenops {
    char *path; /* RUNDIR/xenopsd.sock */
    pthread_mutex_t lock;
    struct ipc_client *idle[XENOPS_IDLE_MAX]; /* under lock */
    size_t n_idle;                            /* under lock */
    atomic_bool resync;                       /* see xenops_want_resync */
    atomic_bool stop;
    pthread_mutex_t nap_lock;
    pthread_cond_t nap_cond; /* CLOCK_MONOTONIC; broadcast at stop */
    pthread_t follower;      /* vm_sync.c */
    bool follower_running;
};

struct xenops *xenops_new(const char *run_dir);
/* Stops naps; the follower sees it. */
void xenops_request_stop(struct xenops *xo);
void xenops_free(struct xenops *xo);

/* Calls method on xenopsd. An unreachable daemon is INTERNAL_ERROR naming
 * it (and asks the follower to resynchronise once it is back); otherwise
 * the daemon's own reply, whose errors carry the datamodel's codes. */
struct rpc_reply xenops_call(struct xapi *x, struct arena *a, const char *method,
                             struct val *params);
/* params for the common calls of one id, or of an id and one more value. */
struct val *xenops_args(struct arena *a, const char *id, struct val *more);
/* Follows xenopsd task task to its end and destroys it: its result, or its
 * error. Copies its progress to the xapi task c runs as, and cancels it
 * when that task is cancelled. */
struct rpc_reply xenops_task_wait(struct xapi_call *c, const char *task);
/* Calls method (which answers a task id) and waits for the task. */
struct rpc_reply xenops_run(struct xapi_call *c, const char *method, struct val *params);
/* Whether reply is the error code. */
bool xenops_is_error(const struct rpc_reply *r, const char *code);
/* Set when xenopsd could not be reached; the follower clears it as it
 * resynchronises everything. */
void xenops_want_resync(struct xapi *x);
bool xenops_take_resync(struct xapi *x);
bool xenops_stopping(struct xapi *x);
/* Sleeps up to ms, less when xapi stops. */
void xenops_nap(struct xapi *x, int ms);

/* --- vm_state.c: operations and their rules --- */

/* A field of o by name (the schema has it: asserted). */
const struct val *vm_field(const struct db_obj *o, const char *name);
const char *vm_field_str(const struct db_obj *o, const char *name);
int64_t vm_field_int(const struct db_obj *o, const char *name);
bool vm_field_bool(const struct db_obj *o, const char *name);
/* Sets a field of o in t when the value differs (no event otherwise);
 * whether it did. */
bool vm_field_set(struct db_txn *t, struct db_obj *o, const char *name, struct val *value);

/* The VM named by ref, in the open transaction or under the read lock;
 * NULL with *reply HANDLE_INVALID. */
struct db_obj *vm_lookup(struct xapi_call *c, int cls, const char *ref, struct rpc_reply *reply);
/* Whether vm_operations value op may run on o now: 0, or -1 with *reply
 * the datamodel's error (VM_IS_TEMPLATE, OPERATION_NOT_ALLOWED,
 * VM_BAD_POWER_STATE, ...). */
int vm_check_op(struct arena *a, const struct db_obj *o, const char *op, struct rpc_reply *reply);
/* A power state as upstream's errors spell it: "running". */
const char *vm_power_lower(struct arena *a, const char *power_state);
/* allowed_operations of o recomputed from its state, in t. */
void vm_refresh_allowed(struct db_txn *t, struct arena *a, struct db_obj *o);

/* An operation on a VM, between vm_op_begin and vm_op_end: listed in the
 * VM's current_operations, which keeps every other operation out. */
struct vm_op {
    struct xapi_call *c;
    const char *op;
    char vm[IDS_REF_LEN + 1];
    char key[IDS_REF_LEN + 1]; /* in current_operations: the task, or a fresh ref */
    const char *uuid;
    const char *power_state; /* when it began */
    struct val *desc;        /* the VM as VM.add wants it */
    struct val *vbds;        /* VBD.add's descriptions */
    struct val *vifs;        /* VIF.add's descriptions */
};
/* Checks op on the VM and lists it, in one transaction. On error nothing
 * changed. */
/* OTHER_OPERATION_IN_PROGRESS [cls, ref, operation, its ref] for o (a VM,
 * VBD or VIF), naming its first current operation. */
struct rpc_reply vm_busy_error(struct arena *a, const char *cls, const struct db_obj *o);
struct rpc_reply vm_op_begin(struct xapi_call *c, const char *vm_ref, const char *op,
                             struct vm_op *out);
/* What xenopsd says of a VM: known is false when it could not be asked;
 * stat is its VM.stat, or NULL when xenopsd does not know the VM. */
struct vm_view {
    bool known;
    struct val *stat;
};
/* Writes view into the database and takes the operation out of
 * current_operations, in one transaction; returns r (or the commit's
 * error). */
struct rpc_reply vm_op_end(struct vm_op *op, struct rpc_reply r, struct vm_view view);

/* --- vm_sync.c: xenopsd's view into the database --- */

/* Writes stat (a VM.stat result, or NULL when xenopsd does not know the
 * VM) into o, its metrics, guest metrics and devices, in t. */
void vm_sync_apply(struct xapi *x, struct db_txn *t, struct arena *a, struct db_obj *o,
                   const struct val *stat);
/* Asks xenopsd for the VM's state (VM.stat of its uuid). */
struct vm_view vm_view_get(struct xapi *x, struct arena *a, const char *uuid);

/* --- vm_device.c: descriptions for xenopsd --- */

/* Fills op's desc, vbds and vifs from o (hold the lock). */
void vm_describe(struct arena *a, struct db *db, const struct db_obj *o, struct vm_op *op);
/* Registers the VM and its devices with xenopsd (idempotent there). */
struct rpc_reply vm_register(struct vm_op *op);
/* Takes the VM and its devices off xenopsd: once halted it is xapi's
 * alone again. False when xenopsd still has the VM (it could not be
 * asked, or refused). */
bool vm_unregister(struct vm_op *op);
/* Asks xenopsd for each device's state and writes it (after a start). */
void vm_devices_sync(struct vm_op *op);
/* A device (VBD or VIF) as xenopsd says it is: plugged, or not (stat NULL:
 * xenopsd does not know it), in t. */
void vm_device_apply(struct db_txn *t, struct arena *a, struct db_obj *dev, const struct val *stat);
/* Every device of VM o unplugged (it halted or suspended), in t. */
void vm_devices_unplugged(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *o);
/* allowed_operations of a device, from whether it is plugged and whether
 * its VM runs. */
void vm_device_refresh(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *dev);

/* Message tables of the modules besides vm.c, which lists them all. */
struct rpc_reply vm_clone(struct xapi_call *c);
struct rpc_reply vm_copy(struct xapi_call *c);
struct rpc_reply vm_provision(struct xapi_call *c);
struct rpc_reply vm_set_memory(struct xapi_call *c);
struct rpc_reply vm_set_memory_limits(struct xapi_call *c);
struct rpc_reply vm_set_memory_static_range(struct xapi_call *c);
struct rpc_reply vm_set_memory_dynamic_range(struct xapi_call *c);
struct rpc_reply vm_set_memory_static_max(struct xapi_call *c);
struct rpc_reply vm_set_memory_static_min(struct xapi_call *c);
struct rpc_reply vm_set_memory_dynamic_max(struct xapi_call *c);
struct rpc_reply vm_set_memory_dynamic_min(struct xapi_call *c);
struct rpc_reply vm_set_vcpus_max(struct xapi_call *c);
/* vm.c: a running VM's dynamic range, through xenopsd's balloon; the
 * caller has checked it against the VM's static limits. */
struct rpc_reply vm_set_memory_live(struct xapi_call *c, int64_t dynamic_min, int64_t dynamic_max);
struct rpc_reply vm_set_vcpus_at_startup(struct xapi_call *c);
struct rpc_reply vm_get_allowed_vbd_devices(struct xapi_call *c);
struct rpc_reply vm_get_allowed_vif_devices(struct xapi_call *c);
struct rpc_reply vm_assert_can_boot_here(struct xapi_call *c);
struct rpc_reply vm_assert_operation_valid(struct xapi_call *c);
struct rpc_reply vm_update_allowed_operations(struct xapi_call *c);
struct rpc_reply vbd_plug(struct xapi_call *c);
struct rpc_reply vbd_unplug(struct xapi_call *c);
struct rpc_reply vbd_unplug_force(struct xapi_call *c);
struct rpc_reply vif_plug(struct xapi_call *c);
struct rpc_reply vif_unplug(struct xapi_call *c);

/* The checks a start makes before xenopsd is asked (vm_config.c):
 * memory and storage. */
struct rpc_reply vm_check_boot(struct xapi_call *c, const char *vm_ref);

#endif
