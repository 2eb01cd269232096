/*
 * agent.c - the simulated guest agent (see agent.h). Other threads only
 * queue commands (boot, forget, pause) and wake the agent's thread through an
 * eventfd; every guest connection belongs to that one thread, as an
 * xs_client must.
 */
#include "agent.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "mailbox.h"
#include "mem.h"
#include "xs_client.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGENT_CONNECT_TRIES 20
/* After xenstored went away: long enough for the supervisor to restart
 * it and xenopsd to introduce the domain again. */
#define AGENT_RECONNECT_TRIES 300
#define AGENT_RETRY_MS 100
#define AGENT_TXN_TRIES 8
#define AGENT_XS_TIMEOUT_MS 10000

struct agent_guest {
    int domid;
    char vm_id[64];
    int64_t memory_kib;
    bool ack;
    bool paused;       /* a paused vCPU answers nothing until it runs again */
    bool reconnecting; /* lost xenstored once: waits longer for it */
    int64_t boot_at;   /* clock ms; 0 once connected */
    int tries;
    struct xs_client *xs;
    struct agent_guest *next;
};

enum agent_cmd_kind { AGENT_BOOT, AGENT_FORGET, AGENT_PAUSE, AGENT_UNPAUSE };

struct agent_cmd {
    struct mail link;
    enum agent_cmd_kind kind;
    struct agent_guest g; /* for boot; domid alone for the others */
    int delay_ms;
};

struct agent {
    char *run_dir;
    agent_shutdown_fn on_shutdown;
    void *ctx;
    struct mailbox mail;
    pthread_t thread;
    bool started, usable;
    struct agent_guest *guests; /* the thread's own */
};

/* What every simulated guest reports; the address and memory vary. */
static const char *const agent_keys[][2] = {
    {"data/os_name", "Debian GNU/Linux 12 (bookworm)"},
    {"data/os_distro", "debian"},
    {"data/os_majorver", "12"},
    {"data/os_minorver", "5"},
    {"data/os_uname", "6.1.0-25-amd64"},
    {"attr/PVAddons/MajorVersion", "8"},
    {"attr/PVAddons/MinorVersion", "4"},
    {"attr/PVAddons/MicroVersion", "0"},
    {"attr/PVAddons/BuildVersion", "1"},
    {"attr/PVAddons/Installed", "1"},
    {"control/feature-poweroff", "1"},
    {"control/feature-reboot", "1"},
    {"control/feature-suspend", "1"},
};

void agent_guest_ip(const char *vm_id, char out[16])
{
    uint32_t h = 2166136261u;
    for (const char *p = vm_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(out, 16, "10.%u.%u.%u", (h >> 16) & 255, (h >> 8) & 255, 1 + h % 254);
}

struct agent *agent_new(const char *run_dir, agent_shutdown_fn on_shutdown, void *ctx)
{
    struct agent *g = xcalloc(1, sizeof(*g));
    g->run_dir = xstrdup(run_dir);
    g->on_shutdown = on_shutdown;
    g->ctx = ctx;
    g->usable = mailbox_init(&g->mail) == 0;
    return g;
}

void agent_boot(struct agent *g, int domid, const char *vm_id, int64_t memory_kib, bool ack,
                int delay_ms)
{
    struct agent_cmd *c = xcalloc(1, sizeof(*c));
    c->kind = AGENT_BOOT;
    c->g.domid = domid;
    snprintf(c->g.vm_id, sizeof(c->g.vm_id), "%s", vm_id);
    c->g.memory_kib = memory_kib;
    c->g.ack = ack;
    c->delay_ms = delay_ms;
    mailbox_push(&g->mail, &c->link);
}

static void agent_command(struct agent *g, enum agent_cmd_kind kind, int domid)
{
    struct agent_cmd *c = xcalloc(1, sizeof(*c));
    c->kind = kind;
    c->g.domid = domid;
    mailbox_push(&g->mail, &c->link);
}

void agent_forget(struct agent *g, int domid)
{
    agent_command(g, AGENT_FORGET, domid);
}

void agent_pause(struct agent *g, int domid, bool paused)
{
    agent_command(g, paused ? AGENT_PAUSE : AGENT_UNPAUSE, domid);
}

static void agent_drop(struct agent *g, int domid)
{
    for (struct agent_guest **pp = &g->guests; *pp; pp = &(*pp)->next) {
        if ((*pp)->domid == domid) {
            struct agent_guest *dead = *pp;
            *pp = dead->next;
            xs_client_close(dead->xs);
            free(dead);
            return;
        }
    }
}

static struct agent_guest *agent_find(struct agent *g, int domid)
{
    for (struct agent_guest *q = g->guests; q; q = q->next)
        if (q->domid == domid)
            return q;
    return NULL;
}

static bool agent_act(struct agent *g, struct agent_guest *guest);

static void agent_take_commands(struct agent *g)
{
    struct agent_cmd *c = (struct agent_cmd *)mailbox_take(&g->mail);
    while (c) {
        struct agent_cmd *next = (struct agent_cmd *)c->link.next;
        struct agent_guest *q = agent_find(g, c->g.domid);
        if ((c->kind == AGENT_PAUSE || c->kind == AGENT_UNPAUSE) && q) {
            q->paused = c->kind == AGENT_PAUSE;
            /* what arrived while paused is seen now */
            if (!q->paused && q->xs)
                agent_act(g, q);
        } else if (c->kind == AGENT_BOOT || c->kind == AGENT_FORGET) {
            agent_drop(g, c->g.domid);
        }
        if (c->kind == AGENT_BOOT) {
            struct agent_guest *guest = xmalloc(sizeof(*guest));
            *guest = c->g;
            guest->boot_at = clock_now_ms() + c->delay_ms;
            guest->xs = NULL;
            guest->next = g->guests;
            g->guests = guest;
        }
        free(c);
        c = next;
    }
}

static int agent_write(struct xs_client *xs, uint32_t tx, const char *key, const char *value)
{
    return xs_write(xs, tx, key, value, strlen(value), NULL);
}

/* Everything at once, in one transaction: a watcher sees a guest with
 * all of its tools' keys or none. */
static int agent_write_keys(struct agent_guest *guest)
{
    char ip[16], total[24], free_kib[24];
    agent_guest_ip(guest->vm_id, ip);
    snprintf(total, sizeof(total), "%" PRId64, guest->memory_kib);
    snprintf(free_kib, sizeof(free_kib), "%" PRId64, guest->memory_kib * 3 / 4);
    for (int i = 0; i < AGENT_TXN_TRIES; i++) {
        uint32_t tx;
        struct xs_error err;
        if (xs_transaction_start(guest->xs, &tx, &err) < 0)
            return -1;
        int rc = 0;
        for (size_t k = 0; rc == 0 && k < sizeof(agent_keys) / sizeof(agent_keys[0]); k++)
            rc = agent_write(guest->xs, tx, agent_keys[k][0], agent_keys[k][1]);
        if (rc == 0)
            rc = agent_write(guest->xs, tx, "attr/vif/0/ipv4/0", ip);
        if (rc == 0)
            rc = agent_write(guest->xs, tx, "data/meminfo_total", total);
        if (rc == 0)
            rc = agent_write(guest->xs, tx, "data/meminfo_free", free_kib);
        if (rc == 0)
            rc = agent_write(guest->xs, tx, "data/updated", "1");
        if (xs_transaction_end(guest->xs, tx, rc == 0, &err) == 0 && rc == 0)
            return 0;
        if (rc < 0 || err.errnum != EAGAIN)
            return -1;
    }
    return -1;
}

/* The guest's boot: connect as the domain, report, listen for requests. */
static void agent_connect(struct agent *g, struct agent_guest *guest)
{
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/xenstored-domains/%d.sock", g->run_dir, guest->domid);
    struct xs_error err = {0};
    guest->xs = xs_client_open(path.data, &err);
    buf_free(&path);
    if (guest->xs)
        xs_client_set_timeout(guest->xs, AGENT_XS_TIMEOUT_MS);
    if (!guest->xs || agent_write_keys(guest) < 0 ||
        xs_watch(guest->xs, "control/shutdown", "shutdown", &err) < 0 ||
        xs_watch(guest->xs, "memory/target", "target", &err) < 0) {
        xs_client_close(guest->xs);
        guest->xs = NULL;
        if (++guest->tries < (guest->reconnecting ? AGENT_RECONNECT_TRIES : AGENT_CONNECT_TRIES)) {
            guest->boot_at = clock_now_ms() + AGENT_RETRY_MS;
        } else {
            log_warn("agent", "guest of domain %d cannot reach xenstored: %s", guest->domid,
                     err.name);
            guest->boot_at = 0;
        }
        return;
    }
    guest->boot_at = 0;
    log_debug("agent", "guest of domain %d booted", guest->domid);
}

static enum xo_shutdown_reason agent_reason(const char *request)
{
    if (strcmp(request, "poweroff") == 0 || strcmp(request, "halt") == 0)
        return XO_SR_POWEROFF;
    if (strcmp(request, "reboot") == 0)
        return XO_SR_REBOOT;
    if (strcmp(request, "suspend") == 0)
        return XO_SR_SUSPEND;
    return XO_SR_NONE;
}

/* A PV kernel's answer to control/shutdown: clear it (the
 * acknowledgement the toolstack waits for), then go. Returns true when
 * the guest left. */
static bool agent_on_request(struct agent *g, struct agent_guest *guest)
{
    char *value = NULL;
    size_t len = 0;
    if (xs_read(guest->xs, 0, "control/shutdown", &value, &len, NULL) < 0)
        return false;
    enum xo_shutdown_reason r = agent_reason(value);
    free(value);
    if (r == XO_SR_NONE || !guest->ack)
        return false;
    if (agent_write(guest->xs, 0, "control/shutdown", "") < 0)
        return false;
    int domid = guest->domid;
    agent_drop(g, domid);
    g->on_shutdown(g->ctx, domid, r);
    return true;
}

/* The balloon driver: the guest's memory follows memory/target, and its
 * tools report the new size. */
static void agent_on_target(struct agent_guest *guest)
{
    char *value = NULL, *end = NULL;
    size_t len = 0;
    if (xs_read(guest->xs, 0, "memory/target", &value, &len, NULL) < 0)
        return;
    long long kib = strtoll(value, &end, 10);
    bool ok = end != value && *end == '\0' && kib > 0;
    free(value);
    if (!ok || kib == guest->memory_kib)
        return;
    guest->memory_kib = kib;
    if (agent_write_keys(guest) < 0)
        log_warn("agent", "guest of domain %d cannot report its memory", guest->domid);
}

/* A running guest looks at its target and its requests; true when it
 * left. */
static bool agent_act(struct agent *g, struct agent_guest *guest)
{
    if (guest->paused)
        return false;
    agent_on_target(guest);
    return agent_on_request(g, guest);
}

/* Reads what arrived for one guest; false when its connection ended (the
 * domain was released) or it left. */
static bool agent_serve_guest(struct agent *g, struct agent_guest *guest)
{
    bool fired = false;
    for (;;) {
        struct xs_watch_event ev;
        struct xs_error err;
        int rc = xs_watch_next(guest->xs, &ev, 0, &err);
        if (rc < 0) {
            /* xenstored went away (a released domain is forgotten soon
             * after): connect again, as a guest's xenbus would once its
             * domain is introduced to a new xenstored. */
            xs_client_close(guest->xs);
            guest->xs = NULL;
            guest->tries = 0;
            guest->reconnecting = true;
            guest->boot_at = clock_now_ms() + AGENT_RETRY_MS;
            return false;
        }
        if (rc == 0)
            break;
        xs_watch_event_free(&ev);
        fired = true;
    }
    return !(fired && agent_act(g, guest));
}

static int agent_poll_timeout(struct agent *g)
{
    int64_t now = clock_now_ms(), next = -1;
    for (struct agent_guest *q = g->guests; q; q = q->next)
        if (q->boot_at > 0 && !q->paused && (next < 0 || q->boot_at < next))
            next = q->boot_at;
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

/* A guest that just connected is served at once: the watch's first
 * event may sit in its client's buffer, where poll() cannot see it. */
static void agent_boot_due(struct agent *g)
{
    int64_t now = clock_now_ms();
    struct agent_guest *q = g->guests;
    while (q) {
        struct agent_guest *next = q->next;
        if (q->boot_at > 0 && !q->paused && q->boot_at <= now) {
            agent_connect(g, q);
            if (q->xs)
                agent_serve_guest(g, q);
        }
        q = next;
    }
}

/* The domids whose connections have something to read. Serving a guest
 * always ends with a read that found nothing, so nothing waits in a
 * client's buffer and poll() sees all there is. */
static size_t agent_ready(struct agent *g, struct pollfd *fds, size_t n, int *out)
{
    size_t k = 0, i = 1;
    for (struct agent_guest *q = g->guests; q; q = q->next) {
        if (!q->xs)
            continue;
        if (i < n && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            out[k++] = q->domid;
        i++;
    }
    return k;
}

static void agent_serve_ready(struct agent *g, const int *domids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (struct agent_guest *q = g->guests; q; q = q->next)
            if (q->domid == domids[i] && q->xs) {
                agent_serve_guest(g, q);
                break;
            }
}

static void *agent_main(void *arg)
{
    struct agent *g = arg;
    struct pollfd *fds = NULL;
    int *ready = NULL;
    size_t cap = 0;
    for (;;) {
        agent_take_commands(g);
        if (mailbox_stopped(&g->mail))
            break;
        agent_boot_due(g);
        size_t n = 1;
        for (struct agent_guest *q = g->guests; q; q = q->next)
            n++;
        if (n > cap) {
            cap = n * 2;
            fds = xrealloc(fds, cap * sizeof(*fds));
            ready = xrealloc(ready, cap * sizeof(*ready));
        }
        fds[0] = (struct pollfd){.fd = g->mail.wake, .events = POLLIN};
        n = 1;
        for (struct agent_guest *q = g->guests; q; q = q->next)
            if (q->xs)
                fds[n++] = (struct pollfd){.fd = xs_client_fd(q->xs), .events = POLLIN};
        if (poll(fds, n, agent_poll_timeout(g)) < 0 && errno != EINTR)
            break;
        agent_serve_ready(g, ready, agent_ready(g, fds, n, ready));
    }
    free(fds);
    free(ready);
    return NULL;
}

int agent_start(struct agent *g)
{
    if (!g->usable || pthread_create(&g->thread, NULL, agent_main, g) != 0)
        return -1;
    g->started = true;
    return 0;
}

void agent_stop(struct agent *g)
{
    if (!g->started)
        return;
    mailbox_stop(&g->mail);
    pthread_join(g->thread, NULL);
    g->started = false;
}

void agent_free(struct agent *g)
{
    if (!g)
        return;
    agent_stop(g);
    while (g->guests)
        agent_drop(g, g->guests->domid);
    mailbox_destroy(&g->mail);
    free(g->run_dir);
    free(g);
}
