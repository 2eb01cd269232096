/*
 * vm_state.c - which operations a VM allows, and the operations in
 * progress.
 *
 * One table says in which power states each operation may run and whether
 * a template may do it. The same rules answer an operation's own check
 * and fill the allowed_operations clients read, so the two never
 * disagree. An operation is listed in current_operations from its check
 * (in the same transaction) to its end; while one is listed, every other
 * operation is refused, as allowed_operations then shows.
 */
#include "vm/vm.h"
#include "api/api_value.h"
#include "core/task.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Power states as bits, in the order of the schema's enum. */
enum {
    VM_PS_HALTED = 1,
    VM_PS_PAUSED = 2,
    VM_PS_RUNNING = 4,
    VM_PS_SUSPENDED = 8,
};

static const char *const vm_ps_names[] = {"halted", "paused", "running", "suspended"};

enum vm_tpl {
    VM_TPL_NO,   /* a template may not: VM_IS_TEMPLATE */
    VM_TPL_OK,   /* templates and VMs alike */
    VM_TPL_ONLY, /* templates only (provision) */
};

struct vm_rule {
    const char *op; /* a vm_operations value */
    unsigned states;
    enum vm_tpl tpl;
};

/* The operations this host implements. Upstream's states: a VM is cloned,
 * copied, destroyed and reconfigured while halted; a suspended VM can only
 * be resumed or shut down. */
static const struct vm_rule vm_rules[] = {
    {"changing_VCPUs", VM_PS_HALTED, VM_TPL_OK},
    {"changing_VCPUs_live", VM_PS_RUNNING, VM_TPL_NO},
    {"changing_dynamic_range", VM_PS_HALTED | VM_PS_RUNNING, VM_TPL_OK},
    {"changing_memory_limits", VM_PS_HALTED, VM_TPL_OK},
    {"changing_static_range", VM_PS_HALTED, VM_TPL_OK},
    {"clean_reboot", VM_PS_RUNNING, VM_TPL_NO},
    {"clean_shutdown", VM_PS_RUNNING, VM_TPL_NO},
    {"clone", VM_PS_HALTED, VM_TPL_OK},
    {"copy", VM_PS_HALTED, VM_TPL_OK},
    {"destroy", VM_PS_HALTED, VM_TPL_OK},
    {"hard_reboot", VM_PS_RUNNING | VM_PS_PAUSED, VM_TPL_NO},
    {"hard_shutdown", VM_PS_RUNNING | VM_PS_PAUSED | VM_PS_SUSPENDED, VM_TPL_NO},
    {"pause", VM_PS_RUNNING, VM_TPL_NO},
    {"provision", VM_PS_HALTED, VM_TPL_ONLY},
    {"resume", VM_PS_SUSPENDED, VM_TPL_NO},
    {"resume_on", VM_PS_SUSPENDED, VM_TPL_NO},
    {"shutdown", VM_PS_RUNNING | VM_PS_PAUSED | VM_PS_SUSPENDED, VM_TPL_NO},
    {"start", VM_PS_HALTED, VM_TPL_NO},
    {"start_on", VM_PS_HALTED, VM_TPL_NO},
    {"suspend", VM_PS_RUNNING, VM_TPL_NO},
    {"unpause", VM_PS_PAUSED, VM_TPL_NO},
};

#define VM_N_RULES (sizeof(vm_rules) / sizeof(vm_rules[0]))

/* --- fields --- */

struct db_obj *vm_lookup(struct xapi_call *c, int cls, const char *ref, struct rpc_reply *reply)
{
    struct db_obj *o = db_get(c->x->db, cls, ref);
    if (!o)
        *reply = xapi_handle_invalid(c, cls, ref);
    return o;
}

api_field_id vm_ops_field(int cls)
{
    switch (cls) {
    case API_C_VBD:
        return API_F_VBD_current_operations;
    case API_C_VIF:
        return API_F_VIF_current_operations;
    default:
        assert(cls == API_C_VM);
        return API_F_VM_current_operations;
    }
}

bool vm_busy(const struct db_obj *o)
{
    return db_obj_field(o, vm_ops_field(o->cls))->u.st.n > 0;
}

/* --- the rules --- */

static const struct vm_rule *vm_rule_find(const char *op)
{
    for (size_t i = 0; i < VM_N_RULES; i++)
        if (strcmp(vm_rules[i].op, op) == 0)
            return &vm_rules[i];
    return NULL;
}

static unsigned vm_power_bit(const char *power_state)
{
    static const char *const names[] = {"Halted", "Paused", "Running", "Suspended"};
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(names[i], power_state) == 0)
            return 1u << i;
    return 0;
}

/* The states in the lower case upstream's VM_BAD_POWER_STATE uses. */
static const char *vm_states_text(struct arena *a, unsigned states)
{
    const char *text = "";
    for (unsigned i = 0; i < 4; i++)
        if (states & (1u << i))
            text = arena_printf(a, "%s%s%s", text, *text ? ", " : "", vm_ps_names[i]);
    return text;
}

const char *vm_power_lower(struct arena *a, const char *power_state)
{
    return vm_states_text(a, vm_power_bit(power_state));
}

enum vm_refusal {
    VM_OK,
    VM_UNSUPPORTED,
    VM_CONTROL_DOMAIN,
    VM_TEMPLATE,
    VM_NOT_TEMPLATE,
    VM_BUSY,
    VM_POWER_STATE,
    VM_BLOCKED,
};

/* Upstream's order: a block the user set, then the power state, then
 * operations in progress, then what templates may do. */
static enum vm_refusal vm_refusal(const struct db_obj *o, const struct vm_rule *r)
{
    if (!r)
        return VM_UNSUPPORTED;
    if (db_obj_bool(o, API_F_VM_is_control_domain))
        return VM_CONTROL_DOMAIN;
    if (val_struct_get(db_obj_field(o, API_F_VM_blocked_operations), r->op))
        return VM_BLOCKED;
    if (!(vm_power_bit(db_obj_str(o, API_F_VM_power_state)) & r->states))
        return VM_POWER_STATE;
    if (vm_busy(o))
        return VM_BUSY;
    bool tpl = db_obj_bool(o, API_F_VM_is_a_template);
    if (tpl && r->tpl == VM_TPL_NO)
        return VM_TEMPLATE;
    if (!tpl && r->tpl == VM_TPL_ONLY)
        return VM_NOT_TEMPLATE;
    return VM_OK;
}

struct rpc_reply vm_busy_error(struct arena *a, const struct db_obj *o)
{
    const struct val *busy = db_obj_field(o, vm_ops_field(o->cls));
    const char *op_ref = busy->u.st.n ? busy->u.st.members[0].name : "";
    const char *op = busy->u.st.n ? val_str(busy->u.st.members[0].value) : "";
    return rpc_reply_error(a, API_ERR_OTHER_OPERATION_IN_PROGRESS, api_classes[o->cls].name, o->ref,
                           op ? op : "", op_ref, NULL);
}

/* An operation on one of the VM's devices keeps VM operations out (and
 * the other way round, vm_device.c). */
static int vm_devices_busy(struct arena *a, struct db *db, const struct db_obj *o,
                           struct rpc_reply *reply)
{
    static const api_field_id sets[] = {API_F_VM_VBDs, API_F_VM_VIFs};
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        const struct db_obj *d;
        for (size_t i = 0; (d = db_obj_next(db, o, sets[s], &i));) {
            if (vm_busy(d)) {
                *reply = vm_busy_error(a, d);
                return -1;
            }
        }
    }
    return 0;
}

int vm_check_op(struct arena *a, const struct db_obj *o, const char *op, struct rpc_reply *reply)
{
    const struct vm_rule *r = vm_rule_find(op);
    switch (vm_refusal(o, r)) {
    case VM_OK:
        return 0;
    case VM_UNSUPPORTED:
        *reply = rpc_reply_error(
            a, API_ERR_OPERATION_NOT_ALLOWED,
            arena_printf(a, "VM operation %s is not supported by this host", op), NULL);
        break;
    case VM_CONTROL_DOMAIN:
        *reply = rpc_reply_error(
            a, API_ERR_OPERATION_NOT_ALLOWED,
            arena_printf(a, "%s: the control domain is the host's own, not a guest", op), NULL);
        break;
    case VM_TEMPLATE:
        *reply = rpc_reply_error(a, API_ERR_VM_IS_TEMPLATE, o->ref, NULL);
        break;
    case VM_NOT_TEMPLATE:
        *reply = rpc_reply_error(a, API_ERR_PROVISION_ONLY_ALLOWED_ON_TEMPLATE, NULL);
        break;
    case VM_BUSY:
        *reply = vm_busy_error(a, o);
        break;
    case VM_POWER_STATE: {
        *reply =
            rpc_reply_error(a, API_ERR_VM_BAD_POWER_STATE, o->ref, vm_states_text(a, r->states),
                            vm_power_lower(a, db_obj_str(o, API_F_VM_power_state)), NULL);
        break;
    }
    case VM_BLOCKED:
        *reply = rpc_reply_error(
            a, API_ERR_OPERATION_BLOCKED, o->ref,
            val_str(val_struct_get(db_obj_field(o, API_F_VM_blocked_operations), op)), NULL);
        break;
    }
    return -1;
}

void vm_refresh_allowed(struct db_txn *t, struct arena *a, struct db_obj *o)
{
    struct val *ops = val_array(a);
    for (size_t i = 0; i < VM_N_RULES; i++)
        if (vm_refusal(o, &vm_rules[i]) == VM_OK)
            val_array_push(a, ops, val_string(a, vm_rules[i].op));
    db_txn_update(t, o, API_F_VM_allowed_operations, ops);
}

/* --- operations in progress --- */

struct rpc_reply vm_op_begin(struct xapi_call *c, const char *vm_ref, const char *op,
                             struct vm_op *out)
{
    memset(out, 0, sizeof(*out));
    out->c = c;
    out->op = op;
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = vm_lookup(c, API_C_VM, vm_ref, &reply);
    if (!o || vm_check_op(c->a, o, op, &reply) < 0 ||
        vm_devices_busy(c->a, c->x->db, o, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    snprintf(out->vm, sizeof(out->vm), "%s", o->ref);
    if (task_ref(c))
        snprintf(out->key, sizeof(out->key), "%s", task_ref(c));
    else
        ids_ref(out->key);
    struct val *ops = val_struct(c->a);
    val_struct_add(c->a, ops, out->key, val_string(c->a, op));
    db_txn_update(t, o, API_F_VM_current_operations, ops);
    vm_refresh_allowed(t, c->a, o);
    out->uuid = arena_strdup(c->a, db_obj_str(o, API_F_VM_uuid));
    out->power_state = arena_strdup(c->a, db_obj_str(o, API_F_VM_power_state));
    vm_describe(c->a, c->x->db, o, out);
    return xapi_commit(c, t, val_nil(c->a));
}

struct rpc_reply vm_op_end(struct vm_op *op, struct rpc_reply r, struct vm_view view)
{
    struct xapi_call *c = op->c;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_get(c->x->db, API_C_VM, op->vm);
    if (!o) { /* cannot happen: destroy waits for current_operations */
        db_abort(t);
        return r;
    }
    const struct val *cur = db_obj_field(o, API_F_VM_current_operations);
    struct val *rest = val_struct(c->a);
    for (size_t i = 0; i < cur->u.st.n; i++)
        if (strcmp(cur->u.st.members[i].name, op->key) != 0)
            val_struct_add(c->a, rest, cur->u.st.members[i].name, cur->u.st.members[i].value);
    db_txn_update(t, o, API_F_VM_current_operations, rest);
    if (view.known)
        vm_sync_apply(c->x, t, c->a, o, view.stat);
    vm_refresh_allowed(t, c->a, o);
    struct rpc_reply done = xapi_commit(c, t, val_nil(c->a));
    return done.error && !r.error ? done : r;
}
