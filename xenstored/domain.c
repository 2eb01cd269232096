/*
 * domain.c - domains: INTRODUCE, RELEASE, SET_TARGET and friends, and the
 * socket each introduced domain gets (RUNDIR/xenstored-domains/N.sock):
 * whoever connects there acts as domain N, unprivileged, so that the
 * toolstack and tests can play a guest and see its permissions enforced.
 * There are no shared-memory rings here: the socket stands in for one.
 */
#include <errno.h>
#include <string.h>

#include "hostdir.h"
#include "log.h"
#include "mem.h"
#include "ops.h"
#include "path.h"
#include "watch.h"

struct xsd_domain *xsd_domain(struct xsd *x, uint16_t dom)
{
    struct xsd_domain ***page = &x->domain_page[dom / STORE_DOM_PAGE];
    if (!*page)
        *page = xcalloc(STORE_DOM_PAGE, sizeof(**page));
    struct xsd_domain **d = &(*page)[dom % STORE_DOM_PAGE];
    if (!*d) {
        *d = xcalloc(1, sizeof(struct xsd_domain));
        (*d)->id = dom;
        (*d)->target = -1;
    }
    return *d;
}

static void domain_open_socket(struct xsd *x, struct xsd_domain *d)
{
    if (!x->run_dir || d->id == 0)
        return;
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/xenstored-domains", x->run_dir);
    hostdir_mkdirs(path.data, 0700);
    buf_printf(&path, "/%u.sock", d->id);
    d->listener = xsd_listen(x, path.data, d->id, false, false);
    buf_free(&path);
}

/* domid, gfn of the ring page, event channel: only the domid matters here. */
int ops_introduce(struct xsd_req *r)
{
    const char *argv[3];
    if (xs_wire_args(r->f, argv, 3) != 3)
        return EINVAL;
    int dom = ops_domid(argv[0]);
    if (dom < 0)
        return EINVAL;
    struct xsd_domain *d = xsd_domain(r->x, (uint16_t)dom);
    if (!d->introduced) {
        d->introduced = true;
        domain_open_socket(r->x, d);
        log_info(NULL, "domain %d introduced", dom);
        watch_fire_special(r->x, "@introduceDomain");
    }
    ops_ack(r);
    return 0;
}

/* The domain's connections end with it, as its ring would. */
static void domain_drop_conns(struct xsd *x, uint16_t dom)
{
    for (struct list_node *n = list_first(&x->conns); n; n = list_next(&x->conns, n)) {
        struct xsd_conn *c = XSD_CONN_OF(n);
        if (!c->privileged && c->dom == dom)
            xsd_conn_doom(x, c, "its domain was released");
    }
}

int ops_release(struct xsd_req *r)
{
    const char *arg = ops_onearg(r);
    int dom = arg ? ops_domid(arg) : -1;
    if (dom <= 0)
        return EINVAL;
    struct xsd_domain *d = xsd_domain_find(r->x, dom);
    if (!d || !d->introduced)
        return ENOENT;
    d->introduced = false;
    d->target = -1;
    xsd_listener_close(r->x, d->listener);
    d->listener = NULL;
    domain_drop_conns(r->x, (uint16_t)dom);
    log_info(NULL, "domain %d released", dom);
    watch_fire_special(r->x, "@releaseDomain");
    ops_ack(r);
    return 0;
}

int ops_resume(struct xsd_req *r)
{
    const char *arg = ops_onearg(r);
    int dom = arg ? ops_domid(arg) : -1;
    if (dom < 0)
        return EINVAL;
    const struct xsd_domain *d = xsd_domain_find(r->x, (uint16_t)dom);
    if (!d || !d->introduced)
        return ENOENT;
    ops_ack(r);
    return 0;
}

/* domid, target: domid (a device model) may act for target. */
int ops_set_target(struct xsd_req *r)
{
    const char *argv[2];
    if (xs_wire_args(r->f, argv, 2) != 2)
        return EINVAL;
    int dom = ops_domid(argv[0]), target = ops_domid(argv[1]);
    if (dom < 0 || target < 0)
        return EINVAL;
    struct xsd_domain *d = xsd_domain_find(r->x, (uint16_t)dom);
    if (!d || !d->introduced)
        return ENOENT;
    d->target = target;
    ops_ack(r);
    return 0;
}

int ops_get_domain_path(struct xsd_req *r)
{
    const char *arg = ops_onearg(r);
    int dom = arg ? ops_domid(arg) : -1;
    if (dom < 0)
        return EINVAL;
    path_domain_home((uint16_t)dom, &r->reply);
    buf_append(&r->reply, "", 1);
    return 0;
}

int ops_is_domain_introduced(struct xsd_req *r)
{
    const char *arg = ops_onearg(r);
    int dom = arg ? ops_domid(arg) : -1;
    if (dom < 0)
        return EINVAL;
    const struct xsd_domain *d = xsd_domain_find(r->x, (uint16_t)dom);
    bool in = dom == 0 || (d && d->introduced);
    buf_append(&r->reply, in ? "T" : "F", 2);
    return 0;
}
