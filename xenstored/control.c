/*
 * control.c - XS_CONTROL, the privileged side door: Xen's "log", "print",
 * "quota", "memreport", "check" and "help", and one of our own,
 * "set-domain N", which turns the asking connection into one acting as
 * domain N (unprivileged, quota-bound) for good: the way a toolstack or a
 * test plays a guest without a socket per domain.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "ops.h"
#include "store.h"

#define CONTROL_MAX_ARGS 8

static int control_log(struct xsd_req *r, const char **argv, int argc)
{
    if (argc != 2 || (strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0))
        return EINVAL;
    r->x->access_log = strcmp(argv[1], "on") == 0;
    log_info(NULL, "access log %s", argv[1]);
    ops_ack(r);
    return 0;
}

static int control_print(struct xsd_req *r, const char **argv, int argc)
{
    if (argc != 2)
        return EINVAL;
    log_info(NULL, "control: %s", argv[1]);
    ops_ack(r);
    return 0;
}

static void control_usage(struct xsd_req *r, uint16_t dom)
{
    const struct xsd_domain *d = xsd_domain_find(r->x, dom);
    buf_printf(&r->reply, "nodes %u\nwatches %u\ntransactions %u\n",
               store_count(&r->x->store->owned, dom), d ? d->watches : 0, d ? d->transactions : 0);
}

/* quota: the unprivileged quotas; quota dom0: the privileged bounds;
 * quota DOMID: what that domain uses; quota set[-dom0] NAME VALUE. */
static int control_quota(struct xsd_req *r, const char **argv, int argc)
{
    int rc = 0;
    if (argc == 1) {
        quota_format(&r->x->quota_domu, &r->reply);
    } else if (argc == 2 && strcmp(argv[1], "dom0") == 0) {
        quota_format(&r->x->quota_dom0, &r->reply);
    } else if (argc == 2 && ops_domid(argv[1]) >= 0) {
        control_usage(r, (uint16_t)ops_domid(argv[1]));
    } else if (argc == 4 && strcmp(argv[1], "set") == 0) {
        rc = quota_set(&r->x->quota_domu, argv[2], argv[3]);
    } else if (argc == 4 && strcmp(argv[1], "set-dom0") == 0) {
        rc = quota_set(&r->x->quota_dom0, argv[2], argv[3]);
    } else {
        rc = EINVAL;
    }
    if (rc == 0 && r->reply.len == 0)
        ops_ack(r);
    else if (rc == 0)
        buf_append(&r->reply, "", 1);
    return rc;
}

static int control_set_domain(struct xsd_req *r, const char **argv, int argc)
{
    int dom = argc == 2 ? ops_domid(argv[1]) : -1;
    if (dom <= 0 || r->c->readonly)
        return EINVAL;
    if (r->c->ntxns || r->c->nwatches)
        return EBUSY;
    r->c->dom = (uint16_t)dom;
    r->c->privileged = false;
    log_info(NULL, "conn:%u now acts as domain %d", r->c->id, dom);
    ops_ack(r);
    return 0;
}

static int control_memreport(struct xsd_req *r, const char **argv, int argc)
{
    buf_printf(&r->reply, "nodes %zu\nconnections %zu\n", r->x->store->nnodes,
               list_length(&r->x->conns));
    buf_append(&r->reply, "", 1);
    return 0;
}

static int control_check(struct xsd_req *r, const char **argv, int argc)
{
    if (store_check(r->x->store) < 0) {
        log_error(NULL, "control check: the store is inconsistent");
        return EIO;
    }
    ops_ack(r);
    return 0;
}

static int control_help(struct xsd_req *r, const char **argv, int argc);

static const struct {
    const char *name;
    int (*fn)(struct xsd_req *r, const char **argv, int argc);
    const char *usage;
} control_cmds[] = {
    {"check", control_check, "check: verify the store's invariants"},
    {"help", control_help, "help: this list"},
    {"log", control_log, "log on|off: the access log"},
    {"memreport", control_memreport, "memreport: nodes and connections"},
    {"print", control_print, "print TEXT: write TEXT to the log"},
    {"quota", control_quota,
     "quota [dom0|DOMID|set NAME VALUE|set-dom0 NAME VALUE]: show or set quotas"},
    {"set-domain", control_set_domain, "set-domain DOMID: act as DOMID from now on"},
};
#define CONTROL_N (sizeof(control_cmds) / sizeof(control_cmds[0]))

static int control_help(struct xsd_req *r, const char **argv, int argc)
{
    for (size_t i = 0; i < CONTROL_N; i++)
        buf_printf(&r->reply, "%s\n", control_cmds[i].usage);
    buf_append(&r->reply, "", 1);
    return 0;
}

int ops_control(struct xsd_req *r)
{
    const char *argv[CONTROL_MAX_ARGS];
    int argc = xs_wire_args(r->f, argv, CONTROL_MAX_ARGS);
    if (argc < 1)
        return EINVAL;
    for (size_t i = 0; i < CONTROL_N; i++)
        if (strcmp(argv[0], control_cmds[i].name) == 0)
            return control_cmds[i].fn(r, argv, argc);
    return EINVAL;
}
