/*
 * ops.h - what a request handler gets, shared by the handlers of node
 * operations (ops.c), domain operations (domain.c) and CONTROL
 * (control.c). A handler returns 0 with its reply payload in reply, an
 * errno value for an error reply, or OPS_SENT when it queued its reply
 * itself (WATCH, whose first event must follow its reply).
 */
#ifndef XSD_OPS_H
#define XSD_OPS_H

#include "view.h"
#include "xsd.h"

#define OPS_SENT (-1)

struct xsd_req {
    struct xsd *x;
    struct xsd_conn *c;
    const struct xs_frame *f;
    struct view view;
    struct perms_who who;
    const struct xsd_quota *q;
    struct buf reply;
};

/* The payload as exactly one NUL-terminated string, or NULL. */
const char *ops_onearg(const struct xsd_req *r);
/* A decimal domain id below PERMS_DOMID_LIMIT, or -1. */
int ops_domid(const char *s);
/* Appends "OK" and its NUL. */
void ops_ack(struct xsd_req *r);

int ops_introduce(struct xsd_req *r);
int ops_release(struct xsd_req *r);
int ops_resume(struct xsd_req *r);
int ops_set_target(struct xsd_req *r);
int ops_get_domain_path(struct xsd_req *r);
int ops_is_domain_introduced(struct xsd_req *r);
int ops_control(struct xsd_req *r);

/* Listening sockets (loop.c): for RUNDIR's two and each domain's. */
struct xsd_listener *xsd_listen(struct xsd *x, const char *path, uint16_t dom, bool privileged,
                                bool readonly);
void xsd_listener_close(struct xsd *x, struct xsd_listener *l);
/* Frees the listeners closed since the last call. */
void xsd_listeners_free_closed(struct xsd *x);

#endif
