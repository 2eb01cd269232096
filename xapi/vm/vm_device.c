/*
 * vm_device.c - VMs and their devices as xenopsd sees them: the
 * descriptions registered with VM.add, VBD.add and VIF.add; devices'
 * currently_attached and allowed_operations; and VBD/VIF plug and unplug
 * on a running VM.
 *
 * Until storage arrives a VBD's backend is its VDI's location, or "" for
 * a VBD without a VDI (an empty CD drive).
 */
#include "vm/vm.h"
#include "api/api_value.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_DEFAULT_MTU 1500

static struct val *vm_copy_field(struct arena *a, const struct db_obj *o, api_field_id f)
{
    return val_copy(a, db_obj_field(o, f));
}

/* "xvda" for userdevice 0, ... "xvdz", then "xvdaa"... */
static const char *vm_vbd_name(struct arena *a, int64_t position)
{
    if (position < 26)
        return arena_printf(a, "xvd%c", (char)('a' + position));
    return arena_printf(a, "xvd%c%c", (char)('a' + position / 26 - 1), (char)('a' + position % 26));
}

static int64_t vm_position(const char *userdevice, int64_t dflt)
{
    char *end;
    long long n = strtoll(userdevice, &end, 10);
    return *userdevice && !*end && n >= 0 && n < 256 ? n : dflt;
}

static struct val *vm_vbd_desc(struct arena *a, struct db *db, const char *vm_uuid,
                               const struct db_obj *vbd, int64_t index)
{
    struct val *d = val_struct(a);
    int64_t pos = vm_position(db_obj_str(vbd, API_F_VBD_userdevice), index);
    const char *device = db_obj_str(vbd, API_F_VBD_device);
    const struct db_obj *vdi = db_obj_follow(db, vbd, API_F_VBD_VDI);
    val_struct_add(a, d, "id", vm_copy_field(a, vbd, API_F_VBD_uuid));
    val_struct_add(a, d, "vm", val_string(a, vm_uuid));
    val_struct_add(a, d, "device", val_string(a, *device ? device : vm_vbd_name(a, pos)));
    val_struct_add(a, d, "position", val_int(a, pos));
    val_struct_add(a, d, "mode", vm_copy_field(a, vbd, API_F_VBD_mode));
    val_struct_add(a, d, "type", vm_copy_field(a, vbd, API_F_VBD_type));
    val_struct_add(a, d, "backend", val_string(a, vdi ? db_obj_str(vdi, API_F_VDI_location) : ""));
    return d;
}

static struct val *vm_vif_desc(struct arena *a, struct db *db, const char *vm_uuid,
                               const struct db_obj *vif, int64_t index)
{
    struct val *d = val_struct(a);
    const struct db_obj *net = db_obj_follow(db, vif, API_F_VIF_network);
    int64_t mtu = db_obj_int(vif, API_F_VIF_MTU);
    val_struct_add(a, d, "id", vm_copy_field(a, vif, API_F_VIF_uuid));
    val_struct_add(a, d, "vm", val_string(a, vm_uuid));
    val_struct_add(a, d, "position",
                   val_int(a, vm_position(db_obj_str(vif, API_F_VIF_device), index)));
    val_struct_add(a, d, "mac", vm_copy_field(a, vif, API_F_VIF_MAC));
    val_struct_add(a, d, "mtu", val_int(a, mtu > 0 ? mtu : VM_DEFAULT_MTU));
    val_struct_add(a, d, "bridge", val_string(a, net ? db_obj_str(net, API_F_network_bridge) : ""));
    return d;
}

const char *vm_domain_type(const struct db_obj *o)
{
    const char *dt = db_obj_str(o, API_F_VM_domain_type);
    if (strcmp(dt, "unspecified") != 0 && *dt)
        return dt;
    return *db_obj_str(o, API_F_VM_HVM_boot_policy) ? "hvm" : "pv";
}

void vm_describe(struct arena *a, struct db *db, const struct db_obj *o, struct vm_op *op)
{
    const char *uuid = db_obj_str(o, API_F_VM_uuid);
    struct val *d = val_struct(a);
    val_struct_add(a, d, "id", val_string(a, uuid));
    val_struct_add(a, d, "name", vm_copy_field(a, o, API_F_VM_name_label));
    static const struct {
        const char *key;
        api_field_id field;
    } ints[] = {
        {"memory_static_max", API_F_VM_memory_static_max},
        {"memory_dynamic_max", API_F_VM_memory_dynamic_max},
        {"memory_dynamic_min", API_F_VM_memory_dynamic_min},
        {"vcpus_max", API_F_VM_VCPUs_max},
        {"vcpus", API_F_VM_VCPUs_at_startup},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        val_struct_add(a, d, ints[i].key, vm_copy_field(a, o, ints[i].field));
    val_struct_add(a, d, "hvm", val_bool(a, strcmp(vm_domain_type(o), "hvm") == 0));
    val_struct_add(a, d, "platform", vm_copy_field(a, o, API_F_VM_platform));
    val_struct_add(a, d, "other", vm_copy_field(a, o, API_F_VM_other_config));
    op->desc = d;
    op->vbds = val_array(a);
    op->vifs = val_array(a);
    /* A device's default position is its place in the VM's list, gaps
     * (refs that name nothing) included. */
    const struct db_obj *dev;
    for (size_t i = 0; (dev = db_obj_next(db, o, API_F_VM_VBDs, &i));)
        val_array_push(a, op->vbds, vm_vbd_desc(a, db, uuid, dev, (int64_t)i - 1));
    for (size_t i = 0; (dev = db_obj_next(db, o, API_F_VM_VIFs, &i));)
        val_array_push(a, op->vifs, vm_vif_desc(a, db, uuid, dev, (int64_t)i - 1));
}

static struct val *vm_one(struct arena *a, struct val *v)
{
    struct val *p = val_array(a);
    val_array_push(a, p, v);
    return p;
}

struct rpc_reply vm_register(struct vm_op *op)
{
    struct xapi_call *c = op->c;
    struct rpc_reply r = xenops_call(c->x, c->a, "VM.add", vm_one(c->a, op->desc));
    for (size_t i = 0; !r.error && i < op->vbds->u.arr.n; i++)
        r = xenops_call(c->x, c->a, "VBD.add", vm_one(c->a, op->vbds->u.arr.items[i]));
    for (size_t i = 0; !r.error && i < op->vifs->u.arr.n; i++)
        r = xenops_call(c->x, c->a, "VIF.add", vm_one(c->a, op->vifs->u.arr.items[i]));
    return r;
}

static const char *vm_desc_id(const struct val *d)
{
    return val_str(val_struct_get(d, "id"));
}

bool vm_unregister(struct vm_op *op)
{
    struct xapi_call *c = op->c;
    for (size_t i = 0; i < op->vbds->u.arr.n; i++)
        xenops_call(c->x, c->a, "VBD.remove",
                    xenops_args(c->a, vm_desc_id(op->vbds->u.arr.items[i]), NULL));
    for (size_t i = 0; i < op->vifs->u.arr.n; i++)
        xenops_call(c->x, c->a, "VIF.remove",
                    xenops_args(c->a, vm_desc_id(op->vifs->u.arr.items[i]), NULL));
    struct rpc_reply r = xenops_call(c->x, c->a, "VM.remove", xenops_args(c->a, op->uuid, NULL));
    if (!r.error || xenops_is_error(&r, API_ERR_HANDLE_INVALID))
        return true;
    log_info(c->log_ctx, "VM %s stays registered with xenopsd: %s", op->uuid,
             val_str(r.error->u.arr.items[0]));
    return false;
}

/* --- devices' state --- */

bool vm_is_live(const struct db_obj *vm)
{
    const char *ps = vm ? db_obj_str(vm, API_F_VM_power_state) : "";
    return strcmp(ps, "Running") == 0 || strcmp(ps, "Paused") == 0;
}

/* The fields VBDs and VIFs both have. */
static api_field_id vm_device_vm_field(const struct db_obj *dev)
{
    return dev->cls == API_C_VBD ? API_F_VBD_VM : API_F_VIF_VM;
}

struct db_obj *vm_device_vm(struct db *db, const struct db_obj *dev)
{
    return db_obj_follow(db, dev, vm_device_vm_field(dev));
}

static api_field_id vm_device_attached(const struct db_obj *dev)
{
    return dev->cls == API_C_VBD ? API_F_VBD_currently_attached : API_F_VIF_currently_attached;
}

void vm_device_refresh(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *dev)
{
    bool vbd = dev->cls == API_C_VBD;
    bool attached = db_obj_bool(dev, vm_device_attached(dev));
    struct val *ops = val_array(a);
    if (vm_busy(dev)) {
        /* one operation at a time */
    } else if (attached) {
        val_array_push(a, ops, val_string(a, "unplug"));
        if (vbd)
            val_array_push(a, ops, val_string(a, "unplug_force"));
    } else {
        val_array_push(a, ops, val_string(a, "attach"));
        if (vm_is_live(vm_device_vm(db, dev)))
            val_array_push(a, ops, val_string(a, "plug"));
    }
    db_txn_update(t, dev, vbd ? API_F_VBD_allowed_operations : API_F_VIF_allowed_operations, ops);
}

void vm_device_apply(struct db_txn *t, struct arena *a, struct db_obj *dev, const struct val *stat)
{
    const struct val *plugged = stat ? val_struct_get(stat, "plugged") : NULL;
    db_txn_update(t, dev, vm_device_attached(dev),
                  val_bool(a, plugged && plugged->type == VAL_BOOL && plugged->u.b));
    const char *device = stat ? val_str(val_struct_get(stat, "device")) : NULL;
    if (device && *device && dev->cls == API_C_VBD)
        db_txn_update(t, dev, API_F_VBD_device, val_string(a, device));
}

void vm_devices_unplugged(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *o)
{
    static const api_field_id sets[] = {API_F_VM_VBDs, API_F_VM_VIFs};
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        struct db_obj *d;
        for (size_t i = 0; (d = db_obj_next(db, o, sets[s], &i));) {
            db_txn_update(t, d, vm_device_attached(d), val_bool(a, false));
            vm_device_refresh(t, a, db, d);
        }
    }
}

/* Writes xenopsd's state of each device in descs (of class cls). */
static void vm_devices_stat(struct xapi_call *c, const struct val *descs, int cls)
{
    for (size_t i = 0; i < descs->u.arr.n; i++) {
        const char *id = vm_desc_id(descs->u.arr.items[i]);
        struct rpc_reply r =
            xenops_call(c->x, c->a, arena_printf(c->a, "%s.stat", api_classes[cls].name),
                        xenops_args(c->a, id, NULL));
        if (r.error && !xenops_is_error(&r, API_ERR_HANDLE_INVALID))
            continue;
        struct db_txn *t = db_begin(c->x->db);
        struct db_obj *d = db_get_by_uuid(c->x->db, cls, id);
        if (d) {
            vm_device_apply(t, c->a, d, r.error ? NULL : r.value);
            vm_device_refresh(t, c->a, c->x->db, d);
        }
        xapi_commit(c, t, NULL);
    }
}

void vm_devices_sync(struct vm_op *op)
{
    vm_devices_stat(op->c, op->vbds, API_C_VBD);
    vm_devices_stat(op->c, op->vifs, API_C_VIF);
}

/* --- plug and unplug --- */

/* A device operation: the device lists it in current_operations (which
 * keeps a second one out) while xenopsd works. */
struct vm_devop {
    int cls; /* API_C_VBD or API_C_VIF */
    char ref[IDS_REF_LEN + 1];
    char key[IDS_REF_LEN + 1];
    struct val *desc;
};

/* Checks that the device ref of cls can be plugged (plug) or unplugged
 * now, and lists the operation. */
static struct rpc_reply vm_devop_begin(struct xapi_call *c, int cls, const char *ref,
                                       const char *op, struct vm_devop *d)
{
    struct db *db = c->x->db;
    d->cls = cls;
    struct rpc_reply reply = {0};
    struct db_txn *t = db_begin(db);
    struct db_obj *dev = vm_lookup(c, cls, ref, &reply);
    struct db_obj *vm =
        dev ? vm_lookup(c, API_C_VM, db_obj_str(dev, vm_device_vm_field(dev)), &reply) : NULL;
    if (!vm) {
        db_abort(t);
        return reply;
    }
    bool plug = strcmp(op, "plug") == 0, attached = db_obj_bool(dev, vm_device_attached(dev));
    const char *ps = db_obj_str(vm, API_F_VM_power_state);
    if (vm_busy(dev))
        reply = vm_busy_error(c->a, dev);
    else if (vm_busy(vm))
        reply = vm_busy_error(c->a, vm);
    else if (plug && attached)
        reply = rpc_reply_error(c->a, API_ERR_DEVICE_ALREADY_ATTACHED, dev->ref, NULL);
    else if (!plug && !attached)
        reply = rpc_reply_error(c->a, API_ERR_DEVICE_ALREADY_DETACHED, dev->ref, NULL);
    else if (plug && strcmp(ps, "Running") != 0)
        reply = rpc_reply_error(c->a, API_ERR_VM_BAD_POWER_STATE, vm->ref, "running",
                                vm_power_lower(c->a, ps), NULL);
    else if (strcmp(op, "unplug") == 0 && cls == API_C_VBD &&
             !db_obj_bool(dev, API_F_VBD_unpluggable))
        reply = rpc_reply_error(c->a, API_ERR_VBD_NOT_UNPLUGGABLE, dev->ref, NULL);
    if (reply.error) {
        db_abort(t);
        return reply;
    }
    snprintf(d->ref, sizeof(d->ref), "%s", dev->ref);
    ids_ref(d->key);
    struct val *ops = val_struct(c->a);
    val_struct_add(c->a, ops, d->key, val_string(c->a, op));
    db_txn_update(t, dev, vm_ops_field(cls), ops);
    vm_device_refresh(t, c->a, db, dev);
    const char *vm_uuid = db_obj_str(vm, API_F_VM_uuid);
    d->desc = cls == API_C_VBD ? vm_vbd_desc(c->a, db, vm_uuid, dev, 0)
                               : vm_vif_desc(c->a, db, vm_uuid, dev, 0);
    return xapi_commit(c, t, val_nil(c->a));
}

/* Writes the device's state from xenopsd and ends the operation. */
static struct rpc_reply vm_devop_end(struct xapi_call *c, struct vm_devop *d, struct rpc_reply r)
{
    const char *id = vm_desc_id(d->desc);
    struct rpc_reply st =
        xenops_call(c->x, c->a, arena_printf(c->a, "%s.stat", api_classes[d->cls].name),
                    xenops_args(c->a, id, NULL));
    bool known = !st.error || xenops_is_error(&st, API_ERR_HANDLE_INVALID);
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *dev = db_get(c->x->db, d->cls, d->ref);
    if (dev) {
        db_txn_update(t, dev, vm_ops_field(d->cls), val_struct(c->a));
        if (known)
            vm_device_apply(t, c->a, dev, st.error ? NULL : st.value);
        vm_device_refresh(t, c->a, c->x->db, dev);
    }
    struct rpc_reply done = xapi_commit(c, t, val_nil(c->a));
    return r.error || !done.error ? r : done;
}

static struct rpc_reply vm_device_plug(struct xapi_call *c, int cls, const char *ref,
                                       const char *op)
{
    struct vm_devop d = {0};
    struct rpc_reply r = vm_devop_begin(c, cls, ref, op, &d);
    if (r.error)
        return r;
    const char *id = vm_desc_id(d.desc), *kind = api_classes[cls].name;
    if (strcmp(op, "plug") == 0) {
        r = xenops_call(c->x, c->a, arena_printf(c->a, "%s.add", kind), vm_one(c->a, d.desc));
        if (!r.error)
            r = xenops_run(c, arena_printf(c->a, "%s.plug", kind), xenops_args(c->a, id, NULL));
    } else {
        r = xenops_run(c, arena_printf(c->a, "%s.unplug", kind), xenops_args(c->a, id, NULL));
    }
    if (!r.error)
        r = rpc_reply_ok(val_nil(c->a));
    log_info(c->log_ctx, "%s.%s %s: %s", kind, op, d.ref,
             r.error ? val_str(r.error->u.arr.items[0]) : "done");
    return vm_devop_end(c, &d, r);
}

struct rpc_reply vbd_plug(struct xapi_call *c)
{
    return vm_device_plug(c, API_C_VBD, xapi_arg_str(c, API_P_VBD_plug_self), "plug");
}

struct rpc_reply vbd_unplug(struct xapi_call *c)
{
    return vm_device_plug(c, API_C_VBD, xapi_arg_str(c, API_P_VBD_unplug_self), "unplug");
}

/* Forced: whether or not the VBD is marked unpluggable. */
struct rpc_reply vbd_unplug_force(struct xapi_call *c)
{
    return vm_device_plug(c, API_C_VBD, xapi_arg_str(c, API_P_VBD_unplug_force_self),
                          "unplug_force");
}

struct rpc_reply vif_plug(struct xapi_call *c)
{
    return vm_device_plug(c, API_C_VIF, xapi_arg_str(c, API_P_VIF_plug_self), "plug");
}

struct rpc_reply vif_unplug(struct xapi_call *c)
{
    return vm_device_plug(c, API_C_VIF, xapi_arg_str(c, API_P_VIF_unplug_self), "unplug");
}

/* xenopsd has one way to unplug a network device. */
struct rpc_reply vif_unplug_force(struct xapi_call *c)
{
    return vm_device_plug(c, API_C_VIF, xapi_arg_str(c, API_P_VIF_unplug_force_self), "unplug");
}
