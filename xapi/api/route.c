/*
 * route.c - the dispatch policy stage: where a call runs, decided once,
 * after its checks and before its handler, from the message's run in the
 * schema overlay (api_message.run) and this host's role. Handlers never
 * decide routing themselves.
 *
 *   master   runs here on the master; a slave answers HOST_IS_SLAVE
 *            naming its master, and the client calls the master;
 *   local    runs on whichever host is called (a host's own login, the
 *            emergency calls);
 *   forward  runs on the host the call names (VM.start_on's host, the
 *            host a VM is resident on for its operations): here when that
 *            is this host or none; HOST_OFFLINE when that host is not
 *            live.
 *
 * On a pool of one every call runs here, and the tests pin that down.
 * Forwarding a call to another live host arrives with the pool, which
 * fills in xapi_route_forward; until then such a host cannot exist (only
 * this host's metrics are ever live) and the call is refused rather than
 * run in the wrong place. A slave answers HOST_IS_SLAVE to what the
 * master would forward to it too: the calls the master forwards will come
 * in a pool session, which the pool issue adds.
 */
#include "core/xapi.h"
#include "api/api.h"
#include "db/db.h"
#include "log.h"

#include <string.h>

/* The host a forward call names (hold the read lock): NULL when a ref on
 * the way names nothing, which the handler reports. */
static const struct db_obj *xapi_route_target(struct xapi_call *c)
{
    const struct api_message *m = c->m;
    const struct api_type *t = m->params[m->run_param].type;
    const struct db_obj *o = db_get(c->x->db, t->cls, val_str(c->args[m->run_param]));
    for (int i = 0; o && i < API_RUN_HOPS && m->run_fields[i] != API_NO_FIELD; i++)
        o = db_obj_follow(c->x->db, o, m->run_fields[i]);
    return o;
}

/* A call for another host: refused, as no other host can be reached yet. */
static struct rpc_reply xapi_route_forward(struct xapi_call *c, const char *host, bool live)
{
    if (!live)
        return rpc_reply_error(c->a, API_ERR_HOST_OFFLINE, host, NULL);
    log_warn(c->log_ctx, "%s: for host %s, which this host cannot reach", c->m->wire_name, host);
    return rpc_reply_error(c->a, API_ERR_NOT_IMPLEMENTED,
                           arena_printf(c->a, "%s on another host of the pool", c->m->wire_name),
                           NULL);
}

int xapi_route(struct xapi_call *c, struct rpc_reply *reply)
{
    const struct api_message *m = c->m;
    if (m->run == API_RUN_LOCAL)
        return 0;
    if (!c->x->role.master) {
        *reply = rpc_reply_error(c->a, API_ERR_HOST_IS_SLAVE, c->x->role.master_address, NULL);
        return -1;
    }
    if (m->run == API_RUN_MASTER)
        return 0;
    db_read_lock(c->x->db);
    const struct db_obj *host = xapi_route_target(c);
    const char *ref = host ? arena_strdup(c->a, host->ref) : NULL;
    const struct db_obj *metrics = host ? db_obj_follow(c->x->db, host, API_F_host_metrics) : NULL;
    bool live = metrics && db_obj_bool(metrics, API_F_host_metrics_live);
    db_read_unlock(c->x->db);
    if (!ref || strcmp(ref, c->x->id.host_ref) == 0)
        return 0;
    *reply = xapi_route_forward(c, ref, live);
    return -1;
}
