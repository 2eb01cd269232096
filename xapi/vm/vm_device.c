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

static struct val *vm_copy_field(struct arena *a, const struct db_obj *o, const char *name)
{
    return val_copy(a, vm_field(o, name));
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
    int64_t pos = vm_position(vm_field_str(vbd, "userdevice"), index);
    const char *device = vm_field_str(vbd, "device");
    const struct db_obj *vdi = db_get(db, api_class_find("VDI"), vm_field_str(vbd, "VDI"));
    val_struct_add(a, d, "id", vm_copy_field(a, vbd, "uuid"));
    val_struct_add(a, d, "vm", val_string(a, vm_uuid));
    val_struct_add(a, d, "device", val_string(a, *device ? device : vm_vbd_name(a, pos)));
    val_struct_add(a, d, "position", val_int(a, pos));
    val_struct_add(a, d, "mode", vm_copy_field(a, vbd, "mode"));
    val_struct_add(a, d, "type", vm_copy_field(a, vbd, "type"));
    val_struct_add(a, d, "backend", val_string(a, vdi ? vm_field_str(vdi, "location") : ""));
    return d;
}

static struct val *vm_vif_desc(struct arena *a, struct db *db, const char *vm_uuid,
                               const struct db_obj *vif, int64_t index)
{
    struct val *d = val_struct(a);
    const struct db_obj *net = db_get(db, api_class_find("network"), vm_field_str(vif, "network"));
    int64_t mtu = vm_field_int(vif, "MTU");
    val_struct_add(a, d, "id", vm_copy_field(a, vif, "uuid"));
    val_struct_add(a, d, "vm", val_string(a, vm_uuid));
    val_struct_add(a, d, "position", val_int(a, vm_position(vm_field_str(vif, "device"), index)));
    val_struct_add(a, d, "mac", vm_copy_field(a, vif, "MAC"));
    val_struct_add(a, d, "mtu", val_int(a, mtu > 0 ? mtu : VM_DEFAULT_MTU));
    val_struct_add(a, d, "bridge", val_string(a, net ? vm_field_str(net, "bridge") : ""));
    return d;
}

static bool vm_is_hvm(const struct db_obj *o)
{
    const char *dt = vm_field_str(o, "domain_type");
    if (strcmp(dt, "unspecified") != 0 && *dt)
        return strcmp(dt, "hvm") == 0;
    return *vm_field_str(o, "HVM_boot_policy") != '\0';
}

void vm_describe(struct arena *a, struct db *db, const struct db_obj *o, struct vm_op *op)
{
    const char *uuid = vm_field_str(o, "uuid");
    struct val *d = val_struct(a);
    val_struct_add(a, d, "id", val_string(a, uuid));
    val_struct_add(a, d, "name", vm_copy_field(a, o, "name_label"));
    static const char *const ints[][2] = {
        {"memory_static_max", "memory_static_max"},
        {"memory_dynamic_max", "memory_dynamic_max"},
        {"memory_dynamic_min", "memory_dynamic_min"},
        {"vcpus_max", "VCPUs_max"},
        {"vcpus", "VCPUs_at_startup"},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        val_struct_add(a, d, ints[i][0], vm_copy_field(a, o, ints[i][1]));
    val_struct_add(a, d, "hvm", val_bool(a, vm_is_hvm(o)));
    val_struct_add(a, d, "platform", vm_copy_field(a, o, "platform"));
    val_struct_add(a, d, "other", vm_copy_field(a, o, "other_config"));
    op->desc = d;
    op->vbds = val_array(a);
    op->vifs = val_array(a);
    const struct val *vbds = vm_field(o, "VBDs"), *vifs = vm_field(o, "VIFs");
    for (size_t i = 0; i < vbds->u.arr.n; i++) {
        const struct db_obj *vbd = db_get(db, api_class_find("VBD"), val_str(vbds->u.arr.items[i]));
        if (vbd)
            val_array_push(a, op->vbds, vm_vbd_desc(a, db, uuid, vbd, (int64_t)i));
    }
    for (size_t i = 0; i < vifs->u.arr.n; i++) {
        const struct db_obj *vif = db_get(db, api_class_find("VIF"), val_str(vifs->u.arr.items[i]));
        if (vif)
            val_array_push(a, op->vifs, vm_vif_desc(a, db, uuid, vif, (int64_t)i));
    }
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
    if (!r.error || xenops_is_error(&r, "HANDLE_INVALID"))
        return true;
    log_info(c->log_ctx, "VM %s stays registered with xenopsd: %s", op->uuid,
             val_str(r.error->u.arr.items[0]));
    return false;
}

/* --- devices' state --- */

static bool vm_device_vm_live(struct db *db, const struct db_obj *dev)
{
    const struct db_obj *vm = db_get(db, api_class_find("VM"), vm_field_str(dev, "VM"));
    const char *ps = vm ? vm_field_str(vm, "power_state") : "";
    return strcmp(ps, "Running") == 0 || strcmp(ps, "Paused") == 0;
}

void vm_device_refresh(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *dev)
{
    bool vbd = dev->cls == api_class_find("VBD");
    bool attached = vm_field_bool(dev, "currently_attached");
    struct val *ops = val_array(a);
    if (vm_field(dev, "current_operations")->u.st.n) {
        /* one operation at a time */
    } else if (attached) {
        val_array_push(a, ops, val_string(a, "unplug"));
        if (vbd)
            val_array_push(a, ops, val_string(a, "unplug_force"));
    } else {
        val_array_push(a, ops, val_string(a, "attach"));
        if (vm_device_vm_live(db, dev))
            val_array_push(a, ops, val_string(a, "plug"));
    }
    vm_field_set(t, dev, "allowed_operations", ops);
}

void vm_device_apply(struct db_txn *t, struct arena *a, struct db_obj *dev, const struct val *stat)
{
    const struct val *plugged = stat ? val_struct_get(stat, "plugged") : NULL;
    vm_field_set(t, dev, "currently_attached",
                 val_bool(a, plugged && plugged->type == VAL_BOOL && plugged->u.b));
    const char *device = stat ? val_str(val_struct_get(stat, "device")) : NULL;
    if (device && *device && dev->cls == api_class_find("VBD"))
        vm_field_set(t, dev, "device", val_string(a, device));
}

static void vm_devices_each(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *o,
                            const char *set, const char *cls_name)
{
    const struct val *refs = vm_field(o, set);
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        struct db_obj *d = db_get(db, api_class_find(cls_name), val_str(refs->u.arr.items[i]));
        if (!d)
            continue;
        vm_field_set(t, d, "currently_attached", val_bool(a, false));
        vm_device_refresh(t, a, db, d);
    }
}

void vm_devices_unplugged(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *o)
{
    vm_devices_each(t, a, db, o, "VBDs", "VBD");
    vm_devices_each(t, a, db, o, "VIFs", "VIF");
}

/* Writes xenopsd's state of each device in descs (of class cls_name). */
static void vm_devices_stat(struct xapi_call *c, const struct val *descs, const char *cls_name)
{
    for (size_t i = 0; i < descs->u.arr.n; i++) {
        const char *id = vm_desc_id(descs->u.arr.items[i]);
        struct rpc_reply r = xenops_call(c->x, c->a, arena_printf(c->a, "%s.stat", cls_name),
                                         xenops_args(c->a, id, NULL));
        if (r.error && !xenops_is_error(&r, "HANDLE_INVALID"))
            continue;
        struct db_txn *t = db_begin(c->x->db);
        struct db_obj *d = db_get_by_uuid(c->x->db, api_class_find(cls_name), id);
        if (d) {
            vm_device_apply(t, c->a, d, r.error ? NULL : r.value);
            vm_device_refresh(t, c->a, c->x->db, d);
        }
        xapi_commit(c, t, NULL);
    }
}

void vm_devices_sync(struct vm_op *op)
{
    vm_devices_stat(op->c, op->vbds, "VBD");
    vm_devices_stat(op->c, op->vifs, "VIF");
}

/* --- plug and unplug --- */

/* A device operation: the device lists it in current_operations (which
 * keeps a second one out) while xenopsd works. */
struct vm_devop {
    int cls;
    const char *kind; /* "VBD" or "VIF" */
    char ref[IDS_REF_LEN + 1];
    char key[IDS_REF_LEN + 1];
    struct val *desc;
};

/* Checks that the device can be plugged (plug) or unplugged now, and
 * lists the operation. */
static struct rpc_reply vm_devop_begin(struct xapi_call *c, const char *kind, const char *op,
                                       struct vm_devop *d)
{
    struct db *db = c->x->db;
    d->cls = api_class_find(kind);
    d->kind = kind;
    struct rpc_reply reply = {0};
    struct db_txn *t = db_begin(db);
    struct db_obj *dev = vm_lookup(c, d->cls, val_str(c->args[1]), &reply);
    struct db_obj *vm =
        dev ? vm_lookup(c, api_class_find("VM"), vm_field_str(dev, "VM"), &reply) : NULL;
    if (!vm) {
        db_abort(t);
        return reply;
    }
    bool plug = strcmp(op, "plug") == 0, attached = vm_field_bool(dev, "currently_attached");
    const char *ps = vm_field_str(vm, "power_state");
    if (vm_field(dev, "current_operations")->u.st.n)
        reply = vm_busy_error(c->a, kind, dev);
    else if (vm_field(vm, "current_operations")->u.st.n)
        reply = vm_busy_error(c->a, "VM", vm);
    else if (plug && attached)
        reply = rpc_reply_error(c->a, "DEVICE_ALREADY_ATTACHED", dev->ref, NULL);
    else if (!plug && !attached)
        reply = rpc_reply_error(c->a, "DEVICE_ALREADY_DETACHED", dev->ref, NULL);
    else if (plug && strcmp(ps, "Running") != 0)
        reply = rpc_reply_error(c->a, "VM_BAD_POWER_STATE", vm->ref, "running",
                                vm_power_lower(c->a, ps), NULL);
    else if (strcmp(op, "unplug") == 0 && d->cls == api_class_find("VBD") &&
             !vm_field_bool(dev, "unpluggable"))
        reply = rpc_reply_error(c->a, "VBD_NOT_UNPLUGGABLE", dev->ref, NULL);
    if (reply.error) {
        db_abort(t);
        return reply;
    }
    snprintf(d->ref, sizeof(d->ref), "%s", dev->ref);
    ids_ref(d->key);
    struct val *ops = val_struct(c->a);
    val_struct_add(c->a, ops, d->key, val_string(c->a, op));
    vm_field_set(t, dev, "current_operations", ops);
    vm_device_refresh(t, c->a, db, dev);
    db_txn_relaxed(t); /* only what xapi's start clears */
    const char *vm_uuid = vm_field_str(vm, "uuid");
    d->desc = d->cls == api_class_find("VBD") ? vm_vbd_desc(c->a, db, vm_uuid, dev, 0)
                                              : vm_vif_desc(c->a, db, vm_uuid, dev, 0);
    return xapi_commit(c, t, val_nil(c->a));
}

/* Writes the device's state from xenopsd and ends the operation. */
static struct rpc_reply vm_devop_end(struct xapi_call *c, struct vm_devop *d, struct rpc_reply r)
{
    const char *id = vm_desc_id(d->desc);
    struct rpc_reply st = xenops_call(c->x, c->a, arena_printf(c->a, "%s.stat", d->kind),
                                      xenops_args(c->a, id, NULL));
    bool known = !st.error || xenops_is_error(&st, "HANDLE_INVALID");
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *dev = db_get(c->x->db, d->cls, d->ref);
    if (dev) {
        vm_field_set(t, dev, "current_operations", val_struct(c->a));
        if (known)
            vm_device_apply(t, c->a, dev, st.error ? NULL : st.value);
        vm_device_refresh(t, c->a, c->x->db, dev);
    }
    struct rpc_reply done = xapi_commit(c, t, val_nil(c->a));
    return r.error || !done.error ? r : done;
}

static struct rpc_reply vm_device_plug(struct xapi_call *c, const char *kind, const char *op)
{
    struct vm_devop d = {0};
    struct rpc_reply r = vm_devop_begin(c, kind, op, &d);
    if (r.error)
        return r;
    const char *id = vm_desc_id(d.desc);
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
    return vm_device_plug(c, "VBD", "plug");
}

struct rpc_reply vbd_unplug(struct xapi_call *c)
{
    return vm_device_plug(c, "VBD", "unplug");
}

/* Forced: whether or not the VBD is marked unpluggable. */
struct rpc_reply vbd_unplug_force(struct xapi_call *c)
{
    return vm_device_plug(c, "VBD", "unplug_force");
}

struct rpc_reply vif_plug(struct xapi_call *c)
{
    return vm_device_plug(c, "VIF", "plug");
}

struct rpc_reply vif_unplug(struct xapi_call *c)
{
    return vm_device_plug(c, "VIF", "unplug");
}
