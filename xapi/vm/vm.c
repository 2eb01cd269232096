/*
 * vm.c - the VM lifecycle: start, shutdown, reboot, suspend, resume,
 * pause and unpause, each through xenopsd; and the table of every VM, VBD
 * and VIF message the vm_*.c modules implement.
 *
 * Each operation has the same shape: check and list it in
 * current_operations (vm_op_begin), register the VM with xenopsd where it
 * may not be (before a start or a resume), run xenopsd's task, then write
 * what VM.stat says and end (vm_op_end). A VM that ends halted is taken
 * off xenopsd, as upstream: xenopsd knows the VMs that have a domain or a
 * suspended image to resume.
 */
#include "vm/vm.h"
#include "core/module.h"
#include "hostdir.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* How long a guest has to act on control/shutdown before xenopsd stops it
 * hard (upstream's default). */
#define VM_CLEAN_TIMEOUT_S 1200

/* The VM's suspend image: STATE/suspend/<uuid>, until suspend VDIs come
 * with storage. */
static const char *vm_suspend_path(struct xapi *x, struct arena *a, const char *uuid)
{
    return arena_printf(a, "%s/suspend/%s", x->state_dir, uuid);
}

static bool vm_stat_is(const struct vm_view *v, const char *power_state)
{
    const char *ps = v->stat ? val_str(val_struct_get(v->stat, "power_state")) : NULL;
    return ps && strcmp(ps, power_state) == 0;
}

/* xenopsd names a VM by its uuid; xapi's clients know it by its ref. */
static void vm_error_names_ref(struct vm_op *op, struct rpc_reply *r)
{
    for (size_t i = 1; r->error && i < r->error->u.arr.n; i++) {
        const char *p = val_str(r->error->u.arr.items[i]);
        if (p && strcmp(p, op->uuid) == 0)
            r->error->u.arr.items[i] = val_string(op->c->a, op->vm);
    }
}

/* Reads back the VM's state, takes it off xenopsd once halted (a
 * suspended VM stays: xenopsd resumes what it suspended), and ends the
 * operation. */
static struct rpc_reply vm_finish(struct vm_op *op, struct rpc_reply r)
{
    struct xapi_call *c = op->c;
    struct vm_view view = vm_view_get(c->x, c->a, op->uuid);
    if (vm_stat_is(&view, "Running") || vm_stat_is(&view, "Paused"))
        vm_devices_sync(op);
    if (vm_stat_is(&view, "Halted"))
        vm_unregister(op);
    vm_error_names_ref(op, &r);
    if (!r.error)
        r = rpc_reply_ok(val_nil(c->a));
    if (r.error)
        log_info(c->log_ctx, "%s %s: %s", c->m->wire_name, op->uuid,
                 val_str(r.error->u.arr.items[0]));
    else
        log_info(c->log_ctx, "%s %s: done", c->m->wire_name, op->uuid);
    return vm_op_end(op, r, view);
}

/* The host argument of start_on and resume_on: a host (the dispatch
 * policy stage has sent the call to it, so it is this one). */
static struct rpc_reply vm_check_host(struct xapi_call *c, const char *host)
{
    db_read_lock(c->x->db);
    bool known = db_get(c->x->db, API_C_host, host) != NULL;
    db_read_unlock(c->x->db);
    if (!known)
        return xapi_handle_invalid(c, API_C_host, host);
    return rpc_reply_ok(val_nil(c->a));
}

/* --- start --- */

static struct rpc_reply vm_do_start(struct xapi_call *c, const char *vm, const char *opname,
                                    bool paused)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, vm, opname, &op);
    if (r.error)
        return r;
    r = vm_check_boot(c, vm);
    if (!r.error)
        r = vm_register(&op);
    if (!r.error)
        r = xenops_run(c, "VM.start", xenops_args(c->a, op.uuid, val_bool(c->a, paused)));
    return vm_finish(&op, r);
}

static struct rpc_reply vm_start(struct xapi_call *c)
{
    return vm_do_start(c, xapi_arg_str(c, API_P_VM_start_vm), "start",
                       xapi_arg_bool(c, API_P_VM_start_start_paused));
}

static struct rpc_reply vm_start_on(struct xapi_call *c)
{
    struct rpc_reply r = vm_check_host(c, xapi_arg_str(c, API_P_VM_start_on_host));
    return r.error ? r
                   : vm_do_start(c, xapi_arg_str(c, API_P_VM_start_on_vm), "start_on",
                                 xapi_arg_bool(c, API_P_VM_start_on_start_paused));
}

/* --- shutdown and reboot --- */

/* clean: a timeout for the guest to act, after which xenopsd stops it
 * hard; null: hard at once. */
static struct val *vm_clean_timeout(struct arena *a, bool clean)
{
    return clean ? val_int(a, VM_CLEAN_TIMEOUT_S) : val_nil(a);
}

/* The operations that are one xenopsd call on the VM, with arg after its
 * id (NULL: none). */
static struct rpc_reply vm_do_simple(struct xapi_call *c, const char *vm, const char *opname,
                                     const char *method, struct val *arg)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, vm, opname, &op);
    if (r.error)
        return r;
    r = xenops_run(c, method, xenops_args(c->a, op.uuid, arg));
    return vm_finish(&op, r);
}

/* A suspended VM has no domain: shutting it down discards its image,
 * once xenopsd has let go of it (else it would resume one day from an
 * image that is gone). */
static struct rpc_reply vm_discard_suspended(struct vm_op *op)
{
    struct xapi_call *c = op->c;
    if (!vm_unregister(op)) {
        struct rpc_reply r = rpc_reply_error(
            c->a, API_ERR_INTERNAL_ERROR,
            arena_printf(c->a, "xenopsd still holds the suspended VM %s", op->uuid), NULL);
        return vm_op_end(op, r, (struct vm_view){false, NULL});
    }
    const char *path = vm_suspend_path(c->x, c->a, op->uuid);
    if (unlink(path) < 0 && errno != ENOENT)
        log_warn(c->log_ctx, "cannot remove the suspend image %s: %s", path, strerror(errno));
    struct val *halted = val_struct(c->a);
    val_struct_add(c->a, halted, "power_state", val_string(c->a, "Halted"));
    val_struct_add(c->a, halted, "domid", val_int(c->a, -1));
    log_info(c->log_ctx, "%s %s: suspended image discarded", c->m->wire_name, op->uuid);
    return vm_op_end(op, rpc_reply_ok(val_nil(c->a)), (struct vm_view){true, halted});
}

/* clean: through the guest, falling back to hard after the timeout. */
static struct rpc_reply vm_do_shutdown(struct xapi_call *c, const char *vm, const char *opname,
                                       bool clean)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, vm, opname, &op);
    if (r.error)
        return r;
    if (strcmp(op.power_state, "Suspended") == 0)
        return vm_discard_suspended(&op);
    /* A paused guest cannot answer a request: only a hard stop works. */
    clean = clean && strcmp(op.power_state, "Running") == 0;
    r = xenops_run(c, "VM.shutdown", xenops_args(c->a, op.uuid, vm_clean_timeout(c->a, clean)));
    return vm_finish(&op, r);
}

static struct rpc_reply vm_clean_shutdown(struct xapi_call *c)
{
    return vm_do_shutdown(c, xapi_arg_str(c, API_P_VM_clean_shutdown_vm), "clean_shutdown", true);
}

static struct rpc_reply vm_hard_shutdown(struct xapi_call *c)
{
    return vm_do_shutdown(c, xapi_arg_str(c, API_P_VM_hard_shutdown_vm), "hard_shutdown", false);
}

static struct rpc_reply vm_shutdown(struct xapi_call *c)
{
    return vm_do_shutdown(c, xapi_arg_str(c, API_P_VM_shutdown_vm), "shutdown", true);
}

static struct rpc_reply vm_clean_reboot(struct xapi_call *c)
{
    return vm_do_simple(c, xapi_arg_str(c, API_P_VM_clean_reboot_vm), "clean_reboot", "VM.reboot",
                        vm_clean_timeout(c->a, true));
}

static struct rpc_reply vm_hard_reboot(struct xapi_call *c)
{
    return vm_do_simple(c, xapi_arg_str(c, API_P_VM_hard_reboot_vm), "hard_reboot", "VM.reboot",
                        vm_clean_timeout(c->a, false));
}

/* --- suspend and resume --- */

static struct rpc_reply vm_suspend(struct xapi_call *c)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, xapi_arg_str(c, API_P_VM_suspend_vm), "suspend", &op);
    if (r.error)
        return r;
    const char *dir = arena_printf(c->a, "%s/suspend", c->x->state_dir);
    if (hostdir_mkdirs(dir, 0700) < 0)
        r = rpc_reply_error(c->a, API_ERR_INTERNAL_ERROR,
                            arena_printf(c->a, "cannot create %s: %s", dir, strerror(errno)), NULL);
    else
        r = xenops_run(
            c, "VM.suspend",
            xenops_args(c->a, op.uuid, val_string(c->a, vm_suspend_path(c->x, c->a, op.uuid))));
    return vm_finish(&op, r);
}

static struct rpc_reply vm_do_resume(struct xapi_call *c, const char *vm, const char *opname,
                                     bool paused)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, vm, opname, &op);
    if (r.error)
        return r;
    const char *path = vm_suspend_path(c->x, c->a, op.uuid);
    r = vm_register(&op);
    if (!r.error)
        r = xenops_run(c, "VM.resume", xenops_args(c->a, op.uuid, val_string(c->a, path)));
    if (!r.error && unlink(path) < 0 && errno != ENOENT)
        log_warn(c->log_ctx, "cannot remove the suspend image %s: %s", path, strerror(errno));
    if (!r.error && paused)
        r = xenops_run(c, "VM.pause", xenops_args(c->a, op.uuid, NULL));
    return vm_finish(&op, r);
}

static struct rpc_reply vm_resume(struct xapi_call *c)
{
    return vm_do_resume(c, xapi_arg_str(c, API_P_VM_resume_vm), "resume",
                        xapi_arg_bool(c, API_P_VM_resume_start_paused));
}

static struct rpc_reply vm_resume_on(struct xapi_call *c)
{
    struct rpc_reply r = vm_check_host(c, xapi_arg_str(c, API_P_VM_resume_on_host));
    return r.error ? r
                   : vm_do_resume(c, xapi_arg_str(c, API_P_VM_resume_on_vm), "resume_on",
                                  xapi_arg_bool(c, API_P_VM_resume_on_start_paused));
}

/* --- pause --- */

static struct rpc_reply vm_pause(struct xapi_call *c)
{
    return vm_do_simple(c, xapi_arg_str(c, API_P_VM_pause_vm), "pause", "VM.pause", NULL);
}

static struct rpc_reply vm_unpause(struct xapi_call *c)
{
    return vm_do_simple(c, xapi_arg_str(c, API_P_VM_unpause_vm), "unpause", "VM.unpause", NULL);
}

/* --- live changes --- */

/* A VM's fields, written once xenopsd has made the change (the operation
 * still holds the VM). */
static struct rpc_reply vm_write_fields(struct vm_op *op, const api_field_id *fields,
                                        struct val *const *values, size_t n)
{
    struct xapi_call *c = op->c;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_get(c->x->db, API_C_VM, op->vm);
    if (!o) {
        db_abort(t);
        return xapi_handle_invalid(c, API_C_VM, op->vm);
    }
    for (size_t i = 0; i < n; i++)
        db_txn_update(t, o, fields[i], values[i]);
    return xapi_commit(c, t, val_nil(c->a));
}

/* Upstream keeps the new count for the next boot too. */
static struct rpc_reply vm_set_vcpus_number_live(struct xapi_call *c)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, xapi_arg_str(c, API_P_VM_set_VCPUs_number_live_self),
                                     "changing_VCPUs_live", &op);
    if (r.error)
        return r;
    int64_t n = xapi_arg_int(c, API_P_VM_set_VCPUs_number_live_nvcpu);
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get(c->x->db, API_C_VM, op.vm);
    int64_t vcpus_max = o ? db_obj_int(o, API_F_VM_VCPUs_max) : 0;
    db_read_unlock(c->x->db);
    if (n < 1 || n > vcpus_max)
        r = rpc_reply_error(c->a, API_ERR_INVALID_VALUE, "nvcpu",
                            arena_printf(c->a, "%lld", (long long)n), NULL);
    else
        r = xenops_run(c, "VM.set_vcpus", xenops_args(c->a, op.uuid, val_int(c->a, n)));
    if (!r.error) {
        static const api_field_id fields[] = {API_F_VM_VCPUs_at_startup};
        struct val *values[] = {val_int(c->a, n)};
        r = vm_write_fields(&op, fields, values, 1);
    }
    return vm_finish(&op, r);
}

struct rpc_reply vm_set_memory_live(struct xapi_call *c, const char *vm, int64_t dynamic_min,
                                    int64_t dynamic_max)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, vm, "changing_dynamic_range", &op);
    if (r.error)
        return r;
    struct val *params = xenops_args(c->a, op.uuid, val_int(c->a, dynamic_min));
    val_array_push(c->a, params, val_int(c->a, dynamic_max));
    r = xenops_run(c, "VM.set_memory_dynamic_range", params);
    if (!r.error) {
        static const api_field_id fields[] = {API_F_VM_memory_dynamic_min,
                                              API_F_VM_memory_dynamic_max, API_F_VM_memory_target};
        struct val *values[] = {val_int(c->a, dynamic_min), val_int(c->a, dynamic_max),
                                val_int(c->a, dynamic_max)};
        r = vm_write_fields(&op, fields, values, 3);
    }
    return vm_finish(&op, r);
}

static const struct xapi_explicit vm_messages[] = {
    {API_M_VBD_plug, vbd_plug},
    {API_M_VBD_unplug, vbd_unplug},
    {API_M_VBD_unplug_force, vbd_unplug_force},
    {API_M_VIF_plug, vif_plug},
    {API_M_VIF_unplug, vif_unplug},
    {API_M_VIF_unplug_force, vif_unplug_force},
    {API_M_VM_assert_can_boot_here, vm_assert_can_boot_here},
    {API_M_VM_assert_operation_valid, vm_assert_operation_valid},
    {API_M_VM_clean_reboot, vm_clean_reboot},
    {API_M_VM_clean_shutdown, vm_clean_shutdown},
    {API_M_VM_clone, vm_clone},
    {API_M_VM_copy, vm_copy},
    {API_M_VM_get_allowed_VBD_devices, vm_get_allowed_vbd_devices},
    {API_M_VM_get_allowed_VIF_devices, vm_get_allowed_vif_devices},
    {API_M_VM_hard_reboot, vm_hard_reboot},
    {API_M_VM_hard_shutdown, vm_hard_shutdown},
    {API_M_VM_pause, vm_pause},
    {API_M_VM_provision, vm_provision},
    {API_M_VM_resume, vm_resume},
    {API_M_VM_resume_on, vm_resume_on},
    {API_M_VM_set_VCPUs_at_startup, vm_set_vcpus_at_startup},
    {API_M_VM_set_VCPUs_max, vm_set_vcpus_max},
    {API_M_VM_set_VCPUs_number_live, vm_set_vcpus_number_live},
    {API_M_VM_set_memory, vm_set_memory},
    {API_M_VM_set_memory_dynamic_max, vm_set_memory_dynamic_max},
    {API_M_VM_set_memory_dynamic_min, vm_set_memory_dynamic_min},
    {API_M_VM_set_memory_dynamic_range, vm_set_memory_dynamic_range},
    {API_M_VM_set_memory_limits, vm_set_memory_limits},
    {API_M_VM_set_memory_static_max, vm_set_memory_static_max},
    {API_M_VM_set_memory_static_min, vm_set_memory_static_min},
    {API_M_VM_set_memory_static_range, vm_set_memory_static_range},
    {API_M_VM_shutdown, vm_shutdown},
    {API_M_VM_start, vm_start},
    {API_M_VM_start_on, vm_start_on},
    {API_M_VM_suspend, vm_suspend},
    {API_M_VM_unpause, vm_unpause},
    {API_M_VM_update_allowed_operations, vm_update_allowed_operations},
    {0, NULL},
};

const struct xapi_module vm_module = {
    .name = "vm",
    .messages = vm_messages,
    .hooks = vm_class_hooks,
    .sync = vm_templates_sync,
    .start = vm_service_start,
    .stop = vm_service_stop,
    .free = vm_service_free,
};
