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
#include "clock.h"
#include "hmap.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
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

/* The object o's ref field f points at, created (empty) when missing. */
static struct db_obj *vm_sync_child(struct db_txn *t, struct arena *a, struct db *db,
                                    struct db_obj *o, api_field_id f)
{
    struct db_obj *child = db_obj_follow(db, o, f);
    if (!child) {
        child = db_txn_create(t, api_field(f)->type->cls, NULL, NULL);
        db_txn_update(t, o, f, val_string(a, child->ref));
    }
    return child;
}

static void vm_sync_metrics(struct db_txn *t, struct arena *a, struct db *db, struct db_obj *o,
                            const struct val *stat, bool live)
{
    struct db_obj *m = vm_sync_child(t, a, db, o, API_F_VM_metrics);
    bool changed = db_txn_update(t, m, API_F_VM_metrics_memory_actual,
                                 val_int(a, live ? vm_stat_int(stat, "memory_actual", 0) : 0));
    changed |= db_txn_update(t, m, API_F_VM_metrics_VCPUs_number,
                             val_int(a, live ? vm_stat_int(stat, "vcpus", 0) : 0));
    changed |= db_txn_update(t, m, API_F_VM_metrics_current_domain_type,
                             val_string(a, live ? vm_domain_type(o) : "unspecified"));
    changed |= db_txn_update(t, m, API_F_VM_metrics_hvm,
                             val_bool(a, live && strcmp(vm_domain_type(o), "hvm") == 0));
    /* The last start stays once the VM halts, as upstream. */
    int64_t started = vm_stat_int(stat, "start_time", 0);
    if (live && started > 0)
        changed |= db_txn_update(t, m, API_F_VM_metrics_start_time, api_value_datetime(a, started));
    if (changed)
        db_txn_update(t, m, API_F_VM_metrics_last_updated, api_value_datetime(a, time(NULL)));
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
        struct db_obj *old = db_obj_follow(db, o, API_F_VM_guest_metrics);
        if (old)
            db_txn_destroy(t, old);
        db_txn_update(t, o, API_F_VM_guest_metrics, val_string(a, API_NULL_REF));
        return;
    }
    struct db_obj *gm = vm_sync_child(t, a, db, o, API_F_VM_guest_metrics);
    struct val *drivers = vm_string_map(a, val_struct_get(g, "pv_drivers_version"));
    bool pv = drivers->u.st.n > 0;
    const char *hotplug = pv ? "yes" : "unspecified";
    bool changed = db_txn_update(t, gm, API_F_VM_guest_metrics_PV_drivers_version, drivers);
    changed |= db_txn_update(t, gm, API_F_VM_guest_metrics_os_version,
                             vm_string_map(a, val_struct_get(g, "os_version")));
    changed |= db_txn_update(t, gm, API_F_VM_guest_metrics_networks,
                             vm_string_map(a, val_struct_get(g, "networks")));
    changed |= db_txn_update(t, gm, API_F_VM_guest_metrics_other,
                             vm_string_map(a, val_struct_get(g, "memory")));
    changed |= db_txn_update(t, gm, API_F_VM_guest_metrics_PV_drivers_detected, val_bool(a, pv));
    changed |= db_txn_update(t, gm, API_F_VM_guest_metrics_PV_drivers_up_to_date, val_bool(a, pv));
    changed |= db_txn_update(t, gm, API_F_VM_guest_metrics_live, val_bool(a, true));
    changed |=
        db_txn_update(t, gm, API_F_VM_guest_metrics_can_use_hotplug_vbd, val_string(a, hotplug));
    changed |=
        db_txn_update(t, gm, API_F_VM_guest_metrics_can_use_hotplug_vif, val_string(a, hotplug));
    int64_t when = vm_stat_int(g, "last_updated", 0);
    if (changed || when > 0)
        db_txn_update(t, gm, API_F_VM_guest_metrics_last_updated,
                      api_value_datetime(a, when > 0 ? when : time(NULL)));
}

void vm_sync_apply(struct xapi *x, struct db_txn *t, struct arena *a, struct db_obj *o,
                   const struct val *stat)
{
    const char *now = db_obj_str(o, API_F_VM_power_state);
    const char *uuid = db_obj_str(o, API_F_VM_uuid);
    const char *ps = stat ? val_str(val_struct_get(stat, "power_state")) : NULL;
    if (!stat) /* xenopsd does not know it: no domain of it can exist here */
        ps = strcmp(now, "Running") == 0 || strcmp(now, "Paused") == 0 ? "Halted" : now;
    if (!ps || (strcmp(ps, "Halted") && strcmp(ps, "Running") && strcmp(ps, "Paused") &&
                strcmp(ps, "Suspended"))) {
        log_warn(NULL, "xenopsd reports VM %s in power state %s: ignored", uuid,
                 ps ? ps : "(none)");
        return;
    }
    bool live = strcmp(ps, "Running") == 0 || strcmp(ps, "Paused") == 0;
    if (strcmp(now, ps) != 0)
        log_info(NULL, "VM %s: %s -> %s", uuid, now, ps);
    db_txn_update(t, o, API_F_VM_power_state, val_string(a, ps));
    db_txn_update(t, o, API_F_VM_domid, val_int(a, live ? vm_stat_int(stat, "domid", -1) : -1));
    db_txn_update(t, o, API_F_VM_resident_on, val_string(a, live ? x->id.host_ref : API_NULL_REF));
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
    if (xenops_is_error(&r, API_ERR_HANDLE_INVALID))
        return (struct vm_view){true, NULL};
    return (struct vm_view){false, NULL};
}

/* --- the follower --- */

/* What the follower skipped because an operation held it, to look at
 * again: "VM/uuid", "VBD/uuid" or "VIF/uuid" (the class of the object). */
static void vm_mark_dirty(struct xapi *x, int cls, const char *uuid)
{
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", api_classes[cls].name, uuid);
    hmap_put(x->vm->dirty, key, x->vm->dirty);
}

/* Brings one VM up to date with xenopsd, unless an operation holds it. */
static void vm_follow_vm(struct xapi *x, const char *uuid)
{
    for (int attempt = 0; attempt < VM_FOLLOW_ATTEMPTS; attempt++) {
        db_read_lock(x->db);
        struct db_obj *o = db_get_by_uuid(x->db, API_C_VM, uuid);
        bool busy = o && vm_busy(o);
        bool skip = !o || busy || db_obj_bool(o, API_F_VM_is_control_domain);
        uint64_t seen = o ? o->gen_modified : 0;
        db_read_unlock(x->db);
        if (busy)
            vm_mark_dirty(x, API_C_VM, uuid);
        if (skip)
            return;
        struct arena *a = arena_new();
        struct vm_view view = vm_view_get(x, a, uuid);
        if (!view.known) {
            arena_free(a);
            return;
        }
        struct db_txn *t = db_begin(x->db);
        o = db_get_by_uuid(x->db, API_C_VM, uuid);
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

/* A VBD or VIF (cls): plugged or not, as xenopsd says, unless its VM is
 * busy. */
static void vm_follow_device(struct xapi *x, int cls, const char *uuid)
{
    const char *kind = api_classes[cls].name;
    db_read_lock(x->db);
    struct db_obj *d = db_get_by_uuid(x->db, cls, uuid);
    struct db_obj *vm = d ? vm_device_vm(x->db, d) : NULL;
    bool busy = vm && vm_busy(vm);
    uint64_t seen = d ? d->gen_modified : 0;
    db_read_unlock(x->db);
    if (busy)
        vm_mark_dirty(x, cls, uuid);
    if (!vm || busy)
        return;
    struct arena *a = arena_new();
    struct rpc_reply r =
        xenops_call(x, a, arena_printf(a, "%s.stat", kind), xenops_args(a, uuid, NULL));
    if (!r.error || xenops_is_error(&r, API_ERR_HANDLE_INVALID)) {
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

/* The class xenopsd's update kind ("VM", "VBD", "VIF", "task") stands
 * for, or -1 (for tasks: each operation follows its own). */
static int vm_update_class(const char *kind)
{
    static const int classes[] = {API_C_VM, API_C_VBD, API_C_VIF};
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(kind, api_classes[classes[i]].name) == 0)
            return classes[i];
    return -1;
}

/* One object, as its class wants it followed. */
static void vm_follow(struct xapi *x, int cls, const char *uuid)
{
    if (cls == API_C_VM)
        vm_follow_vm(x, uuid);
    else if (cls >= 0)
        vm_follow_device(x, cls, uuid);
}

static void vm_follow_update(struct xapi *x, const struct val *u)
{
    const char *kind = val_str(val_struct_get(u, "kind"));
    const char *id = val_str(val_struct_get(u, "id"));
    if (kind && id)
        vm_follow(x, vm_update_class(kind), id);
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
    struct db_obj *h = db_get(x->db, API_C_host, x->id.host_ref);
    struct db_obj *m = h ? db_obj_follow(x->db, h, API_F_host_metrics) : NULL;
    bool changed = m && db_txn_update(t, m, API_F_host_metrics_memory_total, val_int(a, total));
    const char *err;
    if (!changed) {
        db_abort(t);
    } else {
        db_txn_update(t, m, API_F_host_metrics_last_updated, api_value_datetime(a, time(NULL)));
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
    if (!hmap_count(x->vm->dirty))
        return;
    struct hmap *todo = x->vm->dirty;
    x->vm->dirty = hmap_new(); /* what is still held gets marked again */
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(todo, &it, &key, &value);) {
        const char *uuid = strchr(key, '/') + 1;
        char kind[8];
        snprintf(kind, sizeof(kind), "%.*s", (int)(uuid - 1 - key), key);
        vm_follow(x, vm_update_class(kind), uuid);
    }
    hmap_free(todo);
}

/* The VBDs and VIFs of the VM uuid, as xenopsd has them: an operation cut
 * short by a restart may have plugged some the database does not know. */
static void vm_resync_devices(struct xapi *x, const char *uuid)
{
    static const api_field_id sets[] = {API_F_VM_VBDs, API_F_VM_VIFs};
    static const api_field_id uuids[] = {API_F_VBD_uuid, API_F_VIF_uuid};
    struct arena *a = arena_new();
    struct val *ids[2] = {val_array(a), val_array(a)};
    db_read_lock(x->db);
    const struct db_obj *o = db_get_by_uuid(x->db, API_C_VM, uuid);
    for (size_t s = 0; o && s < 2; s++) {
        const struct db_obj *d;
        for (size_t i = 0; (d = db_obj_next(x->db, o, sets[s], &i));)
            val_array_push(a, ids[s], val_string(a, db_obj_str(d, uuids[s])));
    }
    db_read_unlock(x->db);
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < ids[s]->u.arr.n; i++)
            vm_follow_device(x, API_FIELD_CLASS(uuids[s]), val_str(ids[s]->u.arr.items[i]));
    arena_free(a);
}

/* A VM the database has running or paused here that xenopsd does not know
 * (in ids) is Halted; VMs that changed since gen are left to their own
 * operation. */
static void vm_resync_missing(struct xapi *x, struct hmap *ids, uint64_t gen)
{
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(x->db);
    for (struct db_obj *o = db_first(x->db, API_C_VM); o; o = db_next(x->db, o)) {
        const char *uuid = db_obj_str(o, API_F_VM_uuid);
        if (db_obj_bool(o, API_F_VM_is_control_domain) || o->gen_modified > gen || vm_busy(o) ||
            hmap_get(ids, uuid) || !vm_is_live(o))
            continue;
        log_info(NULL, "VM %s was %s but xenopsd does not know it", uuid,
                 db_obj_str(o, API_F_VM_power_state));
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

/* Sleeps up to ms, less when xapi stops. */
static void vm_nap(struct vm_service *vs, int ms)
{
    int64_t until = clock_now_ms() + ms;
    pthread_mutex_lock(&vs->nap_lock);
    while (!atomic_load(&vs->stop) && clock_cond_wait_until(&vs->nap_cond, &vs->nap_lock, until))
        ;
    pthread_mutex_unlock(&vs->nap_lock);
}

static void *vm_follow_main(void *arg)
{
    struct xapi *x = arg;
    struct ipc_client *cl = ipc_client_new(x->xenops->path, VM_FOLLOW_CALL_MS);
    int64_t last = 0;
    bool warned = false;
    while (!atomic_load(&x->vm->stop)) {
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
            vm_nap(x->vm, VM_FOLLOW_RETRY_MS);
        } else {
            warned = false;
        }
    }
    ipc_client_free(cl);
    return NULL;
}

/* --- start and stop --- */

/* current_operations and allowed_operations of VMs, VBDs and VIFs are
 * runtime-only (schema/overlay.json): they load empty, as no operation
 * runs yet, and what each object allows is computed again. */
static void vm_refresh_all_allowed(struct xapi *x)
{
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(x->db);
    for (struct db_obj *o = db_first(x->db, API_C_VM); o; o = db_next(x->db, o))
        vm_refresh_allowed(t, a, o);
    static const int devices[] = {API_C_VBD, API_C_VIF};
    for (size_t k = 0; k < sizeof(devices) / sizeof(devices[0]); k++)
        for (struct db_obj *o = db_first(x->db, devices[k]); o; o = db_next(x->db, o))
            vm_device_refresh(t, a, x->db, o);
    const char *err;
    if (db_commit(t, &err) < 0)
        log_error(NULL, "cannot record the operations VMs and devices allow: %s", err);
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

int vm_service_start(struct xapi *x)
{
    struct vm_service *vs = xcalloc(1, sizeof(*vs));
    atomic_init(&vs->stop, false);
    pthread_mutex_init(&vs->nap_lock, NULL);
    clock_cond_init(&vs->nap_cond);
    vs->dirty = hmap_new();
    x->vm = vs;
    vm_refresh_all_allowed(x);
    vm_cancel_orphans(x);
    int rc = pthread_create(&vs->follower, NULL, vm_follow_main, x);
    if (rc != 0) {
        log_error(NULL, "cannot start the xenopsd follower: %s", strerror(rc));
        return -1;
    }
    vs->follower_running = true;
    return 0;
}

int vm_service_stop(struct xapi *x)
{
    struct vm_service *vs = x->vm;
    if (!vs)
        return 0;
    pthread_mutex_lock(&vs->nap_lock);
    atomic_store(&vs->stop, true);
    pthread_cond_broadcast(&vs->nap_cond);
    pthread_mutex_unlock(&vs->nap_lock);
    if (vs->follower_running)
        pthread_join(vs->follower, NULL);
    vs->follower_running = false;
    return 0;
}

void vm_service_free(struct xapi *x)
{
    struct vm_service *vs = x->vm;
    if (!vs)
        return;
    hmap_free(vs->dirty);
    pthread_mutex_destroy(&vs->nap_lock);
    pthread_cond_destroy(&vs->nap_cond);
    free(vs);
    x->vm = NULL;
}
