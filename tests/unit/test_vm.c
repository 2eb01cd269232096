/*
 * test_vm.c - xapi's VM operations against a fake xenopsd that speaks
 * docs/xenopsd-interface.md over a real Unix socket: the lifecycle and
 * its errors, clone and provision, the follower's resynchronisation, an
 * unreachable daemon, and the operations a previous run left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "clock.h"
#include "db/db.h"
#include "fake_xenopsd.h"
#include "core/xapi.h"
#include "xapi_harness.h"

/* --- fixture --- */

struct fixture {
    char dir[64];
    char run[96];
    struct xapi *x;
    struct fake fake;
    struct ipc_server *server;
    char session[IDS_REF_LEN + 1];
};

static void fake_start(struct fixture *fx)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/xenopsd.sock", fx->run);
    const char *err = NULL;
    fx->server = ipc_server_start(path, fake_xenopsd_methods, &fx->fake, 0, &err);
    assert_non_null(fx->server);
}

/* Calls method with a session and the given values (NULL-terminated). */
static struct rpc_reply call(struct fixture *fx, struct arena *a, const char *method, ...)
{
    struct rpc_call c = {.method = method, .params = val_array(a)};
    val_array_push(a, c.params, val_string(a, fx->session));
    va_list ap;
    va_start(ap, method);
    for (struct val *v; (v = va_arg(ap, struct val *));)
        val_array_push(a, c.params, v);
    va_end(ap);
    return xapi_dispatch(fx->x, a, &c, "test", NULL);
}

static const char *code(const struct rpc_reply *r)
{
    return r->error ? val_str(r->error->u.arr.items[0]) : NULL;
}

static const char *param(const struct rpc_reply *r, size_t i)
{
    return val_str(r->error->u.arr.items[i]);
}

#define S(s) val_string(a, s)
#define B(b) val_bool(a, b)

static void xapi_up(struct fixture *fx)
{
    fx->x = harness_xapi_start(fx->dir, fx->run, NULL, "secret", fx->session);
}

static void xapi_down(struct fixture *fx)
{
    harness_xapi_stop(fx->x);
    fx->x = NULL;
}

static void fixture_init(struct fixture *fx, bool with_fake)
{
    harness_host_init(fx->dir, sizeof(fx->dir), "/tmp/cx-vm-XXXXXX", "secret");
    snprintf(fx->run, sizeof(fx->run), "%s/run", fx->dir);
    assert_int_equal(mkdir(fx->run, 0755), 0);
    pthread_mutex_init(&fx->fake.lock, NULL);
    clock_cond_init(&fx->fake.changed);
    fx->fake.memory_free = 8 * GiB;
    if (with_fake)
        fake_start(fx);
    xapi_up(fx);
}

/* With the fake xenopsd, or (setup_unreachable) without any. */
static int setup_with(void **state, bool with_fake)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    fixture_init(fx, with_fake);
    *state = fx;
    return 0;
}
static int setup(void **state)
{
    return setup_with(state, true);
}

static int setup_unreachable(void **state)
{
    return setup_with(state, false);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    xapi_down(fx);
    ipc_server_stop(fx->server);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* --- helpers --- */

static const char *template_ref(struct fixture *fx, struct arena *a, const char *name)
{
    struct rpc_reply r = call(fx, a, "VM.get_by_name_label", S(name), NULL);
    assert_null(r.error);
    assert_true(r.value->u.arr.n >= 1);
    return val_str(r.value->u.arr.items[0]);
}

static struct val *get(struct fixture *fx, struct arena *a, const char *cls, const char *field,
                       const char *ref)
{
    char method[96];
    snprintf(method, sizeof(method), "%s.get_%s", cls, field);
    struct rpc_reply r = call(fx, a, method, S(ref), NULL);
    assert_null(r.error);
    return r.value;
}

static const char *get_str(struct fixture *fx, struct arena *a, const char *field, const char *vm)
{
    return val_str(get(fx, a, "VM", field, vm));
}

static bool set_has(const struct val *set, const char *item)
{
    for (size_t i = 0; i < set->u.arr.n; i++)
        if (strcmp(val_str(set->u.arr.items[i]), item) == 0)
            return true;
    return false;
}

/* A VM installed from a template without disks (clone, then provision). */
static const char *install(struct fixture *fx, struct arena *a, const char *name)
{
    struct rpc_reply r =
        call(fx, a, "VM.clone", S(template_ref(fx, a, "Debian Bookworm 12")), S(name), NULL);
    assert_null(r.error);
    const char *vm = val_str(r.value);
    assert_true(get(fx, a, "VM", "is_a_template", vm)->u.b); /* until provisioned */
    r = call(fx, a, "VM.remove_from_other_config", S(vm), S("disks"), NULL);
    assert_null(r.error);
    r = call(fx, a, "VM.provision", S(vm), NULL);
    assert_null(r.error);
    assert_false(get(fx, a, "VM", "is_a_template", vm)->u.b);
    return vm;
}

static void assert_reply_ok(struct rpc_reply r, int line)
{
    if (r.error)
        fail_msg("line %d: unexpected error %s", line, code(&r));
}

#define ASSERT_OK(r) assert_reply_ok((r), __LINE__)

/* --- tests --- */

static void test_clone_and_provision(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    const char *tpl = template_ref(fx, a, "Other install media");
    struct rpc_reply r = call(fx, a, "VM.clone", S(tpl), S("with-disk"), NULL);
    ASSERT_OK(r);
    const char *vm = val_str(r.value);
    assert_string_not_equal(get_str(fx, a, "uuid", vm), get_str(fx, a, "uuid", tpl));
    assert_string_equal(get_str(fx, a, "name_label", vm), "with-disk");
    assert_false(get(fx, a, "VM", "is_default_template", vm)->u.b);
    assert_int_equal(get(fx, a, "VM", "domid", vm)->u.i, -1);
    /* The template's disk needs an SR and this host has none. */
    r = call(fx, a, "VM.provision", S(vm), NULL);
    assert_string_equal(code(&r), "DEFAULT_SR_NOT_FOUND");
    assert_true(get(fx, a, "VM", "is_a_template", vm)->u.b);
    r = call(fx, a, "VM.start", S(vm), B(false), B(false), NULL);
    assert_string_equal(code(&r), "VM_IS_TEMPLATE");
    assert_string_equal(param(&r, 1), vm);
    /* A provisioned VM cannot be provisioned again. */
    const char *plain = install(fx, a, "plain");
    r = call(fx, a, "VM.provision", S(plain), NULL);
    assert_string_equal(code(&r), "PROVISION_ONLY_ALLOWED_ON_TEMPLATE");
    /* Built-in templates stay. */
    r = call(fx, a, "VM.destroy", S(tpl), NULL);
    assert_string_equal(code(&r), "VM_CANNOT_DELETE_DEFAULT_TEMPLATE");
    arena_free(a);
}

static void test_lifecycle(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    const char *vm = install(fx, a, "walker");
    assert_true(set_has(get(fx, a, "VM", "allowed_operations", vm), "start"));
    struct rpc_reply r = call(fx, a, "VM.pause", S(vm), NULL);
    assert_string_equal(code(&r), "VM_BAD_POWER_STATE");
    assert_string_equal(param(&r, 1), vm);
    assert_string_equal(param(&r, 2), "running");
    assert_string_equal(param(&r, 3), "halted");

    r = call(fx, a, "VM.start", S(vm), B(false), B(false), NULL);
    ASSERT_OK(r);
    assert_string_equal(get_str(fx, a, "power_state", vm), "Running");
    int64_t domid = get(fx, a, "VM", "domid", vm)->u.i;
    assert_true(domid > 0);
    assert_string_equal(get_str(fx, a, "resident_on", vm), fx->x->id.host_ref);
    assert_int_equal(get(fx, a, "VM", "current_operations", vm)->u.st.n, 0);
    struct val *allowed = get(fx, a, "VM", "allowed_operations", vm);
    assert_true(set_has(allowed, "clean_shutdown"));
    assert_false(set_has(allowed, "start"));
    const char *metrics = get_str(fx, a, "metrics", vm);
    assert_int_equal(get(fx, a, "VM_metrics", "memory_actual", metrics)->u.i, 2 * GiB);
    assert_int_equal(get(fx, a, "VM_metrics", "VCPUs_number", metrics)->u.i, 2);
    const char *gm = get_str(fx, a, "guest_metrics", vm);
    assert_string_equal(
        val_str(val_struct_get(get(fx, a, "VM_guest_metrics", "os_version", gm), "name")),
        "Fake Linux");
    assert_string_equal(
        val_str(val_struct_get(get(fx, a, "VM_guest_metrics", "networks", gm), "0/ip")),
        "10.0.0.2");

    r = call(fx, a, "VM.start", S(vm), B(false), B(false), NULL);
    assert_string_equal(code(&r), "VM_BAD_POWER_STATE");
    assert_string_equal(param(&r, 2), "halted");
    assert_string_equal(param(&r, 3), "running");
    r = call(fx, a, "VM.destroy", S(vm), NULL);
    assert_string_equal(code(&r), "VM_BAD_POWER_STATE");

    ASSERT_OK(call(fx, a, "VM.pause", S(vm), NULL));
    assert_string_equal(get_str(fx, a, "power_state", vm), "Paused");
    r = call(fx, a, "VM.suspend", S(vm), NULL);
    assert_string_equal(code(&r), "VM_BAD_POWER_STATE");
    ASSERT_OK(call(fx, a, "VM.unpause", S(vm), NULL));
    ASSERT_OK(call(fx, a, "VM.suspend", S(vm), NULL));
    assert_string_equal(get_str(fx, a, "power_state", vm), "Suspended");
    assert_int_equal(get(fx, a, "VM", "domid", vm)->u.i, -1);
    assert_string_equal(get_str(fx, a, "guest_metrics", vm), "OpaqueRef:NULL");
    ASSERT_OK(call(fx, a, "VM.resume", S(vm), B(false), B(false), NULL));
    assert_string_equal(get_str(fx, a, "power_state", vm), "Running");
    domid = get(fx, a, "VM", "domid", vm)->u.i;
    ASSERT_OK(call(fx, a, "VM.clean_reboot", S(vm), NULL));
    assert_true(get(fx, a, "VM", "domid", vm)->u.i != domid);
    ASSERT_OK(call(fx, a, "VM.hard_reboot", S(vm), NULL));
    ASSERT_OK(call(fx, a, "VM.clean_shutdown", S(vm), NULL));
    assert_string_equal(get_str(fx, a, "power_state", vm), "Halted");
    assert_string_equal(get_str(fx, a, "resident_on", vm), "OpaqueRef:NULL");
    assert_int_equal(get(fx, a, "VM_metrics", "memory_actual", metrics)->u.i, 0);
    ASSERT_OK(call(fx, a, "VM.start_on", S(vm), S(fx->x->id.host_ref), B(true), B(false), NULL));
    assert_string_equal(get_str(fx, a, "power_state", vm), "Paused");
    ASSERT_OK(call(fx, a, "VM.hard_shutdown", S(vm), NULL));
    assert_string_equal(get_str(fx, a, "power_state", vm), "Halted");
    ASSERT_OK(call(fx, a, "VM.destroy", S(vm), NULL));
    r = call(fx, a, "VM_metrics.get_record", S(metrics), NULL);
    assert_string_equal(code(&r), "HANDLE_INVALID");
    arena_free(a);
}

static void test_errors_pass_through(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    const char *vm = install(fx, a, "big");
    ASSERT_OK(call(fx, a, "VM.set_memory", S(vm), val_int(a, 12 * GiB), NULL));
    struct rpc_reply r = call(fx, a, "VM.assert_can_boot_here", S(vm), S(fx->x->id.host_ref), NULL);
    assert_string_equal(code(&r), "HOST_NOT_ENOUGH_FREE_MEMORY");
    r = call(fx, a, "VM.start", S(vm), B(false), B(false), NULL);
    assert_string_equal(code(&r), "HOST_NOT_ENOUGH_FREE_MEMORY");
    assert_string_equal(param(&r, 2), "8589934592");
    assert_string_equal(get_str(fx, a, "power_state", vm), "Halted");
    assert_int_equal(get(fx, a, "VM", "current_operations", vm)->u.st.n, 0);
    assert_true(set_has(get(fx, a, "VM", "allowed_operations", vm), "start"));
    /* memory order and vCPU limits */
    r = call(fx, a, "VM.set_memory_limits", S(vm), val_int(a, 2 * GiB), val_int(a, 1 * GiB),
             val_int(a, 1 * GiB), val_int(a, 1 * GiB), NULL);
    assert_string_equal(code(&r), "MEMORY_CONSTRAINT_VIOLATION");
    ASSERT_OK(call(fx, a, "VM.set_memory_limits", S(vm), val_int(a, GiB / 2), val_int(a, 1 * GiB),
                   val_int(a, 1 * GiB), val_int(a, 1 * GiB), NULL));
    r = call(fx, a, "VM.set_VCPUs_at_startup", S(vm), val_int(a, 3), NULL);
    assert_string_equal(code(&r), "INVALID_VALUE");
    ASSERT_OK(call(fx, a, "VM.set_VCPUs_max", S(vm), val_int(a, 4), NULL));
    ASSERT_OK(call(fx, a, "VM.set_VCPUs_at_startup", S(vm), val_int(a, 3), NULL));
    /* halted: the database alone (a running VM's goes through xenopsd,
     * tests/integration/test_vm_lifecycle.py) */
    ASSERT_OK(call(fx, a, "VM.set_memory_dynamic_range", S(vm), val_int(a, GiB / 2),
                   val_int(a, 1 * GiB), NULL));
    ASSERT_OK(call(fx, a, "VM.start", S(vm), B(false), B(false), NULL));
    r = call(fx, a, "VM.set_VCPUs_max", S(vm), val_int(a, 8), NULL);
    assert_string_equal(code(&r), "VM_BAD_POWER_STATE");
    struct val *devs = call(fx, a, "VM.get_allowed_VIF_devices", S(vm), NULL).value;
    assert_int_equal(devs->u.arr.n, 7);
    ASSERT_OK(call(fx, a, "VM.hard_shutdown", S(vm), NULL));
    arena_free(a);
}

/* An operation in progress keeps every other one out. */
static void test_busy(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    const char *vm = install(fx, a, "busy");
    struct db_txn *t = db_begin(fx->x->db);
    struct db_obj *o = db_get(fx->x->db, API_C_VM, vm);
    struct val *ops = val_struct(a);
    val_struct_add(a, ops, "OpaqueRef:someone", S("start"));
    db_txn_set(t, o, API_F_VM_current_operations, ops);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    struct rpc_reply r = call(fx, a, "VM.start", S(vm), B(false), B(false), NULL);
    assert_string_equal(code(&r), "OTHER_OPERATION_IN_PROGRESS");
    assert_string_equal(param(&r, 1), "VM");
    assert_string_equal(param(&r, 3), "start");
    assert_string_equal(param(&r, 4), "OpaqueRef:someone");
    r = call(fx, a, "VM.destroy", S(vm), NULL);
    assert_string_equal(code(&r), "OTHER_OPERATION_IN_PROGRESS");
    assert_int_equal(fx->fake.calls_start, 0);
    arena_free(a);
}

static bool wait_power(struct fixture *fx, const char *vm, const char *want)
{
    for (int i = 0; i < 500; i++) {
        struct arena *a = arena_new();
        bool ok = strcmp(get_str(fx, a, "power_state", vm), want) == 0;
        arena_free(a);
        if (ok)
            return true;
        usleep(10000);
    }
    return false;
}

/* What the guest does on its own reaches the database through the
 * updates; a restart of xapi resynchronises and clears stale operations. */
static void test_follow_and_resync(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    const char *vm = install(fx, a, "follow");
    const char *uuid = get_str(fx, a, "uuid", vm);
    ASSERT_OK(call(fx, a, "VM.start", S(vm), B(false), B(false), NULL));
    int64_t domid = get(fx, a, "VM", "domid", vm)->u.i;
    /* the guest shuts itself down */
    pthread_mutex_lock(&fx->fake.lock);
    fake_vm_find(&fx->fake, uuid)->power_state = "Halted";
    fake_update(&fx->fake, "VM", uuid);
    pthread_mutex_unlock(&fx->fake.lock);
    assert_true(wait_power(fx, vm, "Halted"));
    ASSERT_OK(call(fx, a, "VM.start", S(vm), B(false), B(false), NULL));
    domid = get(fx, a, "VM", "domid", vm)->u.i;

    /* xapi restarts while an operation was listed and the VM runs */
    const char *other = install(fx, a, "ghost");
    struct db_txn *t = db_begin(fx->x->db);
    struct db_obj *o = db_get(fx->x->db, API_C_VM, vm);
    struct val *ops = val_struct(a);
    val_struct_add(a, ops, "OpaqueRef:lost", S("clean_shutdown"));
    db_txn_set(t, o, API_F_VM_current_operations, ops);
    db_txn_set(t, o, API_F_VM_power_state, S("Halted"));
    struct db_obj *g = db_get(fx->x->db, API_C_VM, other);
    db_txn_set(t, g, API_F_VM_power_state, S("Running"));
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    xapi_down(fx);
    xapi_up(fx);
    assert_int_equal(get(fx, a, "VM", "current_operations", vm)->u.st.n, 0);
    assert_true(wait_power(fx, vm, "Running"));
    assert_int_equal(get(fx, a, "VM", "domid", vm)->u.i, domid);
    assert_true(wait_power(fx, other, "Halted"));
    ASSERT_OK(call(fx, a, "VM.hard_shutdown", S(vm), NULL));
    arena_free(a);
}

/* The database and xenopsd disagree: xenopsd's error reaches the caller
 * naming the VM by its ref, and the database takes xenopsd's view. */
static void test_disagreement(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    const char *vm = install(fx, a, "stale");
    ASSERT_OK(call(fx, a, "VM.start", S(vm), B(false), B(false), NULL));
    struct db_txn *t = db_begin(fx->x->db);
    struct db_obj *o = db_get(fx->x->db, API_C_VM, vm);
    db_txn_set(t, o, API_F_VM_power_state, S("Halted"));
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    struct rpc_reply r = call(fx, a, "VM.start", S(vm), B(false), B(false), NULL);
    assert_string_equal(code(&r), "VM_BAD_POWER_STATE");
    assert_string_equal(param(&r, 1), vm);
    assert_string_equal(get_str(fx, a, "power_state", vm), "Running");
    arena_free(a);
}

static void test_unreachable(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    const char *vm = install(fx, a, "nowhere");
    struct rpc_reply r = call(fx, a, "VM.start", S(vm), B(false), B(false), NULL);
    assert_string_equal(code(&r), "INTERNAL_ERROR");
    assert_non_null(strstr(param(&r, 1), "xenopsd"));
    assert_string_equal(get_str(fx, a, "power_state", vm), "Halted");
    assert_int_equal(get(fx, a, "VM", "current_operations", vm)->u.st.n, 0);

    /* A suspended VM whose xenopsd cannot be asked keeps its image and
     * stays suspended: xenopsd would resume it one day. */
    struct db_txn *t = db_begin(fx->x->db);
    struct db_obj *o = db_get(fx->x->db, API_C_VM, vm);
    db_txn_set(t, o, API_F_VM_power_state, S("Suspended"));
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    char dir[512], image[600];
    snprintf(dir, sizeof(dir), "%s/suspend", fx->dir);
    snprintf(image, sizeof(image), "%s/%s", dir, get_str(fx, a, "uuid", vm));
    assert_int_equal(mkdir(dir, 0700), 0);
    FILE *f = fopen(image, "w");
    assert_non_null(f);
    fclose(f);
    r = call(fx, a, "VM.hard_shutdown", S(vm), NULL);
    assert_string_equal(code(&r), "INTERNAL_ERROR");
    assert_string_equal(get_str(fx, a, "power_state", vm), "Suspended");
    assert_int_equal(access(image, F_OK), 0);
    assert_int_equal(get(fx, a, "VM", "current_operations", vm)->u.st.n, 0);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clone_and_provision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_and_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disagreement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup_unreachable, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
