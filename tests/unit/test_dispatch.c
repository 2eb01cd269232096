/*
 * test_dispatch.c - the dispatcher on a real database: parameter counts,
 * sessions, argument types, and role checks for a session whose subject
 * holds only the read-only role (a session the API cannot create without
 * external authentication, so the test makes it in the database).
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
#include "db/db.h"
#include "log.h"
#include "core/xapi.h"
#include "xapi_harness.h"

struct fixture {
    char dir[64];
    struct xapi *x;
    char root_session[IDS_REF_LEN + 1];
    char ro_session[IDS_REF_LEN + 1];
};

static struct rpc_reply call(struct fixture *fx, struct arena *a, const char *method, ...)
{
    struct rpc_call c = {.method = method, .params = val_array(a)};
    va_list ap;
    va_start(ap, method);
    for (const char *s; (s = va_arg(ap, const char *));)
        val_array_push(a, c.params, val_string(a, s));
    va_end(ap);
    struct rpc_reply r = xapi_dispatch(fx->x, a, &c, "test", NULL);
    r.value = harness_value(a, r.value);
    return r;
}

static const char *error_code(const struct rpc_reply *r)
{
    return r->error ? val_str(r->error->u.arr.items[0]) : NULL;
}

/* A subject holding the read-only role (made by the start-up sync), and a
 * session of that subject. */
static void make_read_only_session(struct fixture *fx)
{
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(fx->x->db);
    struct db_obj *r;
    assert_int_equal(db_get_by_name_label(fx->x->db, API_C_role, "read-only", &r, 1), 1);
    struct db_values v = db_values_new(a, API_C_subject);
    struct val *roles = val_array(a);
    val_array_push(a, roles, val_string(a, r->ref));
    db_values_set(&v, API_F_subject_roles, roles);
    db_values_set(&v, API_F_subject_subject_identifier, val_string(a, "S-1-5-21-42"));
    struct db_obj *s = db_txn_create(t, API_C_subject, &v, NULL);
    v = db_values_new(a, API_C_session);
    db_values_set(&v, API_F_session_subject, val_string(a, s->ref));
    db_values_set(&v, API_F_session_last_active, val_datetime(a, "20991231T00:00:00Z"));
    struct db_obj *ro = db_txn_create(t, API_C_session, &v, NULL);
    strcpy(fx->ro_session, ro->ref);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    arena_free(a);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    harness_host_init(fx->dir, sizeof(fx->dir), "/tmp/cx-dispatch-XXXXXX", "secret");
    fx->x = harness_xapi_start(fx->dir, NULL, NULL, "secret", fx->root_session);
    make_read_only_session(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    harness_xapi_stop(fx->x);
    harness_host_remove(fx->dir);
    free(fx);
    return 0;
}

static void test_dispatch_errors(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    struct rpc_reply r = call(fx, a, "VM.no_such_thing", fx->root_session, NULL);
    assert_string_equal(error_code(&r), "MESSAGE_METHOD_UNKNOWN");
    assert_string_equal(val_str(r.error->u.arr.items[1]), "VM.no_such_thing");
    r = call(fx, a, "pool.get_all", NULL);
    assert_string_equal(error_code(&r), "MESSAGE_PARAMETER_COUNT_MISMATCH");
    assert_string_equal(val_str(r.error->u.arr.items[2]), "1");
    assert_string_equal(val_str(r.error->u.arr.items[3]), "0");
    r = call(fx, a, "pool.get_all", "OpaqueRef:nope", NULL);
    assert_string_equal(error_code(&r), "SESSION_INVALID");
    r = call(fx, a, "pool.get_name_label", fx->root_session, "OpaqueRef:nope", NULL);
    assert_string_equal(error_code(&r), "HANDLE_INVALID");
    assert_string_equal(val_str(r.error->u.arr.items[1]), "pool");
    r = call(fx, a, "pool.set_ha_allow_overcommit", fx->root_session, fx->x->id.pool_ref, "maybe",
             NULL);
    assert_string_equal(error_code(&r), "FIELD_TYPE_ERROR");
    r = call(fx, a, "session.login_with_password", "root", "wrong", NULL);
    assert_string_equal(error_code(&r), "SESSION_AUTHENTICATION_FAILED");
    arena_free(a);
}

static void test_dispatch_read_only_role(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    struct rpc_reply r =
        call(fx, a, "pool.get_name_label", fx->ro_session, fx->x->id.pool_ref, NULL);
    assert_null(r.error);
    r = call(fx, a, "pool.get_all_records", fx->ro_session, NULL);
    assert_null(r.error);
    r = call(fx, a, "pool.set_name_label", fx->ro_session, fx->x->id.pool_ref, "mine", NULL);
    assert_string_equal(error_code(&r), "RBAC_PERMISSION_DENIED");
    assert_string_equal(val_str(r.error->u.arr.items[1]), "pool.set_name_label");
    r = call(fx, a, "pool.set_name_label", fx->root_session, fx->x->id.pool_ref, "mine", NULL);
    assert_null(r.error);
    /* the read-only role's permissions are its messages, in lower case */
    r = call(fx, a, "subject.get_all", fx->root_session, NULL);
    assert_int_equal(r.value->u.arr.n, 1);
    r = call(fx, a, "subject.get_permissions_name_label", fx->root_session,
             val_str(r.value->u.arr.items[0]), NULL);
    assert_null(r.error);
    bool get = false, set = false;
    for (size_t i = 0; i < r.value->u.arr.n; i++) {
        get |= strcmp(val_str(r.value->u.arr.items[i]), "pool.get_name_label") == 0;
        set |= strcmp(val_str(r.value->u.arr.items[i]), "pool.set_name_label") == 0;
    }
    assert_true(get);
    assert_false(set);
    r = call(fx, a, "session.get_all_subject_identifiers", fx->root_session, NULL);
    assert_string_equal(val_str(r.value->u.arr.items[0]), "S-1-5-21-42");
    r = call(fx, a, "session.logout_subject_identifier", fx->root_session, "S-1-5-21-42", NULL);
    assert_null(r.error);
    r = call(fx, a, "pool.get_all", fx->ro_session, NULL);
    assert_string_equal(error_code(&r), "SESSION_INVALID");
    arena_free(a);
}

static void test_dispatch_change_password(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    struct rpc_reply r =
        call(fx, a, "session.change_password", fx->root_session, "secret", "better", NULL);
    if (r.error)
        fail_msg("change_password: %s %s", error_code(&r),
                 r.error->u.arr.n > 1 ? val_str(r.error->u.arr.items[1]) : "");
    r = call(fx, a, "session.login_with_password", "root", "better", NULL);
    assert_null(r.error);
    struct host_identity id;
    const char *err;
    assert_int_equal(hostdir_load(a, fx->dir, &id, &err), 0);
    assert_true(passwd_check("better", id.root_password_hash));
    /* the old one no longer, even though the cache had it */
    r = call(fx, a, "session.login_with_password", "root", "secret", NULL);
    assert_non_null(r.error);
    arena_free(a);
}

static void test_dispatch_idle_session_expires(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(fx->x->db);
    struct db_obj *s = db_get(fx->x->db, API_C_session, fx->root_session);
    db_txn_set(t, s, API_F_session_last_active, val_datetime(a, "20200101T00:00:00Z"));
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    struct rpc_reply r = call(fx, a, "pool.get_all", fx->root_session, NULL);
    assert_string_equal(error_code(&r), "SESSION_INVALID");
    r = call(fx, a, "session.login_with_password", "root", "secret", NULL);
    assert_null(r.error);
    db_read_lock(fx->x->db);
    assert_null(db_get(fx->x->db, API_C_session, fx->root_session)); /* swept at login */
    db_read_unlock(fx->x->db);
    arena_free(a);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_read_only_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_change_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_idle_session_expires, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
