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

/* The host argument of start_on and resume_on: this host, the only one. */
static struct rpc_reply vm_check_host(struct xapi_call *c, const char *host)
{
    int cls = api_class_find("host");
    db_read_lock(c->x->db);
    bool known = db_get(c->x->db, cls, host) != NULL;
    db_read_unlock(c->x->db);
    if (!known)
        return xapi_handle_invalid(c, cls, host);
    if (strcmp(host, c->x->id.host_ref) != 0)
        return rpc_reply_error(c->a, "HOST_NOT_LIVE", NULL);
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
    return vm_do_start(c, val_str(c->args[1]), "start", c->args[2]->u.b);
}

static struct rpc_reply vm_start_on(struct xapi_call *c)
{
    struct rpc_reply r = vm_check_host(c, val_str(c->args[2]));
    return r.error ? r : vm_do_start(c, val_str(c->args[1]), "start_on", c->args[3]->u.b);
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
static struct rpc_reply vm_do_simple(struct xapi_call *c, const char *opname, const char *method,
                                     struct val *arg)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, val_str(c->args[1]), opname, &op);
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
            c->a, "INTERNAL_ERROR",
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
static struct rpc_reply vm_do_shutdown(struct xapi_call *c, const char *opname, bool clean)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, val_str(c->args[1]), opname, &op);
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
    return vm_do_shutdown(c, "clean_shutdown", true);
}

static struct rpc_reply vm_hard_shutdown(struct xapi_call *c)
{
    return vm_do_shutdown(c, "hard_shutdown", false);
}

static struct rpc_reply vm_shutdown(struct xapi_call *c)
{
    return vm_do_shutdown(c, "shutdown", true);
}

static struct rpc_reply vm_clean_reboot(struct xapi_call *c)
{
    return vm_do_simple(c, "clean_reboot", "VM.reboot", vm_clean_timeout(c->a, true));
}

static struct rpc_reply vm_hard_reboot(struct xapi_call *c)
{
    return vm_do_simple(c, "hard_reboot", "VM.reboot", vm_clean_timeout(c->a, false));
}

/* --- suspend and resume --- */

static struct rpc_reply vm_suspend(struct xapi_call *c)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, val_str(c->args[1]), "suspend", &op);
    if (r.error)
        return r;
    const char *dir = arena_printf(c->a, "%s/suspend", c->x->state_dir);
    if (hostdir_mkdirs(dir, 0700) < 0)
        r = rpc_reply_error(c->a, "INTERNAL_ERROR",
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
    return vm_do_resume(c, val_str(c->args[1]), "resume", c->args[2]->u.b);
}

static struct rpc_reply vm_resume_on(struct xapi_call *c)
{
    struct rpc_reply r = vm_check_host(c, val_str(c->args[2]));
    return r.error ? r : vm_do_resume(c, val_str(c->args[1]), "resume_on", c->args[3]->u.b);
}

/* --- pause --- */

static struct rpc_reply vm_pause(struct xapi_call *c)
{
    return vm_do_simple(c, "pause", "VM.pause", NULL);
}

static struct rpc_reply vm_unpause(struct xapi_call *c)
{
    return vm_do_simple(c, "unpause", "VM.unpause", NULL);
}

/* --- live changes --- */

/* A VM's fields, written once xenopsd has made the change (the operation
 * still holds the VM). */
static struct rpc_reply vm_write_fields(struct vm_op *op, const char *const *names,
                                        struct val *const *values, size_t n)
{
    struct xapi_call *c = op->c;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_get(c->x->db, api_class_find("VM"), op->vm);
    if (!o) {
        db_abort(t);
        return xapi_handle_invalid(c, api_class_find("VM"), op->vm);
    }
    for (size_t i = 0; i < n; i++)
        vm_field_set(t, o, names[i], values[i]);
    return xapi_commit(c, t, val_nil(c->a));
}

/* Upstream keeps the new count for the next boot too. */
static struct rpc_reply vm_set_vcpus_number_live(struct xapi_call *c)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, val_str(c->args[1]), "changing_VCPUs_live", &op);
    if (r.error)
        return r;
    int64_t n = c->args[2]->u.i;
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get(c->x->db, api_class_find("VM"), op.vm);
    int64_t vcpus_max = o ? vm_field_int(o, "VCPUs_max") : 0;
    db_read_unlock(c->x->db);
    if (n < 1 || n > vcpus_max)
        r = rpc_reply_error(c->a, "INVALID_VALUE", "nvcpu",
                            arena_printf(c->a, "%lld", (long long)n), NULL);
    else
        r = xenops_run(c, "VM.set_vcpus", xenops_args(c->a, op.uuid, val_int(c->a, n)));
    if (!r.error) {
        static const char *const names[] = {"VCPUs_at_startup"};
        struct val *values[] = {val_int(c->a, n)};
        r = vm_write_fields(&op, names, values, 1);
    }
    return vm_finish(&op, r);
}

struct rpc_reply vm_set_memory_live(struct xapi_call *c, int64_t dynamic_min, int64_t dynamic_max)
{
    struct vm_op op;
    struct rpc_reply r = vm_op_begin(c, val_str(c->args[1]), "changing_dynamic_range", &op);
    if (r.error)
        return r;
    struct val *params = xenops_args(c->a, op.uuid, val_int(c->a, dynamic_min));
    val_array_push(c->a, params, val_int(c->a, dynamic_max));
    r = xenops_run(c, "VM.set_memory_dynamic_range", params);
    if (!r.error) {
        static const char *const names[] = {"memory_dynamic_min", "memory_dynamic_max",
                                            "memory_target"};
        struct val *values[] = {val_int(c->a, dynamic_min), val_int(c->a, dynamic_max),
                                val_int(c->a, dynamic_max)};
        r = vm_write_fields(&op, names, values, 3);
    }
    return vm_finish(&op, r);
}

const struct xapi_explicit xapi_vm_messages[] = {
    {"VBD.plug", vbd_plug},
    {"VBD.unplug", vbd_unplug},
    {"VBD.unplug_force", vbd_unplug_force},
    {"VIF.plug", vif_plug},
    {"VIF.unplug", vif_unplug},
    /* xenopsd has one way to unplug a network device. */
    {"VIF.unplug_force", vif_unplug},
    {"VM.assert_can_boot_here", vm_assert_can_boot_here},
    {"VM.assert_operation_valid", vm_assert_operation_valid},
    {"VM.clean_reboot", vm_clean_reboot},
    {"VM.clean_shutdown", vm_clean_shutdown},
    {"VM.clone", vm_clone},
    {"VM.copy", vm_copy},
    {"VM.get_allowed_VBD_devices", vm_get_allowed_vbd_devices},
    {"VM.get_allowed_VIF_devices", vm_get_allowed_vif_devices},
    {"VM.hard_reboot", vm_hard_reboot},
    {"VM.hard_shutdown", vm_hard_shutdown},
    {"VM.pause", vm_pause},
    {"VM.provision", vm_provision},
    {"VM.resume", vm_resume},
    {"VM.resume_on", vm_resume_on},
    {"VM.set_VCPUs_at_startup", vm_set_vcpus_at_startup},
    {"VM.set_VCPUs_max", vm_set_vcpus_max},
    {"VM.set_VCPUs_number_live", vm_set_vcpus_number_live},
    {"VM.set_memory", vm_set_memory},
    {"VM.set_memory_dynamic_max", vm_set_memory_dynamic_max},
    {"VM.set_memory_dynamic_min", vm_set_memory_dynamic_min},
    {"VM.set_memory_dynamic_range", vm_set_memory_dynamic_range},
    {"VM.set_memory_limits", vm_set_memory_limits},
    {"VM.set_memory_static_max", vm_set_memory_static_max},
    {"VM.set_memory_static_min", vm_set_memory_static_min},
    {"VM.set_memory_static_range", vm_set_memory_static_range},
    {"VM.shutdown", vm_shutdown},
    {"VM.start", vm_start},
    {"VM.start_on", vm_start_on},
    {"VM.suspend", vm_suspend},
    {"VM.unpause", vm_unpause},
    {"VM.update_allowed_operations", vm_update_allowed_operations},
    {NULL, NULL},
};
