/*
 * sim.c - the simulator backend (see sim.h). One lock covers the domain
 * table and the memory count, so a reservation is checked and taken in
 * one step and two starts can never both fit in the same free memory.
 * Domids count up from 1 and wrap before Xen's reserved ids, skipping
 * live ones, so a domid is never reused while its domain lives.
 */
#include "sim.h"
#include "atomic_file.h"
#include "buf.h"
#include "clock.h"
#include "lifecycle.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_IMAGE_MAGIC "XENOPSD-SIM-IMAGE 1\n"
#define SIM_IMAGE_MAX (1 << 20)

struct sim_domain {
    char vm_id[64];
    int64_t memory, target;
    int vcpus;
    bool paused, booted, ack, has_guest;
    enum xo_shutdown_reason shutdown;
    int waiters; /* threads in domain_wait_shutdown */
    int devices;
};

struct sim {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a domain shut down, or a kick */
    int64_t memory_total, memory_used;
    int cpus;
    int next_domid;
    struct sim_domain *doms[XO_DOMID_LIMIT];
    struct agent *agent;
    int boot_ms;
    sim_shutdown_fn unsolicited;
    void *unsolicited_ctx;
};

struct sim *sim_new(int64_t memory_total, int cpus)
{
    struct sim *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    clock_cond_init(&s->changed);
    s->memory_total = memory_total;
    s->cpus = cpus;
    s->next_domid = 1;
    return s;
}

void sim_free(struct sim *s)
{
    if (!s)
        return;
    for (int i = 0; i < XO_DOMID_LIMIT; i++)
        free(s->doms[i]);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void sim_set_agent(struct sim *s, struct agent *agent, int boot_ms)
{
    s->agent = agent;
    s->boot_ms = boot_ms;
}

void sim_set_unsolicited(struct sim *s, sim_shutdown_fn fn, void *ctx)
{
    s->unsolicited = fn;
    s->unsolicited_ctx = ctx;
}

int64_t sim_host_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    long long kib = 0;
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    int64_t total = (int64_t)kib * 1024;
    int64_t dom0 = total / 4 < (2LL << 30) ? total / 4 : (2LL << 30);
    return total - dom0;
}

static struct sim_domain *sim_get(struct sim *s, int domid)
{
    return domid > 0 && domid < XO_DOMID_LIMIT ? s->doms[domid] : NULL;
}

static int sim_no_domain(struct arena *a, struct val **err, int domid)
{
    return xo_fail(a, err, "INTERNAL_ERROR", arena_printf(a, "no domain %d", domid), NULL);
}

/* Called with the lock held. */
static int sim_reserve(struct sim *s, int64_t memory, struct arena *a, struct val **err)
{
    int64_t avail = s->memory_total - s->memory_used;
    if (memory > avail)
        return xo_fail(a, err, "HOST_NOT_ENOUGH_FREE_MEMORY", arena_printf(a, "%" PRId64, memory),
                       arena_printf(a, "%" PRId64, avail), NULL);
    s->memory_used += memory;
    return 0;
}

static struct sim_domain *sim_domain_new(const struct xo_domain_spec *spec)
{
    struct sim_domain *d = xcalloc(1, sizeof(*d));
    snprintf(d->vm_id, sizeof(d->vm_id), "%s", spec->vm_id);
    d->memory = spec->memory_static_max;
    d->target = spec->memory_target;
    d->vcpus = spec->vcpus;
    d->paused = true;
    d->has_guest = !spec->guest || strcmp(spec->guest, "none") != 0;
    d->ack = !spec->guest || strcmp(spec->guest, "no-ack") != 0;
    return d;
}

static int sim_domain_create(void *b, const struct xo_domain_spec *spec, int *domid,
                             struct arena *a, struct val **err)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    int rc = sim_reserve(s, spec->memory_static_max, a, err);
    int id = s->next_domid;
    for (int tries = 0; rc == 0 && s->doms[id]; tries++) {
        if (tries == XO_DOMID_LIMIT) {
            s->memory_used -= spec->memory_static_max;
            rc = xo_fail(a, err, "INTERNAL_ERROR", "no free domid", NULL);
            break;
        }
        id = id + 1 < XO_DOMID_LIMIT ? id + 1 : 1;
    }
    if (rc == 0) {
        s->doms[id] = sim_domain_new(spec);
        s->next_domid = id + 1 < XO_DOMID_LIMIT ? id + 1 : 1;
        *domid = id;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int sim_domain_build(void *b, int domid, struct arena *a, struct val **err)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    int rc = sim_get(s, domid) ? 0 : sim_no_domain(a, err, domid);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Called with the lock held: the guest runs for the first time. */
static void sim_boot(struct sim *s, int domid, struct sim_domain *d, int delay_ms)
{
    if (d->booted || !d->has_guest || !s->agent)
        return;
    d->booted = true;
    agent_boot(s->agent, domid, d->vm_id, d->target / 1024, d->ack, delay_ms);
}

static int sim_domain_adopt(void *b, const struct xo_domain_spec *spec, int domid, bool paused,
                            struct arena *a, struct val **err)
{
    struct sim *s = b;
    if (domid <= 0 || domid >= XO_DOMID_LIMIT)
        return sim_no_domain(a, err, domid);
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    if (s->doms[domid])
        rc = xo_fail(a, err, "INTERNAL_ERROR", arena_printf(a, "domid %d taken", domid), NULL);
    else
        rc = sim_reserve(s, spec->memory_static_max, a, err);
    if (rc == 0) {
        struct sim_domain *d = sim_domain_new(spec);
        d->paused = paused;
        s->doms[domid] = d;
        if (domid >= s->next_domid)
            s->next_domid = domid + 1 < XO_DOMID_LIMIT ? domid + 1 : 1;
        /* The guest was up before: its agent reconnects at once. */
        if (!paused)
            sim_boot(s, domid, d, 0);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int sim_set_paused(struct sim *s, int domid, bool paused, struct arena *a, struct val **err)
{
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    int rc = d ? 0 : sim_no_domain(a, err, domid);
    if (d) {
        d->paused = paused;
        if (d->booted && s->agent)
            agent_pause(s->agent, domid, paused);
        if (!paused)
            sim_boot(s, domid, d, s->boot_ms);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int sim_domain_pause(void *b, int domid, struct arena *a, struct val **err)
{
    return sim_set_paused(b, domid, true, a, err);
}

static int sim_domain_unpause(void *b, int domid, struct arena *a, struct val **err)
{
    return sim_set_paused(b, domid, false, a, err);
}

static void sim_domain_destroy(void *b, int domid)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    if (d) {
        s->memory_used -= d->memory;
        s->doms[domid] = NULL;
        if (d->booted && s->agent)
            agent_forget(s->agent, domid);
        free(d);
        /* Anyone waiting for it to shut down must look again. */
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
}

static enum xo_shutdown_reason sim_domain_wait_shutdown(void *b, int domid, int64_t deadline_ms,
                                                        const atomic_bool *cancel)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    if (d)
        d->waiters++;
    while ((d = sim_get(s, domid)) && d->shutdown == XO_SR_NONE && !atomic_load(cancel) &&
           clock_now_ms() < deadline_ms)
        clock_cond_wait_until(&s->changed, &s->lock, deadline_ms);
    /* A domain destroyed meanwhile is as good as powered off. */
    enum xo_shutdown_reason r = d ? d->shutdown : XO_SR_POWEROFF;
    if (d)
        d->waiters--;
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void sim_kick(void *b)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

void sim_guest_shutdown(void *sim, int domid, enum xo_shutdown_reason reason)
{
    struct sim *s = sim;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    bool unsolicited = false;
    if (d && d->shutdown == XO_SR_NONE) {
        d->shutdown = reason;
        d->paused = true;
        unsolicited = d->waiters == 0;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    /* Outside the lock: the callback takes xenopsd's. */
    if (unsolicited && s->unsolicited)
        s->unsolicited(s->unsolicited_ctx, domid);
}

static int sim_device_add(void *b, int domid, const char *kind, int devid, struct arena *a,
                          struct val **err)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    int rc = d ? 0 : sim_no_domain(a, err, domid);
    if (d)
        d->devices++;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void sim_device_remove(void *b, int domid, const char *kind, int devid)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    if (d && d->devices > 0)
        d->devices--;
    pthread_mutex_unlock(&s->lock);
}

/* Written whole and renamed into place: a crash leaves no image or a
 * complete one. */
static int sim_suspend_image(void *b, int domid, const char *path, const char *metadata,
                             struct arena *a, struct val **err)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    char vm_id[64] = "";
    if (d)
        memcpy(vm_id, d->vm_id, sizeof(vm_id));
    pthread_mutex_unlock(&s->lock);
    if (!d)
        return sim_no_domain(a, err, domid);
    struct buf img = BUF_INIT;
    buf_printf(&img, "%svm %s\nlength %zu\n\n%s", SIM_IMAGE_MAGIC, vm_id, strlen(metadata),
               metadata);
    int rc = atomic_file_write(path, img.data, img.len, true);
    buf_free(&img);
    if (rc < 0)
        return xo_fail(
            a, err, "INTERNAL_ERROR",
            arena_printf(a, "cannot write the suspend image %s: %s", path, strerror(errno)), NULL);
    return 0;
}

static char *sim_read_file(const char *path, size_t *len, struct arena *a)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *data = arena_alloc(a, SIM_IMAGE_MAX + 1);
    size_t n = 0;
    ssize_t r;
    while (n < SIM_IMAGE_MAX && (r = read(fd, data + n, SIM_IMAGE_MAX - n)) > 0)
        n += (size_t)r;
    close(fd);
    data[n] = '\0';
    *len = n;
    return data;
}

static int sim_resume_image(void *b, const char *path, const char *vm_id, const char **metadata,
                            struct arena *a, struct val **err)
{
    size_t len = 0;
    char *data = sim_read_file(path, &len, a);
    if (!data)
        return xo_fail(
            a, err, "INTERNAL_ERROR",
            arena_printf(a, "cannot read the suspend image %s: %s", path, strerror(errno)), NULL);
    char id[64];
    size_t mlen = 0;
    int used = 0;
    const size_t magic = strlen(SIM_IMAGE_MAGIC);
    if (len < magic || memcmp(data, SIM_IMAGE_MAGIC, magic) != 0 ||
        sscanf(data + magic, "vm %63s\nlength %zu\n\n%n", id, &mlen, &used) != 2 || used == 0 ||
        magic + (size_t)used + mlen != len)
        return xo_fail(a, err, "INTERNAL_ERROR", arena_printf(a, "%s is not a suspend image", path),
                       NULL);
    if (strcmp(id, vm_id) != 0)
        return xo_fail(a, err, "INTERNAL_ERROR",
                       arena_printf(a, "%s is the suspend image of VM %s", path, id), NULL);
    *metadata = data + magic + used;
    return 0;
}

static int sim_domain_set_vcpus(void *b, int domid, int vcpus, struct arena *a, struct val **err)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    if (d)
        d->vcpus = vcpus;
    pthread_mutex_unlock(&s->lock);
    return d ? 0 : sim_no_domain(a, err, domid);
}

/* The balloon reaches its target at once; it cannot grow the domain past
 * what was reserved for it. */
static int sim_domain_set_target(void *b, int domid, int64_t target, struct arena *a,
                                 struct val **err)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    int rc = 0;
    if (!d)
        rc = sim_no_domain(a, err, domid);
    else if (target > d->memory)
        rc = xo_fail(a, err, "MEMORY_CONSTRAINT_VIOLATION", "target <= memory_static_max", NULL);
    else
        d->target = target;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int sim_domain_stat(void *b, int domid, struct xo_domain_stat *out)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    struct sim_domain *d = sim_get(s, domid);
    if (d) {
        out->paused = d->paused;
        out->shutdown = d->shutdown;
        out->memory_actual = d->target;
        out->vcpus = d->vcpus;
    }
    pthread_mutex_unlock(&s->lock);
    return d ? 0 : -1;
}

static void sim_host_stat(void *b, struct xo_host_stat *out)
{
    struct sim *s = b;
    pthread_mutex_lock(&s->lock);
    out->memory_total = s->memory_total;
    out->memory_free = s->memory_total - s->memory_used;
    out->cpus = s->cpus;
    pthread_mutex_unlock(&s->lock);
}

static const struct xo_backend_ops sim_ops = {
    .name = "simulator",
    .domain_create = sim_domain_create,
    .domain_build = sim_domain_build,
    .domain_adopt = sim_domain_adopt,
    .domain_pause = sim_domain_pause,
    .domain_unpause = sim_domain_unpause,
    .domain_destroy = sim_domain_destroy,
    .domain_wait_shutdown = sim_domain_wait_shutdown,
    .kick = sim_kick,
    .device_add = sim_device_add,
    .device_remove = sim_device_remove,
    .suspend_image = sim_suspend_image,
    .resume_image = sim_resume_image,
    .domain_set_vcpus = sim_domain_set_vcpus,
    .domain_set_target = sim_domain_set_target,
    .domain_stat = sim_domain_stat,
    .host_stat = sim_host_stat,
};

struct xo_backend sim_backend(struct sim *s)
{
    struct xo_backend b = {&sim_ops, s};
    return b;
}
