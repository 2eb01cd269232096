/*
 * test_xapi_lifecycle.c - whole xapis in one process: two at once, each on
 * a host of its own, started and stopped again and again (ASan's leak
 * check runs at exit); the dispatch policy stage on a pool of one and on a
 * host told it is a slave; and the per-class hooks, with a module of the
 * test's own whose refusals must undo the whole message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/module.h"
#include "core/xapi.h"
#include "db/db.h"
#include "xapi_harness.h"

struct host {
    char dir[64];
    struct xapi *x;
    char session[IDS_REF_LEN + 1];
};

static const char *code(const struct rpc_reply *r)
{
    return r->error ? val_str(r->error->u.arr.items[0]) : NULL;
}

/* method with the host's session first (unless session is false) and
 * the given strings or values (NULL-terminated). */
static struct rpc_reply call_v(struct host *h, struct arena *a, bool session, const char *method,
                               struct val *first, va_list ap)
{
    struct rpc_call c = {.method = method, .params = val_array(a)};
    if (session)
        val_array_push(a, c.params, val_string(a, h->session));
    for (struct val *v = first; v; v = va_arg(ap, struct val *))
        val_array_push(a, c.params, v);
    return xapi_dispatch(h->x, a, &c, "test", NULL);
}

static struct rpc_reply call(struct host *h, struct arena *a, const char *method, ...)
{
    va_list ap;
    va_start(ap, method);
    struct val *first = va_arg(ap, struct val *);
    struct rpc_reply r = call_v(h, a, true, method, first, ap);
    va_end(ap);
    return r;
}

static struct rpc_reply call_bare(struct host *h, struct arena *a, const char *method, ...)
{
    va_list ap;
    va_start(ap, method);
    struct val *first = va_arg(ap, struct val *);
    struct rpc_reply r = call_v(h, a, false, method, first, ap);
    va_end(ap);
    return r;
}

#define S(s) val_string(a, s)

static void host_start(struct host *h, const struct xapi_module *const *modules)
{
    h->x = harness_xapi_start(h->dir, NULL, modules, "pw", h->session);
}

static void host_stop(struct host *h)
{
    harness_xapi_stop(h->x);
    h->x = NULL;
}

static void host_init(struct host *h)
{
    harness_host_init(h->dir, sizeof(h->dir), "/tmp/cx-life-XXXXXX", "pw");
}

static void host_remove(struct host *h)
{
    harness_host_remove(h->dir);
}

/* A VM named name, made with the implicit create. */
static const char *make_vm(struct host *h, struct arena *a, const char *name)
{
    struct val *rec = val_struct(a);
    val_struct_add(a, rec, "name_label", S(name));
    struct rpc_reply r = call(h, a, "VM.create", rec, NULL);
    if (r.error)
        return NULL;
    return val_str(r.value);
}

/* Waits for a task to leave pending; its status. */
static const char *task_wait(struct host *h, struct arena *a, const char *task)
{
    for (int i = 0; i < 500; i++) {
        struct rpc_reply r = call(h, a, "task.get_status", S(task), NULL);
        assert_null(r.error);
        if (strcmp(val_str(r.value), "pending") != 0)
            return val_str(r.value);
        usleep(10 * 1000);
    }
    fail_msg("task %s still pending", task);
    return NULL;
}

/* Two hosts in one process, each with its own database, sessions, tasks
 * and threads, three times over. */
static void test_two_xapis(void **state)
{
    struct host h[2];
    for (int i = 0; i < 2; i++)
        host_init(&h[i]);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2; i++)
            host_start(&h[i], NULL);
        struct arena *a = arena_new();
        char name[32];
        snprintf(name, sizeof(name), "vm-%d", round);
        const char *vm = make_vm(&h[0], a, name);
        assert_non_null(vm);
        /* the other host has no such VM: nothing is shared */
        struct rpc_reply r = call(&h[1], a, "VM.get_name_label", S(vm), NULL);
        assert_string_equal(code(&r), "HANDLE_INVALID");
        r = call(&h[1], a, "VM.get_by_name_label", S(name), NULL);
        assert_int_equal(r.value->u.arr.n, 0);
        /* sessions are each host's own */
        r = call_bare(&h[1], a, "pool.get_all", S(h[0].session), NULL);
        assert_string_equal(code(&r), "SESSION_INVALID");
        /* a task on each, run by each one's pool */
        for (int i = 0; i < 2; i++) {
            struct db_obj *pool;
            db_read_lock(h[i].x->db);
            pool = db_first(h[i].x->db, API_C_pool);
            const char *uuid = arena_strdup(a, db_obj_str(pool, API_F_pool_uuid));
            db_read_unlock(h[i].x->db);
            r = call(&h[i], a, "Async.message.create", S("TEST"), val_int(a, 1), S("Pool"), S(uuid),
                     S("body"), NULL);
            assert_null(r.error);
            assert_string_equal(task_wait(&h[i], a, val_str(r.value)), "success");
        }
        /* what the first round made is still there (on disk) */
        r = call(&h[0], a, "VM.get_by_name_label", S("vm-0"), NULL);
        assert_int_equal(r.value->u.arr.n, 1);
        arena_free(a);
        for (int i = 0; i < 2; i++)
            host_stop(&h[i]);
    }
    for (int i = 0; i < 2; i++)
        host_remove(&h[i]);
}

/* On a pool of one, the policy stage sends every call here: those that
 * run on the master, those that run anywhere, and those forwarded to the
 * host they name when that is this host or nothing. */
static void test_route_pool_of_one(void **state)
{
    struct host h;
    host_init(&h);
    host_start(&h, NULL);
    struct arena *a = arena_new();
    const struct api_message *m = api_message_find("VM.start_on");
    assert_int_equal(m->run, API_RUN_FORWARD);
    assert_string_equal(m->params[m->run_param].name, "host");
    m = api_message_find("VBD.plug");
    assert_int_equal(m->run, API_RUN_FORWARD);
    assert_true(m->run_fields[0] == API_F_VBD_VM && m->run_fields[1] == API_F_VM_resident_on);
    assert_int_equal(api_message_find("session.slave_local_login_with_password")->run,
                     API_RUN_LOCAL);
    assert_int_equal(api_message_find("VM.create")->run, API_RUN_MASTER);
    /* master, local and forward-to-here all answer */
    struct rpc_reply r = call(&h, a, "host.get_servertime", S(h.x->id.host_ref), NULL);
    assert_null(r.error);
    r = call_bare(&h, a, "session.slave_local_login_with_password", S("root"), S("pw"), NULL);
    assert_null(r.error);
    r = call(&h, a, "host.get_all", NULL);
    assert_null(r.error);
    const char *vm = make_vm(&h, a, "halted");
    /* A halted VM is resident nowhere: its operations run here, and answer
     * as the handler does. */
    r = call(&h, a, "VM.pause", S(vm), NULL);
    assert_string_equal(code(&r), "VM_BAD_POWER_STATE");
    /* forwarding by a ref that names nothing leaves the error to the
     * handler */
    r = call(&h, a, "VM.start_on", S(vm), S("OpaqueRef:nowhere"), val_bool(a, false),
             val_bool(a, false), NULL);
    assert_string_equal(code(&r), "HANDLE_INVALID");
    arena_free(a);
    host_stop(&h);
    host_remove(&h);
}

/* A host record of another host, which is not live: calls for it are
 * refused with HOST_OFFLINE, before any handler runs. */
static void test_route_other_host(void **state)
{
    struct host h;
    host_init(&h);
    host_start(&h, NULL);
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(h.x->db);
    struct db_obj *other = db_txn_create(t, API_C_host, NULL, NULL);
    char other_ref[IDS_REF_LEN + 1];
    strcpy(other_ref, other->ref);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    const char *vm = make_vm(&h, a, "there");
    struct rpc_reply r = call(&h, a, "VM.start_on", S(vm), S(other_ref), val_bool(a, false),
                              val_bool(a, false), NULL);
    assert_string_equal(code(&r), "HOST_OFFLINE");
    assert_string_equal(val_str(r.error->u.arr.items[1]), other_ref);
    r = call(&h, a, "host.get_servertime", S(other_ref), NULL);
    assert_string_equal(code(&r), "HOST_OFFLINE");
    /* nothing ran: the VM is as it was */
    r = call(&h, a, "VM.get_current_operations", S(vm), NULL);
    assert_int_equal(r.value->u.st.n, 0);
    arena_free(a);
    host_stop(&h);
    host_remove(&h);
}

/* A host told it is a slave answers HOST_IS_SLAVE naming its master,
 * logins included, and still serves what runs anywhere. (Until pool.join
 * exists, the test sets the role the pool issue will keep on disk.) */
static void test_route_slave(void **state)
{
    struct host h;
    host_init(&h);
    host_start(&h, NULL);
    h.x->role.master = false;
    strcpy(h.x->role.master_address, "192.0.2.7");
    struct arena *a = arena_new();
    struct rpc_reply r = call_bare(&h, a, "session.login_with_password", S("root"), S("pw"), NULL);
    assert_string_equal(code(&r), "HOST_IS_SLAVE");
    assert_int_equal(r.error->u.arr.n, 2);
    assert_string_equal(val_str(r.error->u.arr.items[1]), "192.0.2.7");
    r = call(&h, a, "VM.get_all", NULL);
    assert_string_equal(code(&r), "HOST_IS_SLAVE");
    r = call(&h, a, "host.get_servertime", S(h.x->id.host_ref), NULL);
    assert_string_equal(code(&r), "HOST_IS_SLAVE");
    r = call_bare(&h, a, "session.slave_local_login_with_password", S("root"), S("pw"), NULL);
    assert_null(r.error);
    h.x->role.master = true;
    arena_free(a);
    host_stop(&h);
    host_remove(&h);
}

/* --- a module of the test's own --- */

static int refuse(struct xapi_call *c, struct db_obj *o, const char *when, struct rpc_reply *reply)
{
    if (strcmp(db_obj_str(o, API_F_VM_name_label), when) != 0)
        return 0;
    *reply = rpc_reply_error(c->a, API_ERR_OPERATION_NOT_ALLOWED, when, NULL);
    return -1;
}

/* Makes a VM_metrics first, so that a refusal must undo more than the VM. */
static int test_created(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                        struct rpc_reply *reply)
{
    db_txn_create(t, API_C_VM_metrics, NULL, NULL);
    return refuse(c, o, "refuse create", reply);
}

static int test_changed(struct xapi_call *c, struct db_txn *t, struct db_obj *o, api_field_id f,
                        struct rpc_reply *reply)
{
    return f == API_F_VM_name_label ? refuse(c, o, "refuse change", reply) : 0;
}

static int test_destroying(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                           struct rpc_reply *reply)
{
    return refuse(c, o, "refuse destroy", reply);
}

static const struct xapi_class_hooks test_hooks[] = {
    {API_C_VM, test_created, test_changed, test_destroying},
    {-1, NULL, NULL, NULL},
};

static const struct xapi_module test_module = {.name = "test", .hooks = test_hooks};

static void test_class_hooks_refuse(void **state)
{
    const struct xapi_module *modules[16];
    size_t n = 0;
    for (; xapi_modules[n]; n++)
        modules[n] = xapi_modules[n];
    modules[n++] = &test_module;
    modules[n] = NULL;
    struct host h;
    host_init(&h);
    host_start(&h, modules);
    struct arena *a = arena_new();
    size_t vms = db_count(h.x->db, API_C_VM), metrics = db_count(h.x->db, API_C_VM_metrics);
    assert_null(make_vm(&h, a, "refuse create"));
    assert_int_equal(db_count(h.x->db, API_C_VM), vms);
    assert_int_equal(db_count(h.x->db, API_C_VM_metrics), metrics);
    const char *vm = make_vm(&h, a, "fine");
    assert_non_null(vm);
    struct rpc_reply r = call(&h, a, "VM.set_name_label", S(vm), S("refuse change"), NULL);
    assert_string_equal(code(&r), "OPERATION_NOT_ALLOWED");
    r = call(&h, a, "VM.get_name_label", S(vm), NULL);
    assert_string_equal(val_str(r.value), "fine");
    assert_null(call(&h, a, "VM.set_name_label", S(vm), S("refuse destroy"), NULL).error);
    r = call(&h, a, "VM.destroy", S(vm), NULL);
    assert_string_equal(code(&r), "OPERATION_NOT_ALLOWED");
    assert_null(call(&h, a, "VM.get_record", S(vm), NULL).error);
    /* the vm module's own hooks ran beside the test's */
    r = call(&h, a, "VM.get_metrics", S(vm), NULL);
    assert_string_not_equal(val_str(r.value), "OpaqueRef:NULL");
    assert_null(call(&h, a, "VM.set_name_label", S(vm), S("gone"), NULL).error);
    assert_null(call(&h, a, "VM.destroy", S(vm), NULL).error);
    arena_free(a);
    host_stop(&h);
    host_remove(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_xapis),          cmocka_unit_test(test_route_pool_of_one),
        cmocka_unit_test(test_route_other_host),   cmocka_unit_test(test_route_slave),
        cmocka_unit_test(test_class_hooks_refuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
