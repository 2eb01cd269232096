/*
 * vm_config.c - a VM's configuration and what it needs to boot: memory
 * and vCPU settings (within the power states their operation allows),
 * the device slots still free, and the checks before a start.
 *
 * Memory always keeps upstream's order, static_min <= dynamic_min <=
 * dynamic_max <= static_max; a change that would break it is refused as a
 * whole.
 */
#include "vm/vm.h"
#include "api/api_value.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/* Upstream's device slots: an HVM guest without PV drivers has the four
 * emulated IDE disks; with them, or a PV guest, 16. */
#define VM_VBD_SLOTS_EMULATED 4
#define VM_VBD_SLOTS_PV 16
#define VM_VIF_SLOTS 7

static int vm_cls(void)
{
    return api_class_find("VM");
}

/* --- memory and vCPUs --- */

/* -1: unchanged. */
struct vm_memory {
    int64_t static_min, static_max, dynamic_min, dynamic_max;
};

static int64_t vm_pick(int64_t given, const struct db_obj *o, const char *field)
{
    return given >= 0 ? given : vm_field_int(o, field);
}

static struct rpc_reply vm_memory_set(struct xapi_call *c, const char *op, struct vm_memory m)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    if (!o || vm_check_op(c->a, o, op, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    m.static_min = vm_pick(m.static_min, o, "memory_static_min");
    m.static_max = vm_pick(m.static_max, o, "memory_static_max");
    m.dynamic_min = vm_pick(m.dynamic_min, o, "memory_dynamic_min");
    m.dynamic_max = vm_pick(m.dynamic_max, o, "memory_dynamic_max");
    if (!(0 <= m.static_min && m.static_min <= m.dynamic_min && m.dynamic_min <= m.dynamic_max &&
          m.dynamic_max <= m.static_max)) {
        db_abort(t);
        return rpc_reply_error(c->a, "MEMORY_CONSTRAINT_VIOLATION",
                               "Memory limits must satisfy: static_min <= dynamic_min <= "
                               "dynamic_max <= static_max",
                               NULL);
    }
    /* A running guest's balloon moves: xenopsd first, then the fields.
     * Only the dynamic range changes while it runs, so the static limits
     * just checked still hold. */
    if (strcmp(vm_field_str(o, "power_state"), "Running") == 0) {
        db_abort(t);
        return vm_set_memory_live(c, m.dynamic_min, m.dynamic_max);
    }
    vm_field_set(t, o, "memory_static_min", val_int(c->a, m.static_min));
    vm_field_set(t, o, "memory_static_max", val_int(c->a, m.static_max));
    vm_field_set(t, o, "memory_dynamic_min", val_int(c->a, m.dynamic_min));
    vm_field_set(t, o, "memory_dynamic_max", val_int(c->a, m.dynamic_max));
    vm_field_set(t, o, "memory_target", val_int(c->a, m.dynamic_max));
    return xapi_commit(c, t, val_nil(c->a));
}

static int64_t vm_int_arg(const struct xapi_call *c, size_t i)
{
    return c->args[i]->u.i;
}

/* A negative size is never valid (and would mean "unchanged" below). */
static bool vm_sizes_ok(const struct xapi_call *c, size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++)
        if (vm_int_arg(c, i) < 0)
            return false;
    return true;
}

#define VM_SIZES_CHECK(c, first, n)                                                                \
    do {                                                                                           \
        if (!vm_sizes_ok(c, first, n))                                                             \
            return rpc_reply_error((c)->a, "MEMORY_CONSTRAINT_VIOLATION",                          \
                                   "Memory sizes must not be negative", NULL);                     \
    } while (0)

/* static_max, dynamic_min and dynamic_max all become value. */
struct rpc_reply vm_set_memory(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 1);
    int64_t v = vm_int_arg(c, 2);
    return vm_memory_set(c, "changing_memory_limits", (struct vm_memory){-1, v, v, v});
}

struct rpc_reply vm_set_memory_limits(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 4);
    return vm_memory_set(
        c, "changing_memory_limits",
        (struct vm_memory){vm_int_arg(c, 2), vm_int_arg(c, 3), vm_int_arg(c, 4), vm_int_arg(c, 5)});
}

struct rpc_reply vm_set_memory_static_range(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 2);
    return vm_memory_set(c, "changing_static_range",
                         (struct vm_memory){vm_int_arg(c, 2), vm_int_arg(c, 3), -1, -1});
}

struct rpc_reply vm_set_memory_dynamic_range(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 2);
    return vm_memory_set(c, "changing_dynamic_range",
                         (struct vm_memory){-1, -1, vm_int_arg(c, 2), vm_int_arg(c, 3)});
}

struct rpc_reply vm_set_memory_static_max(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 1);
    return vm_memory_set(c, "changing_static_range",
                         (struct vm_memory){-1, vm_int_arg(c, 2), -1, -1});
}

struct rpc_reply vm_set_memory_static_min(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 1);
    return vm_memory_set(c, "changing_static_range",
                         (struct vm_memory){vm_int_arg(c, 2), -1, -1, -1});
}

struct rpc_reply vm_set_memory_dynamic_max(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 1);
    return vm_memory_set(c, "changing_dynamic_range",
                         (struct vm_memory){-1, -1, -1, vm_int_arg(c, 2)});
}

struct rpc_reply vm_set_memory_dynamic_min(struct xapi_call *c)
{
    VM_SIZES_CHECK(c, 2, 1);
    return vm_memory_set(c, "changing_dynamic_range",
                         (struct vm_memory){-1, -1, vm_int_arg(c, 2), -1});
}

/* VCPUs_max or VCPUs_at_startup (field), keeping 1 <= at_startup <= max. */
static struct rpc_reply vm_vcpus_set(struct xapi_call *c, const char *field)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    if (!o || vm_check_op(c->a, o, "changing_VCPUs", &reply) < 0) {
        db_abort(t);
        return reply;
    }
    int64_t v = vm_int_arg(c, 2);
    bool max = strcmp(field, "VCPUs_max") == 0;
    int64_t at_startup = max ? vm_field_int(o, "VCPUs_at_startup") : v;
    int64_t vcpus_max = max ? v : vm_field_int(o, "VCPUs_max");
    if (v < 1 || at_startup > vcpus_max) {
        db_abort(t);
        return rpc_reply_error(c->a, "INVALID_VALUE", field,
                               arena_printf(c->a, "%lld", (long long)v), NULL);
    }
    vm_field_set(t, o, field, val_int(c->a, v));
    return xapi_commit(c, t, val_nil(c->a));
}

struct rpc_reply vm_set_vcpus_max(struct xapi_call *c)
{
    return vm_vcpus_set(c, "VCPUs_max");
}

struct rpc_reply vm_set_vcpus_at_startup(struct xapi_call *c)
{
    return vm_vcpus_set(c, "VCPUs_at_startup");
}

/* --- device slots --- */

/* The numbers below slots that none of the VM's devices in set uses, as
 * text. */
static struct rpc_reply vm_free_slots(struct xapi_call *c, const char *set, const char *cls_name,
                                      const char *slot_field, int slots_pv, int slots_emulated)
{
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    if (!o) {
        db_read_unlock(c->x->db);
        return reply;
    }
    const struct db_obj *gm =
        db_get(c->x->db, api_class_find("VM_guest_metrics"), vm_field_str(o, "guest_metrics"));
    bool pv =
        !*vm_field_str(o, "HVM_boot_policy") || (gm && vm_field_bool(gm, "PV_drivers_detected"));
    int slots = pv ? slots_pv : slots_emulated;
    bool used[VM_VBD_SLOTS_PV] = {false};
    const struct val *refs = vm_field(o, set);
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        const struct db_obj *d =
            db_get(c->x->db, api_class_find(cls_name), val_str(refs->u.arr.items[i]));
        int n = -1;
        if (d && sscanf(vm_field_str(d, slot_field), "%d", &n) == 1 && n >= 0 && n < slots)
            used[n] = true;
    }
    db_read_unlock(c->x->db);
    struct val *out = val_array(c->a);
    for (int n = 0; n < slots; n++)
        if (!used[n])
            val_array_push(c->a, out, val_string(c->a, arena_printf(c->a, "%d", n)));
    return rpc_reply_ok(out);
}

struct rpc_reply vm_get_allowed_vbd_devices(struct xapi_call *c)
{
    return vm_free_slots(c, "VBDs", "VBD", "userdevice", VM_VBD_SLOTS_PV, VM_VBD_SLOTS_EMULATED);
}

struct rpc_reply vm_get_allowed_vif_devices(struct xapi_call *c)
{
    return vm_free_slots(c, "VIFs", "VIF", "device", VM_VIF_SLOTS, VM_VIF_SLOTS);
}

/* --- what a boot needs --- */

/* Whether sr is plugged on this host (through an attached PBD). */
static bool vm_sr_here(struct xapi_call *c, const struct db_obj *sr)
{
    const struct val *pbds = vm_field(sr, "PBDs");
    for (size_t i = 0; i < pbds->u.arr.n; i++) {
        const struct db_obj *pbd =
            db_get(c->x->db, api_class_find("PBD"), val_str(pbds->u.arr.items[i]));
        if (pbd && strcmp(vm_field_str(pbd, "host"), c->x->id.host_ref) == 0 &&
            vm_field_bool(pbd, "currently_attached"))
            return true;
    }
    return false;
}

/* Each disk's SR plugged here and each VIF's network known; hold the lock. */
static struct rpc_reply vm_check_resources(struct xapi_call *c, const struct db_obj *o)
{
    const struct val *vbds = vm_field(o, "VBDs"), *vifs = vm_field(o, "VIFs");
    for (size_t i = 0; i < vbds->u.arr.n; i++) {
        const struct db_obj *vbd =
            db_get(c->x->db, api_class_find("VBD"), val_str(vbds->u.arr.items[i]));
        const struct db_obj *vdi =
            vbd ? db_get(c->x->db, api_class_find("VDI"), vm_field_str(vbd, "VDI")) : NULL;
        if (!vdi)
            continue;
        const struct db_obj *sr = db_get(c->x->db, api_class_find("SR"), vm_field_str(vdi, "SR"));
        if (!sr || !vm_sr_here(c, sr))
            return rpc_reply_error(c->a, "VM_REQUIRES_SR", o->ref, vm_field_str(vdi, "SR"), NULL);
    }
    for (size_t i = 0; i < vifs->u.arr.n; i++) {
        const struct db_obj *vif =
            db_get(c->x->db, api_class_find("VIF"), val_str(vifs->u.arr.items[i]));
        if (vif && !db_get(c->x->db, api_class_find("network"), vm_field_str(vif, "network")))
            return rpc_reply_error(c->a, "VM_REQUIRES_NETWORK", o->ref,
                                   vm_field_str(vif, "network"), NULL);
    }
    return rpc_reply_ok(val_nil(c->a));
}

struct rpc_reply vm_check_boot(struct xapi_call *c, const char *vm_ref)
{
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o = vm_lookup(c, vm_cls(), vm_ref, &reply);
    if (o)
        reply = vm_check_resources(c, o);
    db_read_unlock(c->x->db);
    return reply;
}

/* Its resources, then the host's free memory against memory_static_max,
 * which a start reserves. */
struct rpc_reply vm_assert_can_boot_here(struct xapi_call *c)
{
    const char *host = val_str(c->args[2]);
    int host_cls = api_class_find("host");
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    bool host_known = db_get(c->x->db, host_cls, host) != NULL;
    bool tpl = o && vm_field_bool(o, "is_a_template");
    int64_t needed = o ? vm_field_int(o, "memory_static_max") : 0;
    if (o && !tpl && host_known)
        reply = vm_check_resources(c, o);
    db_read_unlock(c->x->db);
    if (!o)
        return reply;
    if (!host_known)
        return xapi_handle_invalid(c, host_cls, host);
    if (tpl)
        return rpc_reply_error(c->a, "VM_IS_TEMPLATE", val_str(c->args[1]), NULL);
    if (reply.error)
        return reply;
    struct rpc_reply st = xenops_call(c->x, c->a, "HOST.stat", NULL);
    if (st.error)
        return st;
    const struct val *free_v = val_struct_get(st.value, "memory_free");
    int64_t available = free_v && free_v->type == VAL_INT ? free_v->u.i : 0;
    if (needed > available)
        return rpc_reply_error(c->a, "HOST_NOT_ENOUGH_FREE_MEMORY",
                               arena_printf(c->a, "%lld", (long long)needed),
                               arena_printf(c->a, "%lld", (long long)available), NULL);
    return rpc_reply_ok(val_nil(c->a));
}

struct rpc_reply vm_assert_operation_valid(struct xapi_call *c)
{
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    if (o && vm_check_op(c->a, o, val_str(c->args[2]), &reply) == 0)
        reply = rpc_reply_ok(val_nil(c->a));
    db_read_unlock(c->x->db);
    return reply;
}

struct rpc_reply vm_update_allowed_operations(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, vm_cls(), val_str(c->args[1]), &reply);
    if (!o) {
        db_abort(t);
        return reply;
    }
    vm_refresh_allowed(t, c->a, o);
    return xapi_commit(c, t, val_nil(c->a));
}
