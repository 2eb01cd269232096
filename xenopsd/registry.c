/*
 * registry.c - the VMs and devices xenopsd knows (registered with *.add,
 * reloaded from files at start) and the calls answered without a task:
 * add, remove, list, stat. Adds and removes reach the VM's file before
 * the reply, so an acknowledged registration survives kill -9.
 */
#include "xenopsd.h"
#include "ids.h"
#include "log.h"
#include "mem.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XO_VCPUS_MAX 512
#define XO_REQUIRED INT64_MIN

void xo_init(struct xenopsd *x)
{
    pthread_mutex_init(&x->lock, NULL);
    pthread_cond_init(&x->work, NULL);
    x->vms = hmap_new();
    x->devs = hmap_new();
    x->queued = hmap_new();
}

void xo_destroy(struct xenopsd *x)
{
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(x->vms, &it, &key, &value);)
        xo_vm_free(value);
    hmap_free(x->vms);
    hmap_free(x->devs);
    hmap_free(x->queued);
    pthread_cond_destroy(&x->work);
    pthread_mutex_destroy(&x->lock);
}

const char *xo_dev_kind_name(enum xo_dev_kind kind)
{
    return kind == XO_VBD ? "VBD" : "VIF";
}

/* --- reading a configuration ------------------------------------------ */

static int cfg_int(const struct val *cfg, const char *name, int64_t def, int64_t min, int64_t max,
                   int64_t *out, struct arena *a, struct val **err)
{
    const struct val *v = val_struct_get(cfg, name);
    if (!v || v->type == VAL_NIL) {
        if (def == XO_REQUIRED)
            return xo_fail(a, err, "FIELD_TYPE_ERROR", name, NULL);
        *out = def;
        return 0;
    }
    if (v->type != VAL_INT)
        return xo_fail(a, err, "FIELD_TYPE_ERROR", name, NULL);
    if (v->u.i < min || v->u.i > max)
        return xo_fail(a, err, "INVALID_VALUE", name, arena_printf(a, "%" PRId64, v->u.i), NULL);
    *out = v->u.i;
    return 0;
}

/* A string member, def when absent; NULL with *err if not a string. */
static const char *cfg_str(const struct val *cfg, const char *name, const char *def,
                           struct arena *a, struct val **err)
{
    const struct val *v = val_struct_get(cfg, name);
    if (!v || v->type == VAL_NIL)
        return def;
    if (v->type != VAL_STRING) {
        xo_fail(a, err, "FIELD_TYPE_ERROR", name, NULL);
        return NULL;
    }
    return v->u.str.ptr;
}

static int cfg_id(const struct val *cfg, const char *name, char out[XO_ID_MAX], struct arena *a,
                  struct val **err)
{
    const char *id = cfg_str(cfg, name, NULL, a, err);
    if (!id)
        return *err ? -1 : xo_fail(a, err, "FIELD_TYPE_ERROR", name, NULL);
    /* Ids name files: only uuids, which cannot climb out of the dir. */
    if (!ids_is_uuid(id))
        return xo_fail(a, err, "INVALID_VALUE", name, id, NULL);
    snprintf(out, XO_ID_MAX, "%s", id);
    return 0;
}

static int cfg_one_of(const char *value, const char *name, const char *const *allowed,
                      struct arena *a, struct val **err)
{
    for (; *allowed; allowed++)
        if (strcmp(value, *allowed) == 0)
            return 0;
    return xo_fail(a, err, "INVALID_VALUE", name, value, NULL);
}

static int cfg_map(const struct val *cfg, const char *name, struct arena *a, struct val **err)
{
    const struct val *v = val_struct_get(cfg, name);
    if (v && v->type != VAL_STRUCT && v->type != VAL_NIL)
        return xo_fail(a, err, "FIELD_TYPE_ERROR", name, NULL);
    return 0;
}

static int xo_vm_read_memory(struct xo_vm *vm, const struct val *cfg, struct arena *a,
                             struct val **err)
{
    int64_t smax, dmax, dmin;
    if (cfg_int(cfg, "memory_static_max", XO_REQUIRED, 1, INT64_MAX / 2, &smax, a, err) < 0 ||
        cfg_int(cfg, "memory_dynamic_max", smax, 1, INT64_MAX / 2, &dmax, a, err) < 0 ||
        cfg_int(cfg, "memory_dynamic_min", dmax, 1, INT64_MAX / 2, &dmin, a, err) < 0)
        return -1;
    if (dmax > smax)
        return xo_fail(a, err, "MEMORY_CONSTRAINT_VIOLATION",
                       "memory_dynamic_max <= memory_static_max", NULL);
    if (dmin > dmax)
        return xo_fail(a, err, "MEMORY_CONSTRAINT_VIOLATION",
                       "memory_dynamic_min <= memory_dynamic_max", NULL);
    vm->memory_static_max = smax;
    vm->memory_dynamic_max = dmax;
    vm->memory_dynamic_min = dmin;
    return 0;
}

static int xo_vm_read_cpus(struct xo_vm *vm, const struct val *cfg, struct arena *a,
                           struct val **err)
{
    int64_t vmax = 1, v = 1; /* set by cfg_int; gcc -O3 cannot tell */
    if (cfg_int(cfg, "vcpus_max", 1, 1, XO_VCPUS_MAX, &vmax, a, err) < 0 ||
        cfg_int(cfg, "vcpus", vmax, 1, vmax, &v, a, err) < 0)
        return -1;
    vm->vcpus_max = (int)vmax;
    vm->vcpus = (int)v;
    const struct val *hvm = val_struct_get(cfg, "hvm");
    if (hvm && hvm->type != VAL_BOOL && hvm->type != VAL_NIL)
        return xo_fail(a, err, "FIELD_TYPE_ERROR", "hvm", NULL);
    vm->hvm = hvm && hvm->type == VAL_BOOL && hvm->u.b;
    return 0;
}

/* Points the VM's strings into its (flattened) config. */
static void xo_vm_bind_strings(struct xo_vm *vm)
{
    const struct val *name = val_struct_get(vm->config, "name");
    vm->name = val_str(name) ? val_str(name) : "";
    vm->guest = val_str(val_struct_get(val_struct_get(vm->config, "other"), "sim_guest"));
}

struct xo_vm *xo_vm_from_config(const struct val *cfg, struct arena *a, struct val **err)
{
    static const char *const guests[] = {"full", "no-ack", "none", NULL};
    struct xo_vm probe = {0};
    *err = NULL;
    if (!cfg || cfg->type != VAL_STRUCT) {
        xo_fail(a, err, "FIELD_TYPE_ERROR", "vm", NULL);
        return NULL;
    }
    const char *name = cfg_str(cfg, "name", "", a, err);
    if (cfg_id(cfg, "id", probe.id, a, err) < 0 || !name ||
        xo_vm_read_memory(&probe, cfg, a, err) < 0 || xo_vm_read_cpus(&probe, cfg, a, err) < 0 ||
        cfg_map(cfg, "platform", a, err) < 0 || cfg_map(cfg, "other", a, err) < 0)
        return NULL;
    const struct val *other = val_struct_get(cfg, "other");
    const char *guest =
        cfg_str(other && other->type == VAL_STRUCT ? other : NULL, "sim_guest", "full", a, err);
    if (!guest || cfg_one_of(guest, "sim_guest", guests, a, err) < 0)
        return NULL;
    struct xo_vm *vm = xcalloc(1, sizeof(*vm));
    *vm = probe;
    vm->config = val_flatten(cfg);
    xo_vm_bind_strings(vm);
    vm->power = XO_HALTED;
    vm->domid = -1;
    vm->refs = 1;
    pthread_mutex_init(&vm->persist_lock, NULL);
    return vm;
}

static int xo_dev_read_vbd(struct xo_dev *d, const struct val *cfg, struct arena *a,
                           struct val **err)
{
    static const char *const modes[] = {"RO", "RW", NULL}, *const types[] = {"Disk", "CD", NULL};
    char def[8];
    snprintf(def, sizeof(def), "xvd%c", 'a' + d->position % 26);
    const char *device = cfg_str(cfg, "device", def, a, err);
    const char *mode = cfg_str(cfg, "mode", "RW", a, err);
    const char *type = cfg_str(cfg, "type", "Disk", a, err);
    if (!device || !mode || !type || !cfg_str(cfg, "backend", "", a, err) ||
        cfg_one_of(mode, "mode", modes, a, err) < 0 || cfg_one_of(type, "type", types, a, err) < 0)
        return -1;
    if (!*device || strlen(device) >= sizeof(d->device))
        return xo_fail(a, err, "INVALID_VALUE", "device", device, NULL);
    snprintf(d->device, sizeof(d->device), "%s", device);
    d->devid = xstree_vbd_devid(device, d->position);
    return 0;
}

static int xo_dev_read_vif(struct xo_dev *d, const struct val *cfg, struct arena *a,
                           struct val **err)
{
    int64_t mtu;
    if (!cfg_str(cfg, "mac", "", a, err) || !cfg_str(cfg, "bridge", "", a, err) ||
        cfg_int(cfg, "mtu", 1500, 68, 65535, &mtu, a, err) < 0)
        return -1;
    snprintf(d->device, sizeof(d->device), "%d", d->position);
    d->devid = d->position;
    return 0;
}

struct xo_dev *xo_dev_from_config(enum xo_dev_kind kind, const struct val *cfg, struct arena *a,
                                  struct val **err)
{
    struct xo_dev probe = {.kind = kind};
    int64_t position = 0; /* set by cfg_int; gcc -O3 cannot tell */
    *err = NULL;
    if (!cfg || cfg->type != VAL_STRUCT) {
        xo_fail(a, err, "FIELD_TYPE_ERROR", kind == XO_VBD ? "vbd" : "vif", NULL);
        return NULL;
    }
    if (cfg_id(cfg, "id", probe.id, a, err) < 0 || cfg_id(cfg, "vm", probe.vm_id, a, err) < 0 ||
        cfg_int(cfg, "position", 0, 0, 255, &position, a, err) < 0)
        return NULL;
    probe.position = (int)position;
    if ((kind == XO_VBD ? xo_dev_read_vbd : xo_dev_read_vif)(&probe, cfg, a, err) < 0)
        return NULL;
    struct xo_dev *d = xmalloc(sizeof(*d));
    *d = probe;
    d->config = val_flatten(cfg);
    return d;
}

void xo_dev_free(struct xo_dev *d)
{
    if (!d)
        return;
    free(d->config);
    free(d);
}

void xo_vm_attach_dev(struct xo_vm *vm, struct xo_dev *d)
{
    if (vm->ndevs == vm->devcap) {
        vm->devcap = vm->devcap ? vm->devcap * 2 : 4;
        vm->devs = xrealloc(vm->devs, vm->devcap * sizeof(*vm->devs));
    }
    vm->devs[vm->ndevs++] = d;
}

static void xo_vm_detach_dev(struct xo_vm *vm, struct xo_dev *d)
{
    for (size_t i = 0; i < vm->ndevs; i++) {
        if (vm->devs[i] == d) {
            memmove(&vm->devs[i], &vm->devs[i + 1], (vm->ndevs - i - 1) * sizeof(*vm->devs));
            vm->ndevs--;
            return;
        }
    }
}

void xo_vm_free(struct xo_vm *vm)
{
    if (!vm)
        return;
    for (size_t i = 0; i < vm->ndevs; i++)
        xo_dev_free(vm->devs[i]);
    free(vm->devs);
    free(vm->config);
    free(vm->guest_info);
    pthread_mutex_destroy(&vm->persist_lock);
    free(vm);
}

/* --- lookups ------------------------------------------------------------ */

struct xo_vm *xo_vm_get(struct xenopsd *x, const char *id)
{
    pthread_mutex_lock(&x->lock);
    struct xo_vm *vm = hmap_get(x->vms, id);
    if (vm)
        vm->refs++;
    pthread_mutex_unlock(&x->lock);
    return vm;
}

void xo_vm_put(struct xenopsd *x, struct xo_vm *vm)
{
    pthread_mutex_lock(&x->lock);
    assert(vm->refs > 0);
    bool last = --vm->refs == 0;
    pthread_mutex_unlock(&x->lock);
    /* The last reference goes only once the VM has left the map and has
     * no operation queued, running or waiting to run. */
    assert(!last || (vm->removed && !vm->q_head && !vm->busy && !vm->ready));
    if (last)
        xo_vm_free(vm);
}

void xo_vm_spec(const struct xo_vm *vm, struct arena *a, struct xo_domain_spec *spec,
                struct xstree_domain *tree)
{
    const char *id = arena_strdup(a, vm->id), *name = arena_strdup(a, vm->name);
    *spec = (struct xo_domain_spec){
        .vm_id = id,
        .name = name,
        .memory_static_max = vm->memory_static_max,
        .memory_target = vm->memory_dynamic_max,
        .vcpus_max = vm->vcpus_max,
        .vcpus = vm->vcpus,
        .hvm = vm->hvm,
        .guest = vm->guest ? arena_strdup(a, vm->guest) : NULL,
    };
    *tree = (struct xstree_domain){
        .vm_id = id,
        .name = name,
        .domid = vm->domid,
        .memory_static_max = vm->memory_static_max,
        .memory_target = vm->memory_dynamic_max,
        .vcpus_max = vm->vcpus_max,
        .vcpus = vm->vcpus,
        .hvm = vm->hvm,
    };
}

size_t xo_vm_plugged_trees(const struct xo_vm *vm, struct arena *a, struct xstree_device **out)
{
    *out = arena_alloc(a, (vm->ndevs + 1) * sizeof(**out));
    size_t n = 0;
    for (size_t i = 0; i < vm->ndevs; i++)
        if (vm->devs[i]->plugged)
            xo_dev_tree(vm->devs[i], a, &(*out)[n++]);
    return n;
}

void xo_vm_set_live(struct xo_vm *vm, int vcpus, int64_t dynamic_min, int64_t dynamic_max)
{
    static const char *const live[] = {"vcpus", "memory_dynamic_min", "memory_dynamic_max"};
    struct arena *a = arena_new();
    struct val *cfg = val_struct(a);
    for (size_t i = 0; i < vm->config->u.st.n; i++) {
        const char *name = vm->config->u.st.members[i].name;
        bool replaced = false;
        for (size_t k = 0; k < sizeof(live) / sizeof(live[0]); k++)
            replaced |= strcmp(name, live[k]) == 0;
        if (!replaced)
            val_struct_add(a, cfg, name, vm->config->u.st.members[i].value);
    }
    val_struct_add(a, cfg, "vcpus", val_int(a, vcpus));
    val_struct_add(a, cfg, "memory_dynamic_min", val_int(a, dynamic_min));
    val_struct_add(a, cfg, "memory_dynamic_max", val_int(a, dynamic_max));
    struct val *old = vm->config;
    vm->config = val_flatten(cfg);
    xo_vm_bind_strings(vm);
    free(old);
    arena_free(a);
    vm->vcpus = vcpus;
    vm->memory_dynamic_min = dynamic_min;
    vm->memory_dynamic_max = dynamic_max;
}

static const char *cfg_copy(const struct val *cfg, const char *name, struct arena *a)
{
    const char *s = val_str(val_struct_get(cfg, name));
    return arena_strdup(a, s ? s : "");
}

void xo_dev_tree(const struct xo_dev *d, struct arena *a, struct xstree_device *out)
{
    const struct val *mtu = val_struct_get(d->config, "mtu");
    *out = (struct xstree_device){
        .vif = d->kind == XO_VIF,
        .devid = d->devid,
        .device = arena_strdup(a, d->device),
        .mode = cfg_copy(d->config, "mode", a),
        .type = cfg_copy(d->config, "type", a),
        .params = cfg_copy(d->config, "backend", a),
        .mac = cfg_copy(d->config, "mac", a),
        .bridge = cfg_copy(d->config, "bridge", a),
        .mtu = mtu && mtu->type == VAL_INT ? mtu->u.i : 1500,
    };
}

/* --- VMs ------------------------------------------------------------------ */

void xo_diverged(struct xenopsd *x, const char *what)
{
    if (atomic_exchange(&x->diverged, true))
        return;
    log_error(NULL,
              "%s: memory and disk now differ; refusing all work and stopping, to be "
              "restarted from disk",
              what);
    if (x->on_diverged)
        x->on_diverged(x);
}

int xo_refuse_diverged(struct xenopsd *x, struct arena *a, struct val **err)
{
    if (!atomic_load(&x->diverged))
        return 0;
    return xo_fail(a, err, "INTERNAL_ERROR", "xenopsd is restarting: a change could not be saved",
                   NULL);
}

int xo_vm_add(struct xenopsd *x, const struct val *cfg, struct arena *a, struct val **err)
{
    if (xo_refuse_diverged(x, a, err) < 0)
        return -1;
    struct xo_vm *fresh = xo_vm_from_config(cfg, a, err);
    if (!fresh)
        return -1;
    pthread_mutex_lock(&x->lock);
    struct xo_vm *vm = hmap_get(x->vms, fresh->id);
    if (vm) {
        /* Registered again: new metadata, for the next domain built. */
        struct val *old = vm->config;
        vm->config = fresh->config;
        fresh->config = old;
        vm->memory_static_max = fresh->memory_static_max;
        vm->memory_dynamic_max = fresh->memory_dynamic_max;
        vm->memory_dynamic_min = fresh->memory_dynamic_min;
        vm->vcpus_max = fresh->vcpus_max;
        vm->vcpus = fresh->vcpus;
        vm->hvm = fresh->hvm;
        xo_vm_bind_strings(vm);
    } else {
        vm = fresh;
        fresh = NULL;
        hmap_put(x->vms, vm->id, vm);
    }
    vm->refs++;
    pthread_mutex_unlock(&x->lock);
    xo_vm_free(fresh);
    int rc = xo_persist_vm(x, vm);
    if (rc < 0) {
        xo_fail(a, err, "INTERNAL_ERROR", "cannot save the VM's metadata", NULL);
        xo_diverged(x, "VM.add: cannot save the VM's metadata");
    } else {
        xo_updates_post(x->updates, "VM", vm->id);
    }
    xo_vm_put(x, vm);
    return rc;
}

/* Operations a client asked for are queued; internal ones (following a
 * guest that left) do not hold a halted VM back: they find nothing to do. */
static bool xo_vm_has_tasks(const struct xo_vm *vm)
{
    for (const struct xo_op *op = vm->q_head; op; op = op->next)
        if (op->task)
            return true;
    return false;
}

int xo_vm_remove(struct xenopsd *x, const char *id, struct arena *a, struct val **err)
{
    if (xo_refuse_diverged(x, a, err) < 0)
        return -1;
    struct xo_vm *vm = xo_vm_get(x, id);
    if (!vm)
        return xo_fail(a, err, "HANDLE_INVALID", "VM", id, NULL);
    pthread_mutex_lock(&vm->persist_lock);
    pthread_mutex_lock(&x->lock);
    int rc = xo_lifecycle_check(XO_ACT_REMOVE, vm->id, vm->power, a, err);
    if (rc == 0 && (vm->busy || xo_vm_has_tasks(vm)))
        rc = xo_fail(a, err, "OPERATION_NOT_ALLOWED", "the VM has operations in progress", NULL);
    if (rc == 0 && !vm->removed) {
        /* The file goes while the id is still taken: once the map lets
         * go of it, a VM.add of the same id may write its own file,
         * which a later unlink would take away. One unlink under x->lock
         * is the price. */
        xo_persist_remove(x, vm);
        vm->removed = true;
        hmap_del(x->vms, vm->id);
        for (size_t i = 0; i < vm->ndevs; i++)
            hmap_del(x->devs, vm->devs[i]->id);
        vm->refs--; /* the map's */
    }
    pthread_mutex_unlock(&x->lock);
    pthread_mutex_unlock(&vm->persist_lock);
    if (rc == 0)
        xo_updates_post(x->updates, "VM", id);
    xo_vm_put(x, vm);
    return rc;
}

struct val *xo_vm_list(struct xenopsd *x, struct arena *a)
{
    struct val *list = val_array(a);
    const char *key;
    void *value;
    pthread_mutex_lock(&x->lock);
    for (size_t it = 0; hmap_next(x->vms, &it, &key, &value);)
        val_array_push(a, list, val_string(a, key));
    pthread_mutex_unlock(&x->lock);
    return list;
}

static struct val *xo_guest_stat(const struct xo_vm *vm, struct arena *a)
{
    static const char *const maps[] = {"pv_drivers_version", "os_version", "networks", "memory"};
    struct val *g = val_struct_sized(a, 5);
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        struct val *m = vm->guest_info ? val_struct_get(vm->guest_info, maps[i]) : NULL;
        val_struct_add_static(a, g, maps[i], m ? val_copy(a, m) : val_struct(a));
    }
    val_struct_add_static(a, g, "last_updated", val_int(a, vm->guest_updated));
    return g;
}

struct val *xo_vm_stat(struct xenopsd *x, const char *id, struct arena *a, struct val **err)
{
    pthread_mutex_lock(&x->lock);
    struct xo_vm *vm = hmap_get(x->vms, id);
    if (!vm) {
        pthread_mutex_unlock(&x->lock);
        xo_fail(a, err, "HANDLE_INVALID", "VM", id, NULL);
        return NULL;
    }
    struct xo_domain_stat ds = {.vcpus = vm->vcpus};
    if (vm->domid > 0)
        x->backend.ops->domain_stat(x->backend.impl, vm->domid, &ds);
    struct val *st = val_struct_sized(a, 7);
    val_struct_add_static(a, st, "id", val_string(a, vm->id));
    val_struct_add_static(a, st, "power_state", val_string(a, xo_power_name(vm->power)));
    val_struct_add_static(a, st, "domid", val_int(a, vm->domid));
    val_struct_add_static(a, st, "memory_actual", val_int(a, ds.memory_actual));
    val_struct_add_static(a, st, "vcpus", val_int(a, ds.vcpus));
    val_struct_add_static(a, st, "start_time", val_int(a, vm->start_time));
    val_struct_add_static(a, st, "guest", xo_guest_stat(vm, a));
    pthread_mutex_unlock(&x->lock);
    return st;
}

struct val *xo_host_stat(struct xenopsd *x, struct arena *a)
{
    struct xo_host_stat hs = {0};
    x->backend.ops->host_stat(x->backend.impl, &hs);
    struct val *st = val_struct_sized(a, 3);
    val_struct_add_static(a, st, "memory_total", val_int(a, hs.memory_total));
    val_struct_add_static(a, st, "memory_free", val_int(a, hs.memory_free));
    val_struct_add_static(a, st, "cpus", val_int(a, hs.cpus));
    return st;
}

/* --- devices -------------------------------------------------------------- */

static struct xo_dev *xo_dev_lookup(struct xenopsd *x, enum xo_dev_kind kind, const char *id)
{
    struct xo_dev *d = hmap_get(x->devs, id);
    return d && d->kind == kind ? d : NULL;
}

/* Called with x->lock held. An operation running or queued on the VM
 * may build a domain from a copy of its devices taken before it commits
 * (start, resume, reboot, plug): a device removed, or moved to another
 * devid, in between would be left in the domain and xenstore untracked. */
static int xo_vm_devices_settled(const struct xo_vm *vm, struct arena *a, struct val **err)
{
    if (!vm->busy && !vm->q_head)
        return 0;
    return xo_fail(a, err, "OPERATION_NOT_ALLOWED",
                   "the VM has operations in progress: its devices cannot be removed or moved",
                   NULL);
}

/* Called with x->lock held: files d under vm, or says why not. */
static int xo_dev_install(struct xenopsd *x, struct xo_vm *vm, struct xo_dev **fresh,
                          struct arena *a, struct val **err)
{
    struct xo_dev *d = *fresh, *old = hmap_get(x->devs, d->id);
    if (old && (old->kind != d->kind || strcmp(old->vm_id, d->vm_id) != 0))
        return xo_fail(a, err, "INVALID_VALUE", "id", d->id, NULL);
    for (size_t i = 0; i < vm->ndevs; i++) {
        struct xo_dev *o = vm->devs[i];
        if (o != old && o->kind == d->kind && o->devid == d->devid)
            return xo_fail(a, err, "DEVICE_ALREADY_EXISTS", d->device, NULL);
    }
    /* A plugged device keeps its place: its xenstore trees and the
     * domain's device are known by that devid until it is unplugged. */
    bool moved = old && (old->devid != d->devid || strcmp(old->device, d->device) != 0);
    if (moved && old->plugged)
        return xo_fail(a, err, "DEVICE_ALREADY_ATTACHED", old->device, NULL);
    if (moved && xo_vm_devices_settled(vm, a, err) < 0)
        return -1;
    if (old) {
        /* Registered again: new settings, for the next plug. */
        struct val *cfg = old->config;
        bool plugged = old->plugged;
        *old = *d;
        old->plugged = plugged;
        d->config = cfg;
        return 0;
    }
    xo_vm_attach_dev(vm, d);
    hmap_put(x->devs, d->id, d);
    *fresh = NULL;
    return 0;
}

int xo_dev_add(struct xenopsd *x, enum xo_dev_kind kind, const struct val *cfg, struct arena *a,
               struct val **err)
{
    if (xo_refuse_diverged(x, a, err) < 0)
        return -1;
    struct xo_dev *d = xo_dev_from_config(kind, cfg, a, err);
    if (!d)
        return -1;
    char id[XO_ID_MAX];
    memcpy(id, d->id, sizeof(id));
    pthread_mutex_lock(&x->lock);
    struct xo_vm *vm = hmap_get(x->vms, d->vm_id);
    int rc = vm ? xo_dev_install(x, vm, &d, a, err)
                : xo_fail(a, err, "HANDLE_INVALID", "VM", d->vm_id, NULL);
    if (rc == 0)
        vm->refs++;
    pthread_mutex_unlock(&x->lock);
    xo_dev_free(d);
    if (rc < 0)
        return -1;
    rc = xo_persist_vm(x, vm);
    if (rc < 0) {
        xo_fail(a, err, "INTERNAL_ERROR", "cannot save the device's metadata", NULL);
        xo_diverged(x, "device add: cannot save the device's metadata");
    } else {
        xo_updates_post(x->updates, xo_dev_kind_name(kind), id);
    }
    xo_vm_put(x, vm);
    return rc;
}

int xo_dev_remove(struct xenopsd *x, enum xo_dev_kind kind, const char *id, struct arena *a,
                  struct val **err)
{
    if (xo_refuse_diverged(x, a, err) < 0)
        return -1;
    pthread_mutex_lock(&x->lock);
    struct xo_dev *d = xo_dev_lookup(x, kind, id);
    struct xo_vm *vm = d ? hmap_get(x->vms, d->vm_id) : NULL;
    int rc = 0;
    if (!d || !vm)
        rc = xo_fail(a, err, "HANDLE_INVALID", xo_dev_kind_name(kind), id, NULL);
    else if (d->plugged)
        rc = xo_fail(a, err, "DEVICE_ALREADY_ATTACHED", id, NULL);
    else
        rc = xo_vm_devices_settled(vm, a, err);
    if (rc == 0) {
        hmap_del(x->devs, id);
        xo_vm_detach_dev(vm, d);
        vm->refs++;
    }
    pthread_mutex_unlock(&x->lock);
    if (rc < 0)
        return -1;
    xo_dev_free(d);
    rc = xo_persist_vm(x, vm);
    if (rc < 0) {
        xo_fail(a, err, "INTERNAL_ERROR", "cannot save the VM's metadata", NULL);
        xo_diverged(x, "device remove: cannot save the VM's metadata");
    }
    xo_updates_post(x->updates, xo_dev_kind_name(kind), id);
    xo_vm_put(x, vm);
    return rc;
}

struct val *xo_dev_stat(struct xenopsd *x, enum xo_dev_kind kind, const char *id, struct arena *a,
                        struct val **err)
{
    pthread_mutex_lock(&x->lock);
    struct xo_dev *d = xo_dev_lookup(x, kind, id);
    struct val *st = NULL;
    if (d) {
        st = val_struct_sized(a, 3);
        val_struct_add_static(a, st, "id", val_string(a, d->id));
        val_struct_add_static(a, st, "plugged", val_bool(a, d->plugged));
        val_struct_add_static(a, st, "device", val_string(a, d->device));
    }
    pthread_mutex_unlock(&x->lock);
    if (!st)
        xo_fail(a, err, "HANDLE_INVALID", xo_dev_kind_name(kind), id, NULL);
    return st;
}
