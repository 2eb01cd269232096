/*
 * fake_xenopsd.c - the fake xenopsd of xapi's unit tests (see
 * fake_xenopsd.h).
 */
#include "fake_xenopsd.h"
#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct fake_vm *fake_vm_find(struct fake *f, const char *id)
{
    for (int i = 0; i < f->n_vms; i++)
        if (id && strcmp(f->vms[i].id, id) == 0)
            return &f->vms[i];
    return NULL;
}

void fake_update(struct fake *f, const char *kind, const char *id)
{
    if (f->n_updates < 1024) {
        f->updates[f->n_updates].kind = kind;
        snprintf(f->updates[f->n_updates].id, 64, "%s", id);
        f->n_updates++;
    }
    f->gen = f->n_updates;
    pthread_cond_broadcast(&f->changed);
}

static const char *p_str(const struct val *params, size_t i)
{
    return params->u.arr.n > i ? val_str(params->u.arr.items[i]) : NULL;
}

/* A finished task: error NULL for success. */
static struct rpc_reply fake_task(struct arena *a, struct fake *f, const char *error,
                                  const char *p1, const char *p2)
{
    int i = f->n_tasks++ % 256;
    snprintf(f->tasks[i].id, 32, "task-%d", f->n_tasks);
    snprintf(f->tasks[i].error, 64, "%s", error ? error : "");
    snprintf(f->tasks[i].param1, 64, "%s", p1 ? p1 : "");
    snprintf(f->tasks[i].param2, 64, "%s", p2 ? p2 : "");
    return rpc_reply_ok(val_string(a, f->tasks[i].id));
}

static struct rpc_reply fake_bad_state(struct arena *a, struct fake *f, struct fake_vm *v)
{
    return fake_task(a, f, "VM_BAD_POWER_STATE", v->id, v->power_state);
}

static struct rpc_reply m_vm_add(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    const struct val *d = params->u.arr.items[0];
    const char *id = val_str(val_struct_get(d, "id"));
    pthread_mutex_lock(&f->lock);
    struct fake_vm *v = fake_vm_find(f, id);
    if (!v) {
        v = &f->vms[f->n_vms++];
        snprintf(v->id, sizeof(v->id), "%s", id);
        v->power_state = "Halted";
        v->domid = -1;
    }
    v->memory = val_struct_get(d, "memory_static_max")->u.i;
    v->vcpus = val_struct_get(d, "vcpus")->u.i;
    pthread_mutex_unlock(&f->lock);
    return rpc_reply_ok(val_string(a, id));
}

static struct rpc_reply m_vm_remove(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    struct fake_vm *v = fake_vm_find(f, p_str(params, 0));
    if (v)
        *v = f->vms[--f->n_vms];
    pthread_mutex_unlock(&f->lock);
    return v ? rpc_reply_ok(val_nil(a))
             : rpc_reply_error(a, "HANDLE_INVALID", "VM", p_str(params, 0), NULL);
}

static struct rpc_reply m_vm_list(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    struct val *out = val_array(a);
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < f->n_vms; i++)
        val_array_push(a, out, val_string(a, f->vms[i].id));
    pthread_mutex_unlock(&f->lock);
    return rpc_reply_ok(out);
}

static struct val *fake_map1(struct arena *a, const char *k, const char *v)
{
    struct val *m = val_struct(a);
    val_struct_add(a, m, k, val_string(a, v));
    return m;
}

static struct rpc_reply m_vm_stat(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    struct fake_vm *v = fake_vm_find(f, p_str(params, 0));
    if (!v) {
        pthread_mutex_unlock(&f->lock);
        return rpc_reply_error(a, "HANDLE_INVALID", "VM", p_str(params, 0), NULL);
    }
    bool live = strcmp(v->power_state, "Running") == 0 || strcmp(v->power_state, "Paused") == 0;
    struct val *s = val_struct(a);
    val_struct_add(a, s, "id", val_string(a, v->id));
    val_struct_add(a, s, "power_state", val_string(a, v->power_state));
    val_struct_add(a, s, "domid", val_int(a, live ? v->domid : -1));
    val_struct_add(a, s, "memory_actual", val_int(a, live ? v->memory : 0));
    val_struct_add(a, s, "vcpus", val_int(a, v->vcpus));
    val_struct_add(a, s, "start_time", val_int(a, live ? v->start_time : 0));
    struct val *g = val_struct(a);
    val_struct_add(a, g, "pv_drivers_version", fake_map1(a, "major", live ? "9" : ""));
    val_struct_add(a, g, "os_version", fake_map1(a, "name", "Fake Linux"));
    val_struct_add(a, g, "networks", fake_map1(a, "0/ip", "10.0.0.2"));
    val_struct_add(a, g, "memory", fake_map1(a, "total", "1048576"));
    val_struct_add(a, g, "last_updated", val_int(a, live ? v->start_time : 0));
    if (live)
        val_struct_add(a, s, "guest", g);
    pthread_mutex_unlock(&f->lock);
    return rpc_reply_ok(s);
}

/* A power transition: from must hold, then to; a new domain when
 * new_domain. */
static struct rpc_reply fake_transition(struct arena *a, struct fake *f, const char *id,
                                        const char *from, const char *to, bool new_domain)
{
    pthread_mutex_lock(&f->lock);
    struct fake_vm *v = fake_vm_find(f, id);
    struct rpc_reply r;
    if (!v) {
        r = rpc_reply_error(a, "HANDLE_INVALID", "VM", id, NULL);
    } else if (!strstr(from, v->power_state)) {
        r = fake_bad_state(a, f, v);
    } else if (new_domain && strcmp(to, "Halted") != 0 && v->memory > f->memory_free) {
        char needed[32], avail[32];
        snprintf(needed, sizeof(needed), "%lld", (long long)v->memory);
        snprintf(avail, sizeof(avail), "%lld", (long long)f->memory_free);
        r = fake_task(a, f, "HOST_NOT_ENOUGH_FREE_MEMORY", needed, avail);
    } else {
        v->power_state = to;
        if (new_domain) {
            v->domid = strcmp(to, "Halted") && strcmp(to, "Suspended") ? ++f->next_domid : -1;
            v->start_time = time(NULL);
        }
        fake_update(f, "VM", id);
        r = fake_task(a, f, NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&f->lock);
    return r;
}

static struct rpc_reply m_vm_start(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    __atomic_add_fetch(&f->calls_start, 1, __ATOMIC_SEQ_CST);
    bool paused = params->u.arr.items[1]->u.b;
    return fake_transition(a, f, p_str(params, 0), "Halted", paused ? "Paused" : "Running", true);
}

static struct rpc_reply m_vm_shutdown(struct arena *a, const struct val *params, void *ctx)
{
    return fake_transition(a, ctx, p_str(params, 0), "Running Paused", "Halted", true);
}

static struct rpc_reply m_vm_reboot(struct arena *a, const struct val *params, void *ctx)
{
    return fake_transition(a, ctx, p_str(params, 0), "Running Paused", "Running", true);
}

static struct rpc_reply m_vm_suspend(struct arena *a, const struct val *params, void *ctx)
{
    return fake_transition(a, ctx, p_str(params, 0), "Running", "Suspended", true);
}

static struct rpc_reply m_vm_resume(struct arena *a, const struct val *params, void *ctx)
{
    return fake_transition(a, ctx, p_str(params, 0), "Suspended", "Running", true);
}

static struct rpc_reply m_vm_pause(struct arena *a, const struct val *params, void *ctx)
{
    return fake_transition(a, ctx, p_str(params, 0), "Running", "Paused", false);
}

static struct rpc_reply m_vm_unpause(struct arena *a, const struct val *params, void *ctx)
{
    return fake_transition(a, ctx, p_str(params, 0), "Paused", "Running", false);
}

static struct rpc_reply m_dev_add(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    const char *id = val_str(val_struct_get(params->u.arr.items[0], "id"));
    pthread_mutex_lock(&f->lock);
    int i = 0;
    while (i < f->n_devs && strcmp(f->devs[i], id) != 0)
        i++;
    if (i == f->n_devs) {
        snprintf(f->devs[f->n_devs], 64, "%s", id);
        f->plugged[f->n_devs++] = false;
    }
    pthread_mutex_unlock(&f->lock);
    return rpc_reply_ok(val_string(a, id));
}

static int fake_dev_find(struct fake *f, const char *id)
{
    for (int i = 0; i < f->n_devs; i++)
        if (id && strcmp(f->devs[i], id) == 0)
            return i;
    return -1;
}

static struct rpc_reply fake_dev_plug(struct arena *a, struct fake *f, const char *id, bool plug)
{
    pthread_mutex_lock(&f->lock);
    int i = fake_dev_find(f, id);
    struct rpc_reply r = i < 0 ? rpc_reply_error(a, "HANDLE_INVALID", "VBD", id, NULL)
                               : fake_task(a, f, NULL, NULL, NULL);
    if (i >= 0)
        f->plugged[i] = plug;
    pthread_mutex_unlock(&f->lock);
    return r;
}

static struct rpc_reply m_dev_plug(struct arena *a, const struct val *params, void *ctx)
{
    return fake_dev_plug(a, ctx, p_str(params, 0), true);
}

static struct rpc_reply m_dev_unplug(struct arena *a, const struct val *params, void *ctx)
{
    return fake_dev_plug(a, ctx, p_str(params, 0), false);
}

static struct rpc_reply m_dev_remove(struct arena *a, const struct val *params, void *ctx)
{
    return rpc_reply_ok(val_nil(a));
}

static struct rpc_reply m_dev_stat(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    int i = fake_dev_find(f, p_str(params, 0));
    struct val *s = val_struct(a);
    val_struct_add(a, s, "id", val_string(a, p_str(params, 0)));
    val_struct_add(a, s, "plugged", val_bool(a, i >= 0 && f->plugged[i]));
    val_struct_add(a, s, "device", val_string(a, "xvda"));
    pthread_mutex_unlock(&f->lock);
    return i < 0 ? rpc_reply_error(a, "HANDLE_INVALID", "VBD", p_str(params, 0), NULL)
                 : rpc_reply_ok(s);
}

static struct rpc_reply m_task_stat(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < 256; i++) {
        if (strcmp(f->tasks[i].id, p_str(params, 0)) != 0)
            continue;
        struct val *s = val_struct(a);
        bool ok = !f->tasks[i].error[0];
        val_struct_add(a, s, "id", val_string(a, f->tasks[i].id));
        val_struct_add(a, s, "state", val_string(a, ok ? "completed" : "failed"));
        val_struct_add(a, s, "progress", val_float(a, 1.0));
        val_struct_add(a, s, "result", val_nil(a));
        struct val *e = val_nil(a);
        if (!ok) {
            e = val_array(a);
            val_array_push(a, e, val_string(a, f->tasks[i].error));
            val_array_push(a, e, val_string(a, f->tasks[i].param1));
            val_array_push(a, e, val_string(a, f->tasks[i].param2));
        }
        val_struct_add(a, s, "error", e);
        pthread_mutex_unlock(&f->lock);
        return rpc_reply_ok(s);
    }
    pthread_mutex_unlock(&f->lock);
    return rpc_reply_error(a, "HANDLE_INVALID", "task", p_str(params, 0), NULL);
}

/* Its tasks never pend. */
static struct rpc_reply m_task_list(struct arena *a, const struct val *params, void *ctx)
{
    return rpc_reply_ok(val_array(a));
}

static struct rpc_reply m_nil(struct arena *a, const struct val *params, void *ctx)
{
    return rpc_reply_ok(val_nil(a));
}

static struct rpc_reply m_updates_get(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    int64_t last = params->u.arr.items[0]->u.i, timeout = params->u.arr.items[1]->u.i;
    int64_t until = clock_now_ms() + timeout * 1000;
    pthread_mutex_lock(&f->lock);
    while (f->gen <= last && timeout > 0 && clock_cond_wait_until(&f->changed, &f->lock, until))
        ;
    struct val *ups = val_array(a);
    for (int64_t i = last; i < f->gen; i++) {
        struct val *u = val_struct(a);
        val_struct_add(a, u, "kind", val_string(a, f->updates[i].kind));
        val_struct_add(a, u, "id", val_string(a, f->updates[i].id));
        val_array_push(a, ups, u);
    }
    struct val *r = val_struct(a);
    val_struct_add(a, r, "updates", ups);
    val_struct_add(a, r, "last", val_int(a, f->gen));
    pthread_mutex_unlock(&f->lock);
    return rpc_reply_ok(r);
}

static struct rpc_reply m_host_stat(struct arena *a, const struct val *params, void *ctx)
{
    struct fake *f = ctx;
    struct val *s = val_struct(a);
    val_struct_add(a, s, "memory_total", val_int(a, 16 * GiB));
    val_struct_add(a, s, "memory_free", val_int(a, f->memory_free));
    val_struct_add(a, s, "cpus", val_int(a, 4));
    return rpc_reply_ok(s);
}

const struct ipc_method fake_xenopsd_methods[] = {
    {"HOST.stat", m_host_stat},     {"TASK.cancel", m_nil},         {"TASK.destroy", m_nil},
    {"TASK.stat", m_task_stat},     {"TASK.wait", m_task_stat}, /* its tasks never pend */
    {"TASK.list", m_task_list},     {"UPDATES.get", m_updates_get}, {"VBD.add", m_dev_add},
    {"VBD.plug", m_dev_plug},       {"VBD.remove", m_dev_remove},   {"VBD.stat", m_dev_stat},
    {"VBD.unplug", m_dev_unplug},   {"VIF.add", m_dev_add},         {"VIF.plug", m_dev_plug},
    {"VIF.remove", m_dev_remove},   {"VIF.stat", m_dev_stat},       {"VIF.unplug", m_dev_unplug},
    {"VM.add", m_vm_add},           {"VM.list", m_vm_list},         {"VM.pause", m_vm_pause},
    {"VM.reboot", m_vm_reboot},     {"VM.remove", m_vm_remove},     {"VM.resume", m_vm_resume},
    {"VM.shutdown", m_vm_shutdown}, {"VM.start", m_vm_start},       {"VM.stat", m_vm_stat},
    {"VM.suspend", m_vm_suspend},   {"VM.unpause", m_vm_unpause},   {NULL, NULL},
};
