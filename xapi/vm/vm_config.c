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

/* --- memory and vCPUs --- */

/* A setting a call leaves as it is. */
#define VM_KEEP INT64_MIN

struct vm_memory {
    int64_t static_min, static_max, dynamic_min, dynamic_max; /* or VM_KEEP */
};

static int64_t vm_pick(int64_t given, const struct db_obj *o, api_field_id field)
{
    return given != VM_KEEP ? given : db_obj_int(o, field);
}

/* vm's memory settings become m, in the power states op allows. */
static struct rpc_reply vm_memory_set(struct xapi_call *c, const char *vm, const char *op,
                                      struct vm_memory m)
{
    const int64_t given[] = {m.static_min, m.static_max, m.dynamic_min, m.dynamic_max};
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
        if (given[i] != VM_KEEP && given[i] < 0)
            return rpc_reply_error(c->a, API_ERR_MEMORY_CONSTRAINT_VIOLATION,
                                   "Memory sizes must not be negative", NULL);
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, API_C_VM, vm, &reply);
    if (!o || vm_check_op(c->a, o, op, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    m.static_min = vm_pick(m.static_min, o, API_F_VM_memory_static_min);
    m.static_max = vm_pick(m.static_max, o, API_F_VM_memory_static_max);
    m.dynamic_min = vm_pick(m.dynamic_min, o, API_F_VM_memory_dynamic_min);
    m.dynamic_max = vm_pick(m.dynamic_max, o, API_F_VM_memory_dynamic_max);
    if (!(0 <= m.static_min && m.static_min <= m.dynamic_min && m.dynamic_min <= m.dynamic_max &&
          m.dynamic_max <= m.static_max)) {
        db_abort(t);
        return rpc_reply_error(c->a, API_ERR_MEMORY_CONSTRAINT_VIOLATION,
                               "Memory limits must satisfy: static_min <= dynamic_min <= "
                               "dynamic_max <= static_max",
                               NULL);
    }
    /* A running guest's balloon moves: xenopsd first, then the fields.
     * Only the dynamic range changes while it runs, so the static limits
     * just checked still hold. */
    if (strcmp(db_obj_str(o, API_F_VM_power_state), "Running") == 0) {
        db_abort(t);
        return vm_set_memory_live(c, vm, m.dynamic_min, m.dynamic_max);
    }
    db_txn_update(t, o, API_F_VM_memory_static_min, val_int(c->a, m.static_min));
    db_txn_update(t, o, API_F_VM_memory_static_max, val_int(c->a, m.static_max));
    db_txn_update(t, o, API_F_VM_memory_dynamic_min, val_int(c->a, m.dynamic_min));
    db_txn_update(t, o, API_F_VM_memory_dynamic_max, val_int(c->a, m.dynamic_max));
    db_txn_update(t, o, API_F_VM_memory_target, val_int(c->a, m.dynamic_max));
    return xapi_commit(c, t, val_nil(c->a));
}

/* static_max, dynamic_min and dynamic_max all become value. */
struct rpc_reply vm_set_memory(struct xapi_call *c)
{
    int64_t v = xapi_arg_int(c, API_P_VM_set_memory_value);
    return vm_memory_set(c, xapi_arg_str(c, API_P_VM_set_memory_self), "changing_memory_limits",
                         (struct vm_memory){VM_KEEP, v, v, v});
}

struct rpc_reply vm_set_memory_limits(struct xapi_call *c)
{
    return vm_memory_set(c, xapi_arg_str(c, API_P_VM_set_memory_limits_self),
                         "changing_memory_limits",
                         (struct vm_memory){
                             xapi_arg_int(c, API_P_VM_set_memory_limits_static_min),
                             xapi_arg_int(c, API_P_VM_set_memory_limits_static_max),
                             xapi_arg_int(c, API_P_VM_set_memory_limits_dynamic_min),
                             xapi_arg_int(c, API_P_VM_set_memory_limits_dynamic_max),
                         });
}

struct rpc_reply vm_set_memory_static_range(struct xapi_call *c)
{
    return vm_memory_set(c, xapi_arg_str(c, API_P_VM_set_memory_static_range_self),
                         "changing_static_range",
                         (struct vm_memory){xapi_arg_int(c, API_P_VM_set_memory_static_range_min),
                                            xapi_arg_int(c, API_P_VM_set_memory_static_range_max),
                                            VM_KEEP, VM_KEEP});
}

struct rpc_reply vm_set_memory_dynamic_range(struct xapi_call *c)
{
    return vm_memory_set(
        c, xapi_arg_str(c, API_P_VM_set_memory_dynamic_range_self), "changing_dynamic_range",
        (struct vm_memory){VM_KEEP, VM_KEEP, xapi_arg_int(c, API_P_VM_set_memory_dynamic_range_min),
                           xapi_arg_int(c, API_P_VM_set_memory_dynamic_range_max)});
}

struct rpc_reply vm_set_memory_static_max(struct xapi_call *c)
{
    return vm_memory_set(
        c, xapi_arg_str(c, API_P_VM_set_memory_static_max_self), "changing_static_range",
        (struct vm_memory){VM_KEEP, xapi_arg_int(c, API_P_VM_set_memory_static_max_value), VM_KEEP,
                           VM_KEEP});
}

struct rpc_reply vm_set_memory_static_min(struct xapi_call *c)
{
    return vm_memory_set(c, xapi_arg_str(c, API_P_VM_set_memory_static_min_self),
                         "changing_static_range",
                         (struct vm_memory){xapi_arg_int(c, API_P_VM_set_memory_static_min_value),
                                            VM_KEEP, VM_KEEP, VM_KEEP});
}

struct rpc_reply vm_set_memory_dynamic_max(struct xapi_call *c)
{
    return vm_memory_set(
        c, xapi_arg_str(c, API_P_VM_set_memory_dynamic_max_self), "changing_dynamic_range",
        (struct vm_memory){VM_KEEP, VM_KEEP, VM_KEEP,
                           xapi_arg_int(c, API_P_VM_set_memory_dynamic_max_value)});
}

struct rpc_reply vm_set_memory_dynamic_min(struct xapi_call *c)
{
    return vm_memory_set(
        c, xapi_arg_str(c, API_P_VM_set_memory_dynamic_min_self), "changing_dynamic_range",
        (struct vm_memory){VM_KEEP, VM_KEEP, xapi_arg_int(c, API_P_VM_set_memory_dynamic_min_value),
                           VM_KEEP});
}

/* VCPUs_max or VCPUs_at_startup (field) of vm becomes v, keeping
 * 1 <= at_startup <= max. */
static struct rpc_reply vm_vcpus_set(struct xapi_call *c, const char *vm, api_field_id field,
                                     int64_t v)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, API_C_VM, vm, &reply);
    if (!o || vm_check_op(c->a, o, "changing_VCPUs", &reply) < 0) {
        db_abort(t);
        return reply;
    }
    bool max = field == API_F_VM_VCPUs_max;
    int64_t at_startup = max ? db_obj_int(o, API_F_VM_VCPUs_at_startup) : v;
    int64_t vcpus_max = max ? v : db_obj_int(o, API_F_VM_VCPUs_max);
    if (v < 1 || at_startup > vcpus_max) {
        db_abort(t);
        return rpc_reply_error(c->a, API_ERR_INVALID_VALUE, api_field(field)->name,
                               arena_printf(c->a, "%lld", (long long)v), NULL);
    }
    db_txn_update(t, o, field, val_int(c->a, v));
    return xapi_commit(c, t, val_nil(c->a));
}

struct rpc_reply vm_set_vcpus_max(struct xapi_call *c)
{
    return vm_vcpus_set(c, xapi_arg_str(c, API_P_VM_set_VCPUs_max_self), API_F_VM_VCPUs_max,
                        xapi_arg_int(c, API_P_VM_set_VCPUs_max_value));
}

struct rpc_reply vm_set_vcpus_at_startup(struct xapi_call *c)
{
    return vm_vcpus_set(c, xapi_arg_str(c, API_P_VM_set_VCPUs_at_startup_self),
                        API_F_VM_VCPUs_at_startup,
                        xapi_arg_int(c, API_P_VM_set_VCPUs_at_startup_value));
}

/* --- device slots --- */

/* The numbers below the slots that none of vm's devices (set: VBDs or
 * VIFs) uses in its slot field, as text. */
static struct rpc_reply vm_free_slots(struct xapi_call *c, const char *vm, api_field_id set,
                                      api_field_id slot_field, int slots_pv, int slots_emulated)
{
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o = vm_lookup(c, API_C_VM, vm, &reply);
    if (!o) {
        db_read_unlock(c->x->db);
        return reply;
    }
    const struct db_obj *gm = db_obj_follow(c->x->db, o, API_F_VM_guest_metrics);
    bool pv = !*db_obj_str(o, API_F_VM_HVM_boot_policy) ||
              (gm && db_obj_bool(gm, API_F_VM_guest_metrics_PV_drivers_detected));
    int slots = pv ? slots_pv : slots_emulated;
    bool used[VM_VBD_SLOTS_PV] = {false};
    const struct db_obj *d;
    for (size_t i = 0; (d = db_obj_next(c->x->db, o, set, &i));) {
        int n = -1;
        if (sscanf(db_obj_str(d, slot_field), "%d", &n) == 1 && n >= 0 && n < slots)
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
    return vm_free_slots(c, xapi_arg_str(c, API_P_VM_get_allowed_VBD_devices_vm), API_F_VM_VBDs,
                         API_F_VBD_userdevice, VM_VBD_SLOTS_PV, VM_VBD_SLOTS_EMULATED);
}

struct rpc_reply vm_get_allowed_vif_devices(struct xapi_call *c)
{
    return vm_free_slots(c, xapi_arg_str(c, API_P_VM_get_allowed_VIF_devices_vm), API_F_VM_VIFs,
                         API_F_VIF_device, VM_VIF_SLOTS, VM_VIF_SLOTS);
}

/* --- what a boot needs --- */

/* Whether sr is plugged on this host (through an attached PBD). */
static bool vm_sr_here(struct xapi_call *c, const struct db_obj *sr)
{
    const struct db_obj *pbd;
    for (size_t i = 0; (pbd = db_obj_next(c->x->db, sr, API_F_SR_PBDs, &i));)
        if (strcmp(db_obj_str(pbd, API_F_PBD_host), c->x->id.host_ref) == 0 &&
            db_obj_bool(pbd, API_F_PBD_currently_attached))
            return true;
    return false;
}

/* Each disk's SR plugged here and each VIF's network known; hold the lock. */
static struct rpc_reply vm_check_resources(struct xapi_call *c, const struct db_obj *o)
{
    const struct db_obj *vbd, *vif;
    for (size_t i = 0; (vbd = db_obj_next(c->x->db, o, API_F_VM_VBDs, &i));) {
        const struct db_obj *vdi = db_obj_follow(c->x->db, vbd, API_F_VBD_VDI);
        if (!vdi)
            continue;
        const struct db_obj *sr = db_obj_follow(c->x->db, vdi, API_F_VDI_SR);
        if (!sr || !vm_sr_here(c, sr))
            return rpc_reply_error(c->a, API_ERR_VM_REQUIRES_SR, o->ref,
                                   db_obj_str(vdi, API_F_VDI_SR), NULL);
    }
    for (size_t i = 0; (vif = db_obj_next(c->x->db, o, API_F_VM_VIFs, &i));)
        if (!db_obj_follow(c->x->db, vif, API_F_VIF_network))
            return rpc_reply_error(c->a, API_ERR_VM_REQUIRES_NETWORK, o->ref,
                                   db_obj_str(vif, API_F_VIF_network), NULL);
    return rpc_reply_ok(val_nil(c->a));
}

struct rpc_reply vm_check_boot(struct xapi_call *c, const char *vm_ref)
{
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o = vm_lookup(c, API_C_VM, vm_ref, &reply);
    if (o)
        reply = vm_check_resources(c, o);
    db_read_unlock(c->x->db);
    return reply;
}

/* Its resources, then the host's free memory against memory_static_max,
 * which a start reserves. */
struct rpc_reply vm_assert_can_boot_here(struct xapi_call *c)
{
    const char *vm = xapi_arg_str(c, API_P_VM_assert_can_boot_here_self);
    const char *host = xapi_arg_str(c, API_P_VM_assert_can_boot_here_host);
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o = vm_lookup(c, API_C_VM, vm, &reply);
    bool host_known = db_get(c->x->db, API_C_host, host) != NULL;
    bool tpl = o && db_obj_bool(o, API_F_VM_is_a_template);
    int64_t needed = o ? db_obj_int(o, API_F_VM_memory_static_max) : 0;
    if (o && !tpl && host_known)
        reply = vm_check_resources(c, o);
    db_read_unlock(c->x->db);
    if (!o)
        return reply;
    if (!host_known)
        return xapi_handle_invalid(c, API_C_host, host);
    if (tpl)
        return rpc_reply_error(c->a, API_ERR_VM_IS_TEMPLATE, vm, NULL);
    if (reply.error)
        return reply;
    struct rpc_reply st = xenops_call(c->x, c->a, "HOST.stat", NULL);
    if (st.error)
        return st;
    const struct val *free_v = val_struct_get(st.value, "memory_free");
    int64_t available = free_v && free_v->type == VAL_INT ? free_v->u.i : 0;
    if (needed > available)
        return rpc_reply_error(c->a, API_ERR_HOST_NOT_ENOUGH_FREE_MEMORY,
                               arena_printf(c->a, "%lld", (long long)needed),
                               arena_printf(c->a, "%lld", (long long)available), NULL);
    return rpc_reply_ok(val_nil(c->a));
}

struct rpc_reply vm_assert_operation_valid(struct xapi_call *c)
{
    struct rpc_reply reply;
    db_read_lock(c->x->db);
    const struct db_obj *o =
        vm_lookup(c, API_C_VM, xapi_arg_str(c, API_P_VM_assert_operation_valid_self), &reply);
    if (o && vm_check_op(c->a, o, xapi_arg_str(c, API_P_VM_assert_operation_valid_op), &reply) == 0)
        reply = rpc_reply_ok(val_nil(c->a));
    db_read_unlock(c->x->db);
    return reply;
}

struct rpc_reply vm_update_allowed_operations(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o =
        vm_lookup(c, API_C_VM, xapi_arg_str(c, API_P_VM_update_allowed_operations_self), &reply);
    if (!o) {
        db_abort(t);
        return reply;
    }
    vm_refresh_allowed(t, c->a, o);
    return xapi_commit(c, t, val_nil(c->a));
}
