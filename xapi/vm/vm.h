/*
 * vm.h - what the VM modules share: the operation rules and current_operations
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
#include "core/module.h"
#include "core/xapi.h"
#include "core/xenops.h"

struct hmap;

/* --- vm_sync.c: the follower's state (x->vm) --- */

struct vm_service {
    atomic_bool stop;
    pthread_mutex_t nap_lock;
    pthread_cond_t nap_cond; /* CLOCK_MONOTONIC; broadcast at stop */
    pthread_t follower;
    bool follower_running;
    /* The follower's own: what it skipped because an operation held it,
     * to look at again ("VM/uuid", "VBD/uuid", "VIF/uuid"). */
    struct hmap *dirty;
};

/* --- vm_state.c: operations and their rules --- */

/* The object of cls named by ref, in the open transaction or under the
 * read lock; NULL with *reply HANDLE_INVALID. */
struct db_obj *vm_lookup(struct xapi_call *c, int cls, const char *ref, struct rpc_reply *reply);
/* current_operations of a VM, VBD or VIF. */
api_field_id vm_ops_field(int cls);
/* Whether o (a VM, VBD or VIF) has an operation in progress. */
bool vm_busy(const struct db_obj *o);
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
struct rpc_reply vm_busy_error(struct arena *a, const struct db_obj *o);
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
/* Whether the VM (which may be NULL) is running or paused. */
bool vm_is_live(const struct db_obj *vm);
/* The VM a VBD or VIF belongs to, or NULL. */
struct db_obj *vm_device_vm(struct db *db, const struct db_obj *dev);
/* The VM's domain type: its domain_type, else hvm or pv by its boot
 * policy. */
const char *vm_domain_type(const struct db_obj *o);
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
struct rpc_reply vm_set_memory_live(struct xapi_call *c, const char *vm, int64_t dynamic_min,
                                    int64_t dynamic_max);
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
struct rpc_reply vif_unplug_force(struct xapi_call *c);

/* The checks a start makes before xenopsd is asked (vm_config.c):
 * memory and storage. */
struct rpc_reply vm_check_boot(struct xapi_call *c, const char *vm_ref);

/* --- the module (vm.c) --- */

extern const struct xapi_module vm_module;
/* vm_clone.c: the rules of VMs, VBDs and VIFs for the implicit create,
 * setters and destroy: a VM that is not halted, or a plugged device,
 * cannot be destroyed; a destroyed VM takes its devices and metrics;
 * allowed_operations stays right. */
extern const struct xapi_class_hooks vm_class_hooks[];
/* templates.c: creates each built-in template of which no template of
 * the same name_label exists; existing ones are left as they are (users
 * may have edited them). */
void vm_templates_sync(struct xapi_sync *s);
/* vm_sync.c: at start, computes what every VM and device allows,
 * cancels xenopsd's tasks of a previous run and starts following xenopsd
 * (which need not be up yet). vm_service_stop stops following; vm_service_free, once no task
 * runs, frees the client. */
int vm_service_start(struct xapi *x);
int vm_service_stop(struct xapi *x);
void vm_service_free(struct xapi *x);

#endif
