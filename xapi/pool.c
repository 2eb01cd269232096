/* pool.c - pool messages answered from the host's identity until the
 * database arrives. */
#include "xapi.h"

struct rpc_reply pool_get_all(struct xapi_call *c)
{
    struct val *refs = val_array(c->a);
    val_array_push(c->a, refs, val_string(c->a, c->x->id.pool_ref));
    return rpc_reply_ok(refs);
}
