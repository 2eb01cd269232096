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
#include "log.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
static struct db_values vm_copy_values(struct arena *a, const struct db_obj *src)
{
    const struct api_class *cls = &api_classes[src->cls];
    struct db_values v = db_values_new(a, src->cls);
    for (int i = 0; i < cls->n_fields; i++) {
        const struct api_field *f = &cls->fields[i];
        if (i != cls->uuid_field && !(f->type->kind == API_SET && f->inverse != API_NO_FIELD))
            v.v[i] = src->f[i];
    }
    return v;
}

/* The clone's other_config: what the installer needs stays; the marks of
 * a built-in template do not. */
static struct val *vm_clone_other_config(struct arena *a, const struct db_obj *src)
{
    const struct val *old = db_obj_field(src, API_F_VM_other_config);
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
    struct db_values m = db_values_new(a, API_C_VM_metrics);
    struct val *now = api_value_datetime(a, time(NULL));
    db_values_set(&m, API_F_VM_metrics_install_time, now);
    db_values_set(&m, API_F_VM_metrics_last_updated, now);
    struct db_obj *metrics = db_txn_create(t, API_C_VM_metrics, &m, NULL);

    struct db_values v = vm_copy_values(a, src);
    db_values_set(&v, API_F_VM_name_label, val_string(a, name));
    db_values_set(&v, API_F_VM_other_config, vm_clone_other_config(a, src));
    db_values_set(&v, API_F_VM_metrics, val_string(a, metrics->ref));
    static const api_field_id resets[] = {
        API_F_VM_allowed_operations,
        API_F_VM_current_operations,
        API_F_VM_is_default_template,
        API_F_VM_resident_on,
        API_F_VM_scheduled_to_be_resident_on,
        API_F_VM_guest_metrics,
        API_F_VM_is_control_domain,
        API_F_VM_is_a_snapshot,
        API_F_VM_snapshot_of,
        API_F_VM_snapshot_time,
        API_F_VM_snapshot_info,
        API_F_VM_snapshot_metadata,
        API_F_VM_transportable_snapshot_id,
        API_F_VM_parent,
        API_F_VM_blobs,
        API_F_VM_suspend_VDI,
        API_F_VM_last_booted_record,
    };
    for (size_t i = 0; i < sizeof(resets) / sizeof(resets[0]); i++)
        db_values_set(&v, resets[i], NULL);
    db_values_set(&v, API_F_VM_power_state, val_string(a, "Halted"));
    db_values_set(&v, API_F_VM_domid, val_int(a, -1));
    return db_txn_create(t, API_C_VM, &v, NULL);
}

/* A disk with a VDI cannot be copied until storage exists; a CD's image is
 * shared, read-only, as upstream. */
static int vm_clone_check_disks(struct xapi_call *c, const struct db_obj *src,
                                struct rpc_reply *reply)
{
    const struct db_obj *vbd;
    for (size_t i = 0; (vbd = db_obj_next(c->x->db, src, API_F_VM_VBDs, &i));) {
        const struct db_obj *vdi = db_obj_follow(c->x->db, vbd, API_F_VBD_VDI);
        if (vdi && strcmp(db_obj_str(vbd, API_F_VBD_type), "CD") != 0) {
            *reply = rpc_reply_error(c->a, API_ERR_SR_OPERATION_NOT_SUPPORTED,
                                     db_obj_str(vdi, API_F_VDI_SR), NULL);
            return -1;
        }
    }
    return 0;
}

/* Copies src's VBDs onto vm. */
static void vm_clone_vbds(struct db_txn *t, struct arena *a, struct db *db,
                          const struct db_obj *src, const struct db_obj *vm)
{
    const struct db_obj *d;
    for (size_t i = 0; (d = db_obj_next(db, src, API_F_VM_VBDs, &i));) {
        struct db_values v = vm_copy_values(a, d);
        db_values_set(&v, API_F_VBD_VM, val_string(a, vm->ref));
        db_values_set(&v, API_F_VBD_currently_attached, val_bool(a, false));
        db_values_set(&v, API_F_VBD_current_operations, NULL);
        vm_device_refresh(t, a, db, db_txn_create(t, API_C_VBD, &v, NULL));
    }
}

/* Copies src's VIFs onto vm, each with a MAC of its own: two VMs with one
 * MAC would fight over it. */
static void vm_clone_vifs(struct db_txn *t, struct arena *a, struct db *db,
                          const struct db_obj *src, const struct db_obj *vm)
{
    const struct db_obj *d;
    for (size_t i = 0; (d = db_obj_next(db, src, API_F_VM_VIFs, &i));) {
        struct db_values v = vm_copy_values(a, d);
        db_values_set(&v, API_F_VIF_VM, val_string(a, vm->ref));
        db_values_set(&v, API_F_VIF_currently_attached, val_bool(a, false));
        db_values_set(&v, API_F_VIF_current_operations, NULL);
        db_values_set(&v, API_F_VIF_MAC, vm_random_mac(a));
        db_values_set(&v, API_F_VIF_MAC_autogenerated, val_bool(a, true));
        vm_device_refresh(t, a, db, db_txn_create(t, API_C_VIF, &v, NULL));
    }
}

static struct rpc_reply vm_do_clone(struct xapi_call *c, const char *src_ref, const char *name,
                                    const char *op)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *src = vm_lookup(c, API_C_VM, src_ref, &reply);
    if (!src || vm_check_op(c->a, src, op, &reply) < 0 ||
        vm_clone_check_disks(c, src, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    struct db_obj *vm = vm_clone_record(t, c->a, src, name);
    vm_clone_vbds(t, c->a, c->x->db, src, vm);
    vm_clone_vifs(t, c->a, c->x->db, src, vm);
    vm_refresh_allowed(t, c->a, vm);
    log_info(c->log_ctx, "VM.%s %s: new VM %s (%s)", op, src->ref, vm->ref, name);
    return xapi_commit(c, t, val_string(c->a, vm->ref));
}

struct rpc_reply vm_clone(struct xapi_call *c)
{
    return vm_do_clone(c, xapi_arg_str(c, API_P_VM_clone_vm),
                       xapi_arg_str(c, API_P_VM_clone_new_name), "clone");
}

/* Without disks a copy is a clone; the SR argument matters once there are
 * disks to copy into it. */
struct rpc_reply vm_copy(struct xapi_call *c)
{
    return vm_do_clone(c, xapi_arg_str(c, API_P_VM_copy_vm),
                       xapi_arg_str(c, API_P_VM_copy_new_name), "copy");
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
    const struct val *disks = val_struct_get(db_obj_field(o, API_F_VM_other_config), "disks");
    struct val *srs;
    if (!disks || !*val_str(disks))
        return 0;
    if (vm_disks_parse(c->a, val_str(disks), &srs) < 0) {
        *reply = rpc_reply_error(c->a, API_ERR_INVALID_VALUE, "other_config:disks", val_str(disks),
                                 NULL);
        return -1;
    }
    const struct db_obj *pool = db_first(c->x->db, API_C_pool);
    for (size_t i = 0; i < srs->u.arr.n; i++) {
        const char *uuid = val_str(srs->u.arr.items[i]);
        const struct db_obj *sr = NULL;
        if (*uuid && !(sr = db_get_by_uuid(c->x->db, API_C_SR, uuid))) {
            *reply = rpc_reply_error(c->a, API_ERR_UUID_INVALID, "SR", uuid, NULL);
            return -1;
        }
        const char *dflt = pool ? db_obj_str(pool, API_F_pool_default_SR) : API_NULL_REF;
        if (!*uuid && !(sr = db_get(c->x->db, API_C_SR, dflt))) {
            *reply = rpc_reply_error(c->a, API_ERR_DEFAULT_SR_NOT_FOUND, dflt, NULL);
            return -1;
        }
        *reply = rpc_reply_error(c->a, API_ERR_SR_OPERATION_NOT_SUPPORTED, sr->ref, NULL);
        return -1;
    }
    return 0;
}

struct rpc_reply vm_provision(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, API_C_VM, xapi_arg_str(c, API_P_VM_provision_vm), &reply);
    if (!o || vm_check_op(c->a, o, "provision", &reply) < 0 ||
        vm_provision_disks(c, o, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    db_txn_update(t, o, API_F_VM_is_a_template, val_bool(c->a, false));
    vm_refresh_allowed(t, c->a, o);
    log_info(c->log_ctx, "VM.provision %s: provisioned", o->ref);
    return xapi_commit(c, t, val_nil(c->a));
}

/* --- the implicit messages' rules --- */

/* A destroyed VM takes what is its alone: devices, metrics, consoles. */
static void vm_destroy_belongings(struct db_txn *t, struct arena *a, struct db *db,
                                  struct db_obj *o)
{
    static const api_field_id sets[] = {API_F_VM_VBDs, API_F_VM_VIFs, API_F_VM_consoles};
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        /* a copy: each destroy edits the set it came from */
        const struct val *refs = val_copy(a, db_obj_field(o, sets[s]));
        int cls = api_field(sets[s])->type->elem->cls;
        for (size_t i = 0; i < refs->u.arr.n; i++) {
            struct db_obj *d = db_get(db, cls, val_str(refs->u.arr.items[i]));
            if (d)
                db_txn_destroy(t, d);
        }
    }
    static const api_field_id refs[] = {API_F_VM_metrics, API_F_VM_guest_metrics};
    for (size_t r = 0; r < sizeof(refs) / sizeof(refs[0]); r++) {
        struct db_obj *d = db_obj_follow(db, o, refs[r]);
        if (d)
            db_txn_destroy(t, d);
    }
}

/* A new VM has no domain, and metrics from the start. */
static int vm_created(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                      struct rpc_reply *reply)
{
    struct db_obj *m = db_txn_create(t, API_C_VM_metrics, NULL, NULL);
    db_txn_update(t, o, API_F_VM_metrics, val_string(c->a, m->ref));
    db_txn_update(t, o, API_F_VM_domid, val_int(c->a, -1));
    vm_refresh_allowed(t, c->a, o);
    return 0;
}

/* Upstream's make_into_template: only a halted VM, at rest, may become
 * one; a running template could never be stopped. */
static int vm_changed(struct xapi_call *c, struct db_txn *t, struct db_obj *o, api_field_id f,
                      struct rpc_reply *reply)
{
    if (f == API_F_VM_is_a_template && db_obj_bool(o, API_F_VM_is_a_template)) {
        const char *ps = db_obj_str(o, API_F_VM_power_state);
        if (strcmp(ps, "Halted") != 0) {
            *reply = rpc_reply_error(c->a, API_ERR_VM_BAD_POWER_STATE, o->ref, "halted",
                                     vm_power_lower(c->a, ps), NULL);
            return -1;
        }
        if (vm_busy(o)) {
            *reply = vm_busy_error(c->a, o);
            return -1;
        }
    }
    vm_refresh_allowed(t, c->a, o);
    return 0;
}

static int vm_destroying(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                         struct rpc_reply *reply)
{
    if (vm_check_op(c->a, o, "destroy", reply) < 0)
        return -1;
    if (db_obj_bool(o, API_F_VM_is_default_template)) {
        *reply = rpc_reply_error(c->a, API_ERR_VM_CANNOT_DELETE_DEFAULT_TEMPLATE, o->ref, NULL);
        return -1;
    }
    vm_destroy_belongings(t, c->a, c->x->db, o);
    return 0;
}

/* A VIF made without a MAC gets one of its own. */
static int vm_device_created(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                             struct rpc_reply *reply)
{
    if (o->cls == API_C_VIF && !*db_obj_str(o, API_F_VIF_MAC)) {
        db_txn_update(t, o, API_F_VIF_MAC, vm_random_mac(c->a));
        db_txn_update(t, o, API_F_VIF_MAC_autogenerated, val_bool(c->a, true));
    }
    vm_device_refresh(t, c->a, c->x->db, o);
    return 0;
}

static int vm_device_changed(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                             api_field_id f, struct rpc_reply *reply)
{
    vm_device_refresh(t, c->a, c->x->db, o);
    return 0;
}

/* A device plugged into a live VM must be unplugged before it goes. */
static int vm_device_destroying(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                                struct rpc_reply *reply)
{
    api_field_id attached =
        o->cls == API_C_VBD ? API_F_VBD_currently_attached : API_F_VIF_currently_attached;
    if (vm_busy(o) || (vm_is_live(vm_device_vm(c->x->db, o)) && db_obj_bool(o, attached))) {
        *reply = rpc_reply_error(
            c->a, API_ERR_OPERATION_NOT_ALLOWED,
            arena_printf(c->a, "%s is plugged into a running VM: unplug it first", o->ref), NULL);
        return -1;
    }
    return 0;
}

const struct xapi_class_hooks vm_class_hooks[] = {
    {API_C_VM, vm_created, vm_changed, vm_destroying},
    {API_C_VBD, vm_device_created, vm_device_changed, vm_device_destroying},
    {API_C_VIF, vm_device_created, vm_device_changed, vm_device_destroying},
    {-1, NULL, NULL, NULL},
};
