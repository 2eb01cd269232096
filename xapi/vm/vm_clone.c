/*
 * vm_clone.c - VMs made and unmade: clone and copy (xe vm-install's first
 * step), provision (its second), and the rules the implicit create,
 * destroy and setters of VMs, VBDs and VIFs follow.
 *
 * As upstream, a clone keeps is_a_template: the clone of a template is a
 * template until VM.provision makes its disks and turns it into a VM.
 * Disks need storage, which arrives later: until then a VM may have no
 * disks, and anything that would create or copy a disk fails with the
 * datamodel's error instead of pretending.
 */
#include "vm/vm.h"
#include "api/api_value.h"
#include "host/dbsync.h"
#include "log.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int vm_cls(void)
{
    return api_class_find("VM");
}

/* A locally administered unicast MAC, as upstream makes for a VIF. */
static struct val *vm_random_mac(struct arena *a)
{
    char uuid[IDS_UUID_LEN + 1], hex[13];
    ids_uuid(uuid);
    size_t n = 0;
    for (const char *p = uuid; *p && n < 12; p++)
        if (*p != '-')
            hex[n++] = *p;
    hex[12] = '\0';
    unsigned first = 0;
    sscanf(hex, "%2x", &first);
    first = (first & 0xfe) | 0x02;
    return val_string(a, arena_printf(a, "%02x:%.2s:%.2s:%.2s:%.2s:%.2s", first, hex + 2, hex + 4,
                                      hex + 6, hex + 8, hex + 10));
}

/* --- clone and copy --- */

/* The values of a copy of src: every field but its uuid and the sets the
 * database derives from relations. */
static struct val **vm_copy_values(struct arena *a, const struct db_obj *src)
{
    const struct api_class *cls = &api_classes[src->cls];
    struct val **v = firstboot_values(a, src->cls);
    for (int i = 0; i < cls->n_fields; i++) {
        const struct api_field *f = &cls->fields[i];
        if (i != cls->uuid_field && !(f->type->kind == API_SET && f->inverse_cls >= 0))
            v[i] = src->f[i];
    }
    return v;
}

/* The clone's other_config: what the installer needs stays; the marks of
 * a built-in template do not. */
static struct val *vm_clone_other_config(struct arena *a, const struct db_obj *src)
{
    const struct val *old = vm_field(src, "other_config");
    struct val *m = val_struct(a);
    for (size_t i = 0; i < old->u.st.n; i++) {
        const char *k = old->u.st.members[i].name;
        if (strcmp(k, "default_template") != 0 && strcmp(k, "mac_seed") != 0)
            val_struct_add(a, m, k, old->u.st.members[i].value);
    }
    return m;
}

static struct db_obj *vm_clone_record(struct db_txn *t, struct arena *a, const struct db_obj *src,
                                      const char *name)
{
    int vm = vm_cls(), vmm = api_class_find("VM_metrics");
    struct val **m = firstboot_values(a, vmm);
    struct val *now = api_value_datetime(a, time(NULL));
    firstboot_set(m, vmm, "install_time", now);
    firstboot_set(m, vmm, "last_updated", now);
    struct db_obj *metrics = db_txn_create(t, vmm, m, NULL);

    struct val **v = vm_copy_values(a, src);
    firstboot_set(v, vm, "name_label", val_string(a, name));
    firstboot_set(v, vm, "other_config", vm_clone_other_config(a, src));
    firstboot_set(v, vm, "metrics", val_string(a, metrics->ref));
    static const char *const resets[] = {
        "allowed_operations",
        "current_operations",
        "is_default_template",
        "resident_on",
        "scheduled_to_be_resident_on",
        "guest_metrics",
        "is_control_domain",
        "is_a_snapshot",
        "snapshot_of",
        "snapshot_time",
        "snapshot_info",
        "snapshot_metadata",
        "transportable_snapshot_id",
        "parent",
        "blobs",
        "suspend_VDI",
        "last_booted_record",
    };
    for (size_t i = 0; i < sizeof(resets) / sizeof(resets[0]); i++)
        firstboot_set(v, vm, resets[i], NULL);
    firstboot_set(v, vm, "power_state", val_string(a, "Halted"));
    firstboot_set(v, vm, "domid", val_int(a, -1));
    return db_txn_create(t, vm, v, NULL);
}

/* A disk with a VDI cannot be copied until storage exists; a CD's image is
 * shared, read-only, as upstream. */
static int vm_clone_check_disks(struct xapi_call *c, const struct db_obj *src,
                                struct rpc_reply *reply)
{
    const struct val *vbds = vm_field(src, "VBDs");
    int vbd_cls = api_class_find("VBD"), vdi_cls = api_class_find("VDI");
    for (size_t i = 0; i < vbds->u.arr.n; i++) {
        const struct db_obj *vbd = db_get(c->x->db, vbd_cls, val_str(vbds->u.arr.items[i]));
        const struct db_obj *vdi = vbd ? db_get(c->x->db, vdi_cls, vm_field_str(vbd, "VDI")) : NULL;
        if (vdi && strcmp(vm_field_str(vbd, "type"), "CD") != 0) {
            *reply =
                rpc_reply_error(c->a, "SR_OPERATION_NOT_SUPPORTED", vm_field_str(vdi, "SR"), NULL);
            return -1;
        }
    }
    return 0;
}

/* Copies src's devices of one class (VBDs or VIFs) onto vm. */
static void vm_clone_devices(struct db_txn *t, struct arena *a, struct db *db,
                             const struct db_obj *src, const struct db_obj *vm, const char *set,
                             const char *cls_name)
{
    int cls = api_class_find(cls_name);
    bool vif = strcmp(cls_name, "VIF") == 0;
    const struct val *refs = vm_field(src, set);
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        const struct db_obj *d = db_get(db, cls, val_str(refs->u.arr.items[i]));
        if (!d)
            continue;
        struct val **v = vm_copy_values(a, d);
        firstboot_set(v, cls, "VM", val_string(a, vm->ref));
        firstboot_set(v, cls, "currently_attached", val_bool(a, false));
        firstboot_set(v, cls, "current_operations", NULL);
        if (vif) { /* two VMs with one MAC would fight over it */
            firstboot_set(v, cls, "MAC", vm_random_mac(a));
            firstboot_set(v, cls, "MAC_autogenerated", val_bool(a, true));
        }
        vm_device_refresh(t, a, db, db_txn_create(t, cls, v, NULL));
    }
}

static struct rpc_reply vm_do_clone(struct xapi_call *c, const char *op)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *src = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    if (!src || vm_check_op(c->a, src, op, &reply) < 0 ||
        vm_clone_check_disks(c, src, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    struct db_obj *vm = vm_clone_record(t, c->a, src, val_str(c->args[2]));
    vm_clone_devices(t, c->a, c->x->db, src, vm, "VBDs", "VBD");
    vm_clone_devices(t, c->a, c->x->db, src, vm, "VIFs", "VIF");
    vm_refresh_allowed(t, c->a, vm);
    log_info(c->log_ctx, "VM.%s %s: new VM %s (%s)", op, src->ref, vm->ref, val_str(c->args[2]));
    return xapi_commit(c, t, val_string(c->a, vm->ref));
}

struct rpc_reply vm_clone(struct xapi_call *c)
{
    return vm_do_clone(c, "clone");
}

/* Without disks a copy is a clone; the SR argument matters once there are
 * disks to copy into it. */
struct rpc_reply vm_copy(struct xapi_call *c)
{
    return vm_do_clone(c, "copy");
}

/* --- provision --- */

struct vm_disks {
    struct arena *a;
    struct val *srs; /* the sr attribute of each <disk>, "" for the default */
};

static void vm_disks_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct vm_disks *d = ud;
    if (strcmp(name, "disk") != 0)
        return;
    const char *sr = "";
    for (size_t i = 0; attrs[i]; i += 2)
        if (strcmp(attrs[i], "sr") == 0)
            sr = attrs[i + 1];
    val_array_push(d->a, d->srs, val_string(d->a, sr));
}

/* The disks of a provision document; -1 when it is not XML. */
static int vm_disks_parse(struct arena *a, const char *xml, struct val **srs)
{
    struct vm_disks d = {a, val_array(a)};
    XML_Parser p = XML_ParserCreate("UTF-8");
    XML_SetUserData(p, &d);
    XML_SetElementHandler(p, vm_disks_start, NULL);
    int ok = XML_Parse(p, xml, (int)strlen(xml), 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    *srs = d.srs;
    return ok ? 0 : -1;
}

/* Where the disks would go: the SR the spec names, else the pool's
 * default. Fails with the datamodel's error when there is none, and, as
 * long as this host cannot create disks, when there is one. */
static int vm_provision_disks(struct xapi_call *c, const struct db_obj *o, struct rpc_reply *reply)
{
    const struct val *disks = val_struct_get(vm_field(o, "other_config"), "disks");
    struct val *srs;
    if (!disks || !*val_str(disks))
        return 0;
    if (vm_disks_parse(c->a, val_str(disks), &srs) < 0) {
        *reply = rpc_reply_error(c->a, "INVALID_VALUE", "other_config:disks", val_str(disks), NULL);
        return -1;
    }
    int sr_cls = api_class_find("SR");
    const struct db_obj *pool = db_first(c->x->db, api_class_find("pool"));
    for (size_t i = 0; i < srs->u.arr.n; i++) {
        const char *uuid = val_str(srs->u.arr.items[i]);
        const struct db_obj *sr = NULL;
        if (*uuid && !(sr = db_get_by_uuid(c->x->db, sr_cls, uuid))) {
            *reply = rpc_reply_error(c->a, "UUID_INVALID", "SR", uuid, NULL);
            return -1;
        }
        const char *dflt = pool ? vm_field_str(pool, "default_SR") : API_NULL_REF;
        if (!*uuid && !(sr = db_get(c->x->db, sr_cls, dflt))) {
            *reply = rpc_reply_error(c->a, "DEFAULT_SR_NOT_FOUND", dflt, NULL);
            return -1;
        }
        *reply = rpc_reply_error(c->a, "SR_OPERATION_NOT_SUPPORTED", sr->ref, NULL);
        return -1;
    }
    return 0;
}

struct rpc_reply vm_provision(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    if (!o || vm_check_op(c->a, o, "provision", &reply) < 0 ||
        vm_provision_disks(c, o, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    vm_field_set(t, o, "is_a_template", val_bool(c->a, false));
    vm_refresh_allowed(t, c->a, o);
    log_info(c->log_ctx, "VM.provision %s: provisioned", o->ref);
    return xapi_commit(c, t, val_nil(c->a));
}

/* --- the implicit messages' rules --- */

/* A destroyed VM takes what is its alone: devices, metrics, consoles. */
static void vm_destroy_belongings(struct db_txn *t, struct arena *a, struct db *db,
                                  struct db_obj *o)
{
    static const char *const sets[][2] = {
        {"VBDs", "VBD"}, {"VIFs", "VIF"}, {"consoles", "console"}};
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        /* a copy: each destroy edits the set it came from */
        const struct val *refs = val_copy(a, vm_field(o, sets[s][0]));
        for (size_t i = 0; i < refs->u.arr.n; i++) {
            struct db_obj *d =
                db_get(db, api_class_find(sets[s][1]), val_str(refs->u.arr.items[i]));
            if (d)
                db_txn_destroy(t, d);
        }
    }
    static const char *const refs[][2] = {{"metrics", "VM_metrics"},
                                          {"guest_metrics", "VM_guest_metrics"}};
    for (size_t r = 0; r < sizeof(refs) / sizeof(refs[0]); r++) {
        struct db_obj *d = db_get(db, api_class_find(refs[r][1]), vm_field_str(o, refs[r][0]));
        if (d)
            db_txn_destroy(t, d);
    }
}

static int vm_hook_vm(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                      struct rpc_reply *reply)
{
    switch (c->m->impl) {
    case API_DESTROY:
        if (vm_check_op(c->a, o, "destroy", reply) < 0)
            return -1;
        if (vm_field_bool(o, "is_default_template")) {
            *reply = rpc_reply_error(c->a, "VM_CANNOT_DELETE_DEFAULT_TEMPLATE", o->ref, NULL);
            return -1;
        }
        vm_destroy_belongings(t, c->a, c->x->db, o);
        return 0;
    case API_SET_FIELD:
        /* Upstream's make_into_template: only a halted VM, at rest, may
         * become one; a running template could never be stopped. */
        if (c->m->field == api_field_find(o->cls, "is_a_template") &&
            vm_field_bool(o, "is_a_template")) {
            const char *ps = vm_field_str(o, "power_state");
            if (strcmp(ps, "Halted") != 0) {
                *reply = rpc_reply_error(c->a, "VM_BAD_POWER_STATE", o->ref, "halted",
                                         vm_power_lower(c->a, ps), NULL);
                return -1;
            }
            if (vm_field(o, "current_operations")->u.st.n) {
                *reply = vm_busy_error(c->a, "VM", o);
                return -1;
            }
        }
        break;
    case API_CREATE: { /* a new VM has no domain, and metrics from the start */
        struct db_obj *m = db_txn_create(t, api_class_find("VM_metrics"), NULL, NULL);
        vm_field_set(t, o, "metrics", val_string(c->a, m->ref));
        vm_field_set(t, o, "domid", val_int(c->a, -1));
        break;
    }
    default:
        break;
    }
    vm_refresh_allowed(t, c->a, o);
    return 0;
}

/* A device plugged into a live VM must be unplugged before it goes. */
static int vm_hook_device(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                          struct rpc_reply *reply)
{
    const struct db_obj *vm = db_get(c->x->db, vm_cls(), vm_field_str(o, "VM"));
    const char *ps = vm ? vm_field_str(vm, "power_state") : "";
    bool live = strcmp(ps, "Running") == 0 || strcmp(ps, "Paused") == 0;
    switch (c->m->impl) {
    case API_DESTROY:
        if (vm_field(o, "current_operations")->u.st.n ||
            (live && vm_field_bool(o, "currently_attached"))) {
            *reply = rpc_reply_error(
                c->a, "OPERATION_NOT_ALLOWED",
                arena_printf(c->a, "%s is plugged into a running VM: unplug it first", o->ref),
                NULL);
            return -1;
        }
        return 0;
    case API_CREATE:
        if (o->cls == api_class_find("VIF") && !*vm_field_str(o, "MAC")) {
            vm_field_set(t, o, "MAC", vm_random_mac(c->a));
            vm_field_set(t, o, "MAC_autogenerated", val_bool(c->a, true));
        }
        break;
    default:
        break;
    }
    vm_device_refresh(t, c->a, c->x->db, o);
    return 0;
}

int vm_implicit_hook(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                     struct rpc_reply *reply)
{
    if (o->cls == vm_cls())
        return vm_hook_vm(c, t, o, reply);
    if (o->cls == api_class_find("VBD") || o->cls == api_class_find("VIF"))
        return vm_hook_device(c, t, o, reply);
    return 0;
}
