/*
 * xsd.h - the daemon's one context (struct xsd) and its connections.
 *
 * Everything runs on one thread in one epoll loop (loop.c): a request is
 * handled to the end as soon as its frame is complete, so the store needs
 * no lock and commits are ordered by arrival. A connection acts for one
 * domain: dom0 and privileged on xenstored.sock, dom0 and read-only on
 * xenstored.ro.sock, domain N and unprivileged on the socket made for N
 * when it is introduced or after CONTROL "set-domain N".
 */
#ifndef XSD_XSD_H
#define XSD_XSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostdir.h"
#include "list.h"
#include "buf.h"
#include "perms.h"
#include "quota.h"
#include "store.h"
#include "wire.h"

struct txn;
struct watch;
struct watch_table;

/* What an epoll registration points at: each such struct starts with it. */
enum xsd_kind { XSD_LISTENER, XSD_CONN, XSD_SIGNALS };

struct xsd_listener {
    enum xsd_kind kind;
    int fd;
    uint16_t dom;
    bool privileged, readonly;
    char *path;                /* unlinked when the listener goes, if still ours */
    struct hostdir_sock own;   /* the socket file bound at path */
    bool closed;               /* closed, not yet freed: see xsd_listener_close */
    struct xsd_listener *next; /* in x->closed_listeners */
};

struct xsd_conn {
    enum xsd_kind kind;
    int fd; /* -1: detached, driven by xsd_conn_feed (tests, fuzzing) */
    uint32_t id;
    uint16_t dom;
    bool privileged, readonly;
    int32_t guest_of; /* the domain whose socket it came on (counted), or -1 */
    bool closing;     /* doomed: freed at the end of the loop's turn */
    bool dirty;       /* output waiting to be flushed */
    bool paused;      /* input left unread until the output drains */
    bool eof;         /* the client sent all it will: close once output drains */
    uint32_t events;  /* what epoll watches for */
    size_t in_len;
    char in[XS_WIRE_HDR + XENSTORE_PAYLOAD_MAX];
    struct buf out;
    size_t out_off; /* bytes of out already written */
    struct txn *txns;
    uint32_t ntxns;
    struct watch *watches; /* this connection's, linked through next_conn */
    uint32_t nwatches;
    struct list_node node; /* in xsd.conns */
    struct xsd_conn *next_dirty;
};

#define XSD_CONN_OF(n) LIST_ENTRY(n, struct xsd_conn, node)

/* Per domain: whether it is introduced, and its use of the quotas that
 * Xen counts per domain (its nodes are counted by the store). */
struct xsd_domain {
    uint16_t id;
    bool introduced;
    int32_t target; /* SET_TARGET: the domain it may act for, or -1 */
    uint32_t watches, transactions;
    uint32_t conns; /* open on its socket (at most XSD_DOMAIN_CONNS) */
    struct xsd_listener *listener;
};

/* Connections one guest's socket may hold at once; and of max_conns, how
 * many only dom0's sockets may take (a quarter, at most this): so no
 * guest, nor all of them, can lock the control domain out. */
#define XSD_DOMAIN_CONNS 64
#define XSD_DOM0_RESERVE 64

struct xsd {
    struct store *store;
    struct store_sink sink; /* the watches, told of every change */
    struct watch_table *watches;
    /* The domains known, by id: pages of STORE_DOM_PAGE made as needed
     * (xsd_domain_find, xsd_domain). */
    struct xsd_domain **domain_page[STORE_DOMS / STORE_DOM_PAGE];
    struct xsd_quota quota_domu; /* unprivileged domains, per domain as Xen */
    struct xsd_quota quota_dom0; /* safety bounds per privileged connection */
    struct list conns;           /* every connection, newest first */
    size_t max_conns;
    size_t guest_conns;        /* open on guests' sockets */
    int64_t refused_log_ms;    /* when a refused connection was last logged */
    uint64_t refused_unlogged; /* refused since */
    struct xsd_conn *dirty;
    uint32_t next_txid, next_conn_id;
    size_t ndoomed;
    int epfd;              /* -1 when no loop runs (tests) */
    enum xsd_kind signals; /* the signalfd's epoll registration points here */
    int sigfd;
    struct daemon *daemon; /* its signals and log */
    struct xsd_listener *rw, *ro;
    struct xsd_listener *closed_listeners; /* freed after the current batch */
    const char *run_dir;                   /* NULL: no sockets (tests) */
    bool access_log;
    bool stop;
};

/* The domain dom, or NULL when it is unknown. */
static inline struct xsd_domain *xsd_domain_find(const struct xsd *x, uint16_t dom)
{
    struct xsd_domain *const *page = x->domain_page[dom / STORE_DOM_PAGE];
    return page ? page[dom % STORE_DOM_PAGE] : NULL;
}

/* The context with an empty store ("/" only) and default quotas. */
struct xsd *xsd_new(const char *run_dir);
void xsd_free(struct xsd *x);

/* Connections (conn.c). */
struct xsd_conn *xsd_conn_new(struct xsd *x, int fd, uint16_t dom, bool privileged, bool readonly);
/* Appends data to the connection's input and handles every complete
 * frame; replies and events collect in c->out. Returns -1 once the
 * connection is doomed (malformed frame, output over its bound). */
int xsd_conn_feed(struct xsd *x, struct xsd_conn *c, const void *data, size_t len);
/* Handles what is buffered in c->in (after a read, or once output drained). */
void xsd_conn_process(struct xsd *x, struct xsd_conn *c);
void xsd_conn_send(struct xsd *x, struct xsd_conn *c, uint32_t type, uint32_t req_id,
                   uint32_t tx_id, const void *data, size_t len);
void xsd_conn_send_event(struct xsd *x, struct xsd_conn *c, const char *path, const char *token);
/* Marks c for closing at the end of the loop's turn (freeing at once a
 * detached one would pull it from under its caller: see xsd_conn_free). */
void xsd_conn_doom(struct xsd *x, struct xsd_conn *c, const char *why);
void xsd_conn_free(struct xsd *x, struct xsd_conn *c);
/* Ends the connection's transactions and watches (RESET_WATCHES, close). */
void xsd_conn_reset(struct xsd *x, struct xsd_conn *c);
/* The quotas that bind c. */
const struct xsd_quota *xsd_conn_quota(const struct xsd *x, const struct xsd_conn *c);
struct perms_who xsd_conn_who(struct xsd *x, const struct xsd_conn *c);

/* One request (ops.c): replies on c, fires watches, logs if asked. */
void xsd_handle(struct xsd *x, struct xsd_conn *c, const struct xs_frame *f);

/* Domains (domain.c). */
struct xsd_domain *xsd_domain(struct xsd *x, uint16_t dom);

#endif
