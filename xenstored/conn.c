/*
 * conn.c - the daemon context and its connections: input framing, output
 * queues and their bounds, identity. Sockets and epoll are loop.c's; a
 * connection without a socket (fd -1) is driven by xsd_conn_feed, which
 * is how the unit tests and the fuzz target reach the request handlers.
 *
 * Output is never dropped: a reply or event that would push a connection's
 * queue past its "output" quota closes the connection instead, so a client
 * that reads sees every event and one that does not cannot grow the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "ops.h"
#include "txn.h"
#include "watch.h"

/* Past this much unsent output a connection's input waits: a client
 * pipelining requests without reading replies stalls itself only. */
#define XSD_PAUSE_BYTES (256 * 1024)

struct xsd *xsd_new(const char *run_dir)
{
    struct xsd *x = xcalloc(1, sizeof(*x));
    x->store = store_new();
    list_init(&x->conns);
    x->watches = watch_table_new();
    x->sink = (struct store_sink){.changed = watch_changed, .ctx = x};
    quota_defaults(&x->quota_domu, &x->quota_dom0);
    x->max_conns = 4096;
    x->epfd = -1;
    x->sigfd = -1;
    x->signals = XSD_SIGNALS;
    x->run_dir = run_dir;
    return x;
}

void xsd_free(struct xsd *x)
{
    if (!x)
        return;
    while (!list_empty(&x->conns))
        xsd_conn_free(x, XSD_CONN_OF(list_first(&x->conns)));
    for (size_t p = 0; p < STORE_DOMS / STORE_DOM_PAGE; p++) {
        for (size_t i = 0; x->domain_page[p] && i < STORE_DOM_PAGE; i++) {
            if (x->domain_page[p][i])
                xsd_listener_close(x, x->domain_page[p][i]->listener);
            free(x->domain_page[p][i]);
        }
        free(x->domain_page[p]);
    }
    xsd_listener_close(x, x->rw);
    xsd_listener_close(x, x->ro);
    xsd_listeners_free_closed(x);
    watch_table_free(x->watches);
    store_free(x->store);
    if (x->epfd >= 0)
        close(x->epfd);
    if (x->sigfd >= 0)
        close(x->sigfd);
    free(x);
}

struct xsd_conn *xsd_conn_new(struct xsd *x, int fd, uint16_t dom, bool privileged, bool readonly)
{
    struct xsd_conn *c = xcalloc(1, sizeof(*c));
    c->kind = XSD_CONN;
    c->fd = fd;
    c->id = ++x->next_conn_id;
    c->dom = dom;
    c->privileged = privileged;
    c->readonly = readonly;
    c->guest_of = -1;
    list_push_front(&x->conns, &c->node);
    return c;
}

void xsd_conn_free(struct xsd *x, struct xsd_conn *c)
{
    xsd_conn_reset(x, c);
    if (c->closing)
        x->ndoomed--;
    list_remove(&x->conns, &c->node);
    struct xsd_domain *d = c->guest_of >= 0 ? xsd_domain_find(x, (uint16_t)c->guest_of) : NULL;
    if (d) {
        d->conns--;
        x->guest_conns--;
    }
    if (c->fd >= 0)
        close(c->fd);
    buf_free(&c->out);
    free(c);
}

void xsd_conn_doom(struct xsd *x, struct xsd_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    x->ndoomed++;
    char ctx[32];
    snprintf(ctx, sizeof(ctx), "conn:%u", c->id);
    log_debug(ctx, "closing (domain %u): %s", c->dom, why);
}

const struct xsd_quota *xsd_conn_quota(const struct xsd *x, const struct xsd_conn *c)
{
    return c->privileged ? &x->quota_dom0 : &x->quota_domu;
}

struct perms_who xsd_conn_who(struct xsd *x, const struct xsd_conn *c)
{
    struct perms_who who = {.dom = c->dom, .target = -1, .privileged = c->privileged};
    const struct xsd_domain *d = c->privileged ? NULL : xsd_domain_find(x, c->dom);
    if (d)
        who.target = d->target;
    return who;
}

static size_t xsd_conn_pending(const struct xsd_conn *c)
{
    return c->out.len - c->out_off;
}

void xsd_conn_send(struct xsd *x, struct xsd_conn *c, uint32_t type, uint32_t req_id,
                   uint32_t tx_id, const void *data, size_t len)
{
    if (c->closing)
        return;
    const struct xsd_quota *q = xsd_conn_quota(x, c);
    if (quota_over(q->output, (long long)(xsd_conn_pending(c) + XS_WIRE_HDR + len))) {
        log_warn(NULL, "conn:%u (domain %u) leaves over %lld bytes unread: closing it", c->id,
                 c->dom, q->output);
        xsd_conn_doom(x, c, "too much unread output");
        return;
    }
    xs_wire_put(&c->out, type, req_id, tx_id, data, len);
    if (!c->dirty && c->fd >= 0) {
        c->dirty = true;
        c->next_dirty = x->dirty;
        x->dirty = c;
    }
}

void xsd_conn_send_event(struct xsd *x, struct xsd_conn *c, const char *path, const char *token)
{
    size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
    char *payload = xmalloc(plen + tlen);
    memcpy(payload, path, plen);
    memcpy(payload + plen, token, tlen);
    xsd_conn_send(x, c, XS_WATCH_EVENT, 0, 0, payload, plen + tlen);
    free(payload);
}

void xsd_conn_process(struct xsd *x, struct xsd_conn *c)
{
    size_t off = 0;
    while (!c->closing) {
        if (c->fd >= 0 && xsd_conn_pending(c) > XSD_PAUSE_BYTES) {
            c->paused = true;
            break;
        }
        struct xs_frame f;
        const char *err = NULL;
        int n = xs_wire_parse(c->in + off, c->in_len - off, &f, &err);
        if (n < 0) {
            log_warn(NULL, "conn:%u (domain %u) sent a malformed frame: %s", c->id, c->dom, err);
            xsd_conn_doom(x, c, err);
        }
        if (n <= 0)
            break;
        xsd_handle(x, c, &f);
        off += (size_t)n;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

int xsd_conn_feed(struct xsd *x, struct xsd_conn *c, const void *data, size_t len)
{
    const char *p = data;
    while (len && !c->closing) {
        size_t room = sizeof(c->in) - c->in_len, take = len < room ? len : room;
        memcpy(c->in + c->in_len, p, take);
        c->in_len += take;
        p += take;
        len -= take;
        xsd_conn_process(x, c);
    }
    return c->closing ? -1 : 0;
}
