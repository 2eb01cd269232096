/*
 * vm_sync.c - the database kept in step with xenopsd.
 *
 * vm_sync_apply writes one VM.stat into a VM, its VM_metrics, its
 * VM_guest_metrics and its devices. Operations call it as they end; the
 * follower thread calls it for what changed behind xapi's back (a guest
 * that reboots or shuts itself down, its agent reporting), by
 * long-polling UPDATES.get. Whenever xenopsd was out of reach (at xapi's
 * start, after a restart of either daemon) the follower first
 * resynchronises every VM: each one xenopsd knows from its stat, and a VM
 * the database thinks runs here but xenopsd does not know is Halted.
 *
 * The follower never overwrites an operation: it skips a VM that has one
 * in current_operations, and it writes only if the VM did not change
 * between its look and its write (gen_modified), so a stat taken before an
 * operation ran never lands after it. What it skipped it remembers
 * ("dirty") and looks at again after each poll, once the operation is
 * over: the operation's own last stat may predate a change that came
 * while it finished (a guest's first report during a start).
 */
#include "vm/vm.h"
#include "api/api_value.h"
#include "hmap.h"
#include "ipc.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/* UPDATES.get blocks this long when nothing changes: also how long xapi's
 * stop may wait for the follower. */
#define VM_FOLLOW_POLL_S 1
#define VM_FOLLOW_CALL_MS 15000
/* Between two attempts to reach xenopsd. */
#define VM_FOLLOW_RETRY_MS 200
/* A VM that keeps changing under the follower is left to the next update. */
#define VM_FOLLOW_ATTEMPTS 3

static int64_t vm_stat_int(const struct val *stat, const char *name, int64_t dflt)
{
    const struct val *v = stat ? val_struct_get(stat, name) : NULL;
    return v && v->type == VAL_INT ? v->u.i : dflt;
}

/* A (string -> string) map from what xenopsd sent (strings or ints). */
static struct val *vm_string_map(struct arena *a, const struct val *v)
{
    struct val *m = val_struct(a);
    for (size_t i = 0; v && v->type == VAL_STRUCT && i < v->u.st.n; i++) {
        const struct val *item = v->u.st.members[i].value;
        const char *text =
            item->type == VAL_INT ? arena_printf(a, "%lld", (long long)item->u.i) : val_str(item);
        if (text)
            val_struct_add(a, m, v->u.st.members[i].name, val_string(a, text));
    }
    return m;
}

/* The object o's ref field name points at, created (empty) when missing. */
static struct db_obj *vm_sync_child(struct db_txn *t, struct arena *a, struct db *db,
                                    struct db_obj *o, const char *name, const char *cls_name)
{
    int cls = api_class_find(cls_name);
    struct db_obj *child = db_get(db, cls, vm_field_str(o, name));
    if (!child) {
        child = db_txn_create(t, cls, NULL, NULL);
        vm_field_set(t, o, name, val_string(a, child->ref));
    }
    return child;
}

static const char *vm_domain_type(const struct db_obj *o)
{
    const char *dt = vm_field_str(o, "domain_type");
    if (strcmp(dt, "unspecified") != 0 && *dt)
        return dt;
    return *vm_field_str(o, "HVM_boot_policy") ? "hvm" : "pv";
}

static void vm_sync_metrics(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *o,
                            const struct val *stat, bool live)
{
    struct db_obj *m = vm_sync_child(t, a, db, o, "metrics", "VM_metrics");
    bool changed = vm_field_set(t, m, "memory_actual",
                                val_int(a, live ? vm_stat_int(stat, "memory_actual", 0) : 0));
    changed |=
        vm_field_set(t, m, "VCPUs_number", val_int(a, live ? vm_stat_int(stat, "vcpus", 0) : 0));
    changed |= vm_field_set(t, m, "current_domain_type",
                            val_string(a, live ? vm_domain_type(o) : "unspecified"));
    changed |=
        vm_field_set(t, m, "hvm", val_bool(a, live && strcmp(vm_domain_type(o), "hvm") == 0));
    /* The last start stays once the VM halts, as upstream. */
    int64_t started = vm_stat_int(stat, "start_time", 0);
    if (live && started > 0)
        changed |= vm_field_set(t, m, "start_time", api_value_datetime(a, started));
    if (changed)
        vm_field_set(t, m, "last_updated", api_value_datetime(a, time(NULL)));
}

static bool vm_guest_reported(const struct val *g)
{
    if (!g || g->type != VAL_STRUCT)
        return false;
    static const char *const maps[] = {"pv_drivers_version", "os_version", "networks", "memory"};
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        const struct val *m = val_struct_get(g, maps[i]);
        if (m && m->type == VAL_STRUCT && m->u.st.n)
            return true;
    }
    return vm_stat_int(g, "last_updated", 0) > 0;
}

/* VM_guest_metrics from the guest agent's report; none once the guest is
 * gone (upstream drops them at shutdown). The agent's memory keys have no
 * field of their own in the datamodel, so they go into other. */
static void vm_sync_guest(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *o,
                          const struct val *stat, bool live)
{
    const struct val *g = stat ? val_struct_get(stat, "guest") : NULL;
    if (!live || !vm_guest_reported(g)) {
        struct db_obj *old =
            db_get(db, api_class_find("VM_guest_metrics"), vm_field_str(o, "guest_metrics"));
        if (old)
            db_txn_destroy(t, old);
        vm_field_set(t, o, "guest_metrics", val_string(a, API_NULL_REF));
        return;
    }
    struct db_obj *gm = vm_sync_child(t, a, db, o, "guest_metrics", "VM_guest_metrics");
    struct val *drivers = vm_string_map(a, val_struct_get(g, "pv_drivers_version"));
    bool pv = drivers->u.st.n > 0;
    bool changed = vm_field_set(t, gm, "PV_drivers_version", drivers);
    changed |= vm_field_set(t, gm, "os_version", vm_string_map(a, val_struct_get(g, "os_version")));
    changed |= vm_field_set(t, gm, "networks", vm_string_map(a, val_struct_get(g, "networks")));
    changed |= vm_field_set(t, gm, "other", vm_string_map(a, val_struct_get(g, "memory")));
    changed |= vm_field_set(t, gm, "PV_drivers_detected", val_bool(a, pv));
    changed |= vm_field_set(t, gm, "PV_drivers_up_to_date", val_bool(a, pv));
    changed |= vm_field_set(t, gm, "live", val_bool(a, true));
    changed |=
        vm_field_set(t, gm, "can_use_hotplug_vbd", val_string(a, pv ? "yes" : "unspecified"));
    changed |=
        vm_field_set(t, gm, "can_use_hotplug_vif", val_string(a, pv ? "yes" : "unspecified"));
    int64_t when = vm_stat_int(g, "last_updated", 0);
    if (changed || when > 0)
        vm_field_set(t, gm, "last_updated", api_value_datetime(a, when > 0 ? when : time(NULL)));
}

void vm_sync_apply(struct xapi *x, struct db_txn *t, struct arena *a, struct db_obj *o,
                   const struct val *stat)
{
    const char *now = vm_field_str(o, "power_state");
    const char *ps = stat ? val_str(val_struct_get(stat, "power_state")) : NULL;
    if (!stat) /* xenopsd does not know it: no domain of it can exist here */
        ps = strcmp(now, "Running") == 0 || strcmp(now, "Paused") == 0 ? "Halted" : now;
    if (!ps || (strcmp(ps, "Halted") && strcmp(ps, "Running") && strcmp(ps, "Paused") &&
                strcmp(ps, "Suspended"))) {
        log_warn(NULL, "xenopsd reports VM %s in power state %s: ignored", vm_field_str(o, "uuid"),
                 ps ? ps : "(none)");
        return;
    }
    bool live = strcmp(ps, "Running") == 0 || strcmp(ps, "Paused") == 0;
    if (strcmp(now, ps) != 0)
        log_info(NULL, "VM %s: %s -> %s", vm_field_str(o, "uuid"), now, ps);
    vm_field_set(t, o, "power_state", val_string(a, ps));
    vm_field_set(t, o, "domid", val_int(a, live ? vm_stat_int(stat, "domid", -1) : -1));
    vm_field_set(t, o, "resident_on", val_string(a, live ? x->id.host_ref : API_NULL_REF));
    vm_sync_metrics(t, a, x->db, o, stat, live);
    vm_sync_guest(t, a, x->db, o, stat, live);
    if (!live)
        vm_devices_unplugged(t, a, x->db, o);
    vm_refresh_allowed(t, a, o);
}

struct vm_view vm_view_get(struct xapi *x, struct arena *a, const char *uuid)
{
    struct rpc_reply r = xenops_call(x, a, "VM.stat", xenops_args(a, uuid, NULL));
    if (!r.error && r.value->type == VAL_STRUCT)
        return (struct vm_view){true, r.value};
    if (xenops_is_error(&r, "HANDLE_INVALID"))
        return (struct vm_view){true, NULL};
    return (struct vm_view){false, NULL};
}

/* --- the follower --- */

static int vm_cls(void)
{
    return api_class_find("VM");
}

/* The follower's own: what it skipped because an operation held it, as
 * "VM/uuid", "VBD/uuid" or "VIF/uuid". */
static struct hmap *vm_dirty;

static void vm_mark_dirty(const char *kind, const char *uuid)
{
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", kind, uuid);
    hmap_put(vm_dirty, key, vm_dirty);
}

/* Brings one VM up to date with xenopsd, unless an operation holds it. */
static void vm_follow_vm(struct xapi *x, const char *uuid)
{
    for (int attempt = 0; attempt < VM_FOLLOW_ATTEMPTS; attempt++) {
        db_read_lock(x->db);
        struct db_obj *o = db_get_by_uuid(x->db, vm_cls(), uuid);
        bool busy = o && vm_field(o, "current_operations")->u.st.n;
        bool skip = !o || busy || vm_field_bool(o, "is_control_domain");
        uint64_t seen = o ? o->gen_modified : 0;
        db_read_unlock(x->db);
        if (busy)
            vm_mark_dirty("VM", uuid);
        if (skip)
            return;
        struct arena *a = arena_new();
        struct vm_view view = vm_view_get(x, a, uuid);
        if (!view.known) {
            arena_free(a);
            return;
        }
        struct db_txn *t = db_begin(x->db);
        o = db_get_by_uuid(x->db, vm_cls(), uuid);
        if (!o || o->gen_modified != seen) {
            db_abort(t);
            arena_free(a);
            continue;
        }
        vm_sync_apply(x, t, a, o, view.stat);
        const char *err;
        if (db_commit(t, &err) < 0)
            log_warn(NULL, "VM %s: cannot record xenopsd's state: %s", uuid, err);
        arena_free(a);
        return;
    }
}

/* A VBD or VIF: plugged or not, as xenopsd says, unless its VM is busy. */
static void vm_follow_device(struct xapi *x, const char *kind, const char *uuid)
{
    int cls = api_class_find(kind);
    db_read_lock(x->db);
    struct db_obj *d = db_get_by_uuid(x->db, cls, uuid);
    struct db_obj *vm = d ? db_get(x->db, vm_cls(), vm_field_str(d, "VM")) : NULL;
    bool busy = vm && vm_field(vm, "current_operations")->u.st.n;
    uint64_t seen = d ? d->gen_modified : 0;
    db_read_unlock(x->db);
    if (busy)
        vm_mark_dirty(kind, uuid);
    if (!vm || busy)
        return;
    struct arena *a = arena_new();
    struct rpc_reply r =
        xenops_call(x, a, arena_printf(a, "%s.stat", kind), xenops_args(a, uuid, NULL));
    if (!r.error || xenops_is_error(&r, "HANDLE_INVALID")) {
        struct db_txn *t = db_begin(x->db);
        d = db_get_by_uuid(x->db, cls, uuid);
        if (d && d->gen_modified == seen) {
            vm_device_apply(t, a, d, r.error ? NULL : r.value);
            vm_device_refresh(t, a, x->db, d);
            const char *err;
            if (db_commit(t, &err) < 0)
                log_warn(NULL, "%s %s: cannot record xenopsd's state: %s", kind, uuid, err);
        } else {
            db_abort(t);
        }
    }
    arena_free(a);
}

static void vm_follow_update(struct xapi *x, const struct val *u)
{
    const char *kind = val_str(val_struct_get(u, "kind"));
    const char *id = val_str(val_struct_get(u, "id"));
    if (!kind || !id)
        return;
    if (strcmp(kind, "VM") == 0)
        vm_follow_vm(x, id);
    else if (strcmp(kind, "VBD") == 0 || strcmp(kind, "VIF") == 0)
        vm_follow_device(x, kind, id);
    /* Task updates: each operation follows its own task. */
}

/* host_metrics.memory_total from xenopsd's HOST.stat: the memory its
 * backend accounts (the simulator's sim-memory). Written when it changed;
 * what is free is host.compute_free_memory's, asked each time. */
static void vm_sync_host(struct xapi *x)
{
    struct arena *a = arena_new();
    struct rpc_reply r = xenops_call(x, a, "HOST.stat", NULL);
    int64_t total = vm_stat_int(r.error ? NULL : r.value, "memory_total", -1);
    if (total < 0) {
        arena_free(a);
        return;
    }
    struct db_txn *t = db_begin(x->db);
    struct db_obj *h = db_get(x->db, api_class_find("host"), x->id.host_ref);
    struct db_obj *m =
        h ? db_get(x->db, api_class_find("host_metrics"), vm_field_str(h, "metrics")) : NULL;
    bool changed = m && vm_field_set(t, m, "memory_total", val_int(a, total));
    const char *err;
    if (!changed) {
        db_abort(t);
    } else {
        vm_field_set(t, m, "last_updated", api_value_datetime(a, time(NULL)));
        if (db_commit(t, &err) < 0)
            log_warn(NULL, "cannot record the host's memory: %s", err);
    }
    arena_free(a);
}

/* UPDATES.get from last; -1 when xenopsd could not be reached or answered
 * nonsense. */
static int vm_follow_poll(struct xapi *x, struct ipc_client *cl, int64_t *last, int timeout_s,
                          bool apply)
{
    struct arena *a = arena_new();
    struct val *params = val_array(a);
    val_array_push(a, params, val_int(a, *last));
    val_array_push(a, params, val_int(a, timeout_s));
    struct rpc_reply r = {0};
    const char *err = NULL;
    int rc = ipc_call(cl, a, "UPDATES.get", params, &r, &err);
    const struct val *next = rc == 0 && !r.error ? val_struct_get(r.value, "last") : NULL;
    if (!next || next->type != VAL_INT) {
        if (rc == 0)
            log_warn(NULL, "xenopsd's UPDATES.get failed: %s",
                     r.error ? val_str(r.error->u.arr.items[0]) : "no last");
        arena_free(a);
        return -1;
    }
    /* A counter going back means xenopsd restarted: what it says now
     * starts from nothing, so resynchronise everything. */
    if (next->u.i < *last) {
        arena_free(a);
        return -1;
    }
    const struct val *ups = val_struct_get(r.value, "updates");
    for (size_t i = 0; apply && ups && ups->type == VAL_ARRAY && i < ups->u.arr.n; i++)
        vm_follow_update(x, ups->u.arr.items[i]);
    *last = next->u.i;
    arena_free(a);
    return 0;
}

/* Looks again at what operations held; what they still hold stays. */
static void vm_follow_dirty(struct xapi *x)
{
    if (!hmap_count(vm_dirty))
        return;
    struct hmap *todo = vm_dirty;
    vm_dirty = hmap_new(); /* what is still held gets marked again */
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(todo, &it, &key, &value);) {
        const char *uuid = strchr(key, '/') + 1;
        char kind[8];
        snprintf(kind, sizeof(kind), "%.*s", (int)(uuid - 1 - key), key);
        if (strcmp(kind, "VM") == 0)
            vm_follow_vm(x, uuid);
        else
            vm_follow_device(x, kind, uuid);
    }
    hmap_free(todo);
}

/* The VBDs and VIFs of the VM uuid, as xenopsd has them: an operation cut
 * short by a restart may have plugged some the database does not know. */
static void vm_resync_devices(struct xapi *x, const char *uuid)
{
    static const char *const sets[][2] = {{"VBDs", "VBD"}, {"VIFs", "VIF"}};
    struct arena *a = arena_new();
    struct val *ids[2] = {val_array(a), val_array(a)};
    db_read_lock(x->db);
    const struct db_obj *o = db_get_by_uuid(x->db, vm_cls(), uuid);
    for (size_t s = 0; o && s < 2; s++) {
        const struct val *refs = vm_field(o, sets[s][0]);
        for (size_t i = 0; i < refs->u.arr.n; i++) {
            const struct db_obj *d =
                db_get(x->db, api_class_find(sets[s][1]), val_str(refs->u.arr.items[i]));
            if (d)
                val_array_push(a, ids[s], val_string(a, vm_field_str(d, "uuid")));
        }
    }
    db_read_unlock(x->db);
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < ids[s]->u.arr.n; i++)
            vm_follow_device(x, sets[s][1], val_str(ids[s]->u.arr.items[i]));
    arena_free(a);
}

/* A VM the database has running or paused here that xenopsd does not know
 * (in ids) is Halted; VMs that changed since gen are left to their own
 * operation. */
static void vm_resync_missing(struct xapi *x, struct hmap *ids, uint64_t gen)
{
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(x->db);
    for (struct db_obj *o = db_first(x->db, vm_cls()); o; o = o->next) {
        const char *ps = vm_field_str(o, "power_state");
        if (vm_field_bool(o, "is_control_domain") || o->gen_modified > gen ||
            vm_field(o, "current_operations")->u.st.n || hmap_get(ids, vm_field_str(o, "uuid")) ||
            (strcmp(ps, "Running") != 0 && strcmp(ps, "Paused") != 0))
            continue;
        log_info(NULL, "VM %s was %s but xenopsd does not know it", vm_field_str(o, "uuid"), ps);
        vm_sync_apply(x, t, a, o, NULL);
    }
    const char *err;
    if (db_commit(t, &err) < 0)
        log_warn(NULL, "cannot record the VMs xenopsd lost: %s", err);
    arena_free(a);
}

/* Every VM from xenopsd's view; the update stream's position first, so
 * that nothing after it is missed. */
static int vm_resync_all(struct xapi *x, struct ipc_client *cl, int64_t *last)
{
    *last = 0;
    if (vm_follow_poll(x, cl, last, 0, false) < 0)
        return -1;
    db_read_lock(x->db);
    uint64_t gen = db_generation(x->db);
    db_read_unlock(x->db);
    struct arena *a = arena_new();
    struct rpc_reply r = xenops_call(x, a, "VM.list", NULL);
    if (r.error || r.value->type != VAL_ARRAY) {
        arena_free(a);
        return -1;
    }
    struct hmap *ids = hmap_new();
    for (size_t i = 0; i < r.value->u.arr.n; i++) {
        const char *id = val_str(r.value->u.arr.items[i]);
        if (id) {
            hmap_put(ids, id, (void *)id);
            vm_follow_vm(x, id);
            vm_resync_devices(x, id);
        }
    }
    vm_resync_missing(x, ids, gen);
    vm_sync_host(x);
    log_info(NULL, "resynchronised with xenopsd: it has %zu VMs", hmap_count(ids));
    hmap_free(ids);
    arena_free(a);
    return 0;
}

static void *vm_follow_main(void *arg)
{
    struct xapi *x = arg;
    struct ipc_client *cl = ipc_client_new(x->xenops->path, VM_FOLLOW_CALL_MS);
    int64_t last = 0;
    bool warned = false;
    vm_dirty = hmap_new();
    while (!xenops_stopping(x)) {
        int rc = 0;
        if (xenops_take_resync(x))
            rc = vm_resync_all(x, cl, &last);
        if (rc == 0)
            rc = vm_follow_poll(x, cl, &last, VM_FOLLOW_POLL_S, true);
        if (rc == 0)
            vm_follow_dirty(x);
        if (rc < 0) {
            if (!warned)
                log_warn(NULL, "xenopsd is not reachable at %s: retrying", x->xenops->path);
            warned = true;
            xenops_want_resync(x);
            xenops_nap(x, VM_FOLLOW_RETRY_MS);
        } else {
            warned = false;
        }
    }
    ipc_client_free(cl);
    hmap_free(vm_dirty);
    vm_dirty = NULL;
    return NULL;
}

/* --- start and stop --- */

/* Nothing runs yet: an operation listed now (on a VM, VBD or VIF) was cut
 * short by a stop or a crash, and is gone. allowed_operations is
 * refreshed for every one. */
static void vm_clear_operations(struct xapi *x)
{
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(x->db);
    int cleared = 0;
    static const char *const classes[] = {"VM", "VBD", "VIF"};
    for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++) {
        for (struct db_obj *o = db_first(x->db, api_class_find(classes[k])); o; o = o->next) {
            if (vm_field(o, "current_operations")->u.st.n) {
                log_info(NULL, "%s %s: %s was in progress when xapi stopped: cleared", classes[k],
                         vm_field_str(o, "uuid"),
                         val_str(vm_field(o, "current_operations")->u.st.members[0].value));
                cleared++;
            }
            vm_field_set(t, o, "current_operations", val_struct(a));
            if (k == 0)
                vm_refresh_allowed(t, a, o);
            else
                vm_device_refresh(t, a, x->db, o);
        }
    }
    const char *err;
    if (db_commit(t, &err) < 0)
        log_error(NULL, "cannot clear the operations of the previous run: %s", err);
    else if (cleared)
        log_info(NULL, "cleared %d operation(s) of the previous run", cleared);
    arena_free(a);
}

/* xenopsd's tasks still pending when xapi starts belong to operations of
 * a previous run, which nobody follows any more (their VMs were just
 * cleared); left alone, a clean shutdown's would hold its VM's queue for
 * its whole timeout. They are cancelled. */
static void vm_cancel_orphans(struct xapi *x)
{
    struct arena *a = arena_new();
    struct rpc_reply r = xenops_call(x, a, "TASK.list", NULL);
    int cancelled = 0;
    for (size_t i = 0; !r.error && r.value->type == VAL_ARRAY && i < r.value->u.arr.n; i++) {
        const char *id = val_str(r.value->u.arr.items[i]);
        if (id && !xenops_call(x, a, "TASK.cancel", xenops_args(a, id, NULL)).error)
            cancelled++;
    }
    if (cancelled)
        log_info(NULL, "cancelled %d xenopsd task(s) of the previous run", cancelled);
    arena_free(a);
}

void vm_service_start(struct xapi *x)
{
    x->xenops = xenops_new(x->run_dir);
    vm_clear_operations(x);
    vm_cancel_orphans(x);
    int rc = pthread_create(&x->xenops->follower, NULL, vm_follow_main, x);
    if (rc != 0)
        log_error(NULL, "cannot start the xenopsd follower: %s", strerror(rc));
    x->xenops->follower_running = rc == 0;
}

void vm_service_stop(struct xapi *x)
{
    if (!x->xenops)
        return;
    xenops_request_stop(x->xenops);
    if (x->xenops->follower_running)
        pthread_join(x->xenops->follower, NULL);
    x->xenops->follower_running = false;
}

void vm_service_free(struct xapi *x)
{
    xenops_free(x->xenops);
    x->xenops = NULL;
}
