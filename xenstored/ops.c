/*
 * ops.c - the request dispatcher and the handlers of the node operations
 * (READ, WRITE, MKDIR, RM, DIRECTORY[_PART], GET/SET_PERMS), watches and
 * transactions. Every handler works on a view (view.h), so the same code
 * serves plain requests and requests inside a transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "ops.h"
#include "path.h"
#include "txn.h"
#include "watch.h"

/* Watch events must fit a frame: the longest path, the token, two NULs. */
#define OPS_TOKEN_MAX (XENSTORE_PAYLOAD_MAX - XENSTORE_ABS_PATH_MAX - 2)

const char *ops_onearg(const struct xsd_req *r)
{
    const struct xs_frame *f = r->f;
    if (f->len == 0 || memchr(f->payload, '\0', f->len) != f->payload + f->len - 1)
        return NULL;
    return f->payload;
}

int ops_domid(const char *s)
{
    if (!*s)
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v >= (long)PERMS_DOMID_LIMIT)
            return -1;
    }
    return (int)v;
}

void ops_ack(struct xsd_req *r)
{
    buf_append(&r->reply, "OK", 3);
}

static int ops_path(const struct xsd_req *r, const char *in, bool special, struct buf *out,
                    bool *relative)
{
    size_t rel_max = r->c->privileged ? 0 : (size_t)r->q->path_max;
    return path_resolve(in, r->c->dom, special, rel_max, out, relative);
}

/* Resolves the request's one path argument into out. */
static int ops_path_arg(const struct xsd_req *r, struct buf *out)
{
    const char *arg = ops_onearg(r);
    bool relative;
    return arg ? ops_path(r, arg, false, out, &relative) : EINVAL;
}

static int ops_may(const struct xsd_req *r, const struct node_perms *p, unsigned want)
{
    return (perms_for(p, &r->who) & want) == want ? 0 : EACCES;
}

/* The error for a node at path that does not exist: ENOENT when the
 * caller may read the nearest node that exists above it, else EACCES, as
 * for a node it may not read. So a subtree the caller cannot read does
 * not tell, through ENOENT against EACCES, which nodes it holds (Xen's C
 * daemon answers so: errno_from_parents). */
static int ops_missing(struct xsd_req *r, const char *path)
{
    char *p = xstrdup(path);
    int rc = ENOENT;
    while (p[1]) { /* up to "/", which always exists */
        p[path_parent_len(p)] = '\0';
        struct view_ref ref;
        int e = view_get(&r->view, p, VIEW_EXISTS, &ref);
        if (e || ref.exists) {
            rc = e ? e : ops_may(r, ref.perms, PERM_READ) ? EACCES : ENOENT;
            break;
        }
    }
    free(p);
    return rc;
}

/* The node at path, which must exist and be readable. */
static int ops_get_readable(struct xsd_req *r, const char *path, enum view_obs obs,
                            struct view_ref *ref)
{
    int rc = view_get(&r->view, path, obs, ref);
    if (rc)
        return rc;
    return ref->exists ? ops_may(r, ref->perms, PERM_READ) : ops_missing(r, path);
}

static int ops_read(struct xsd_req *r)
{
    struct buf path = BUF_INIT;
    struct view_ref ref;
    int rc = ops_path_arg(r, &path);
    if (!rc)
        rc = ops_get_readable(r, path.data, VIEW_READ, &ref);
    if (!rc && ref.vlen)
        buf_append(&r->reply, ref.value, ref.vlen);
    buf_free(&path);
    return rc;
}

static int ops_get_perms(struct xsd_req *r)
{
    struct buf path = BUF_INIT;
    struct view_ref ref;
    int rc = ops_path_arg(r, &path);
    if (!rc)
        rc = ops_get_readable(r, path.data, VIEW_READ, &ref);
    if (!rc)
        perms_format(ref.perms, &r->reply);
    buf_free(&path);
    return rc;
}

/* The children of a readable node, NUL-terminated names, into names. */
static int ops_list(struct xsd_req *r, const char *path, struct buf *names, uint64_t *gen)
{
    struct view_ref ref;
    int rc = ops_get_readable(r, path, VIEW_EXISTS, &ref);
    if (rc)
        return rc;
    *gen = ref.cgen;
    return view_list(&r->view, path, names);
}

static int ops_directory(struct xsd_req *r)
{
    struct buf path = BUF_INIT;
    uint64_t gen;
    int rc = ops_path_arg(r, &path);
    if (!rc)
        rc = ops_list(r, path.data, &r->reply, &gen);
    if (!rc && r->reply.len > XENSTORE_PAYLOAD_MAX)
        rc = E2BIG;
    buf_free(&path);
    return rc;
}

/* Appends the names from byte offset off that fit, whole, after the
 * generation; an empty name after the last one says the list is done. */
static void ops_directory_slice(struct xsd_req *r, const struct buf *names, size_t off)
{
    size_t room = XENSTORE_PAYLOAD_MAX - r->reply.len - 1, take = 0;
    while (off + take < names->len) {
        size_t n = strlen(names->data + off + take) + 1;
        if (take + n > room)
            break;
        take += n;
    }
    if (take)
        buf_append(&r->reply, names->data + off, take);
    if (off + take >= names->len)
        buf_append(&r->reply, "", 1);
}

static int ops_directory_part(struct xsd_req *r)
{
    const char *argv[2];
    if (xs_wire_args(r->f, argv, 2) != 2)
        return EINVAL;
    char *end;
    unsigned long long off = strtoull(argv[1], &end, 10);
    if (!argv[1][0] || *end)
        return EINVAL;
    struct buf path = BUF_INIT, names = BUF_INIT;
    bool relative;
    uint64_t gen = 0;
    int rc = ops_path(r, argv[0], false, &path, &relative);
    if (!rc)
        rc = ops_list(r, path.data, &names, &gen);
    if (!rc) {
        buf_printf(&r->reply, "%" PRIu64, gen);
        buf_append(&r->reply, "", 1);
        ops_directory_slice(r, &names, off < names.len ? (size_t)off : names.len);
    }
    buf_free(&path);
    buf_free(&names);
    return rc;
}

/* The nodes-per-domain quota, for n more nodes owned by the asker. */
static int ops_room_for(const struct xsd_req *r, uint32_t n)
{
    if (r->c->privileged)
        return 0;
    long long have =
        store_count(&r->x->store->owned, r->c->dom) + (r->view.tx ? r->view.tx->created : 0);
    return quota_over(r->q->nodes, have + n) ? ENOSPC : 0;
}

/* Creates path and its missing parents, as Xen: permission is asked of the
 * deepest node that exists, and the new nodes inherit its list. */
static int ops_create(struct xsd_req *r, const char *path, const char *value, uint32_t vlen,
                      unsigned flags)
{
    struct buf anc = BUF_INIT;
    struct view_ref ref = {0};
    uint32_t missing = 0;
    int rc = 0;
    buf_puts(&anc, path);
    while (!rc && !ref.exists) {
        missing++;
        anc.len = path_parent_len(anc.data);
        anc.data[anc.len] = '\0';
        rc = view_get(&r->view, anc.data, VIEW_ANCESTOR, &ref);
    }
    if (!rc)
        rc = ops_may(r, ref.perms, PERM_WRITE);
    if (!rc)
        rc = ops_room_for(r, missing);
    if (rc) {
        buf_free(&anc);
        return rc;
    }
    struct node_perms *p = perms_inherit(ref.perms, r->c->dom);
    while (!rc && anc.len < strlen(path)) {
        const char *next = strchr(path + anc.len + 1, '/');
        anc.len = next ? (size_t)(next - path) : strlen(path);
        memcpy(anc.data, path, anc.len);
        anc.data[anc.len] = '\0';
        if (next)
            rc = view_set(&r->view, anc.data, "", 0, p, VIEW_ENSURE);
    }
    if (!rc)
        rc = view_set(&r->view, path, value, vlen, p, flags);
    perms_unref(p);
    buf_free(&anc);
    return rc;
}

/* WRITE and MKDIR: an existing node is written (or, for MKDIR, left). */
static int ops_put(struct xsd_req *r, const char *path, const char *value, uint32_t vlen,
                   bool mkdir)
{
    struct view_ref ref;
    int rc = view_get(&r->view, path, mkdir ? VIEW_ANCESTOR : VIEW_READ, &ref);
    if (rc)
        return rc;
    if (!ref.exists)
        return ops_create(r, path, value, vlen, mkdir ? VIEW_ENSURE | VIEW_FIRE : VIEW_FIRE);
    if (mkdir)
        return 0;
    rc = ops_may(r, ref.perms, PERM_WRITE);
    return rc ? rc : view_set(&r->view, path, value, vlen, NULL, VIEW_FIRE);
}

static int ops_write(struct xsd_req *r)
{
    const char *nul = memchr(r->f->payload, '\0', r->f->len);
    if (!nul)
        return EINVAL;
    const char *value = nul + 1;
    uint32_t vlen = (uint32_t)(r->f->len - (size_t)(value - r->f->payload));
    if (quota_over(r->q->node_size, vlen))
        return E2BIG;
    struct buf path = BUF_INIT;
    bool relative;
    int rc = ops_path(r, r->f->payload, false, &path, &relative);
    if (!rc)
        rc = ops_put(r, path.data, value, vlen, false);
    if (!rc)
        ops_ack(r);
    buf_free(&path);
    return rc;
}

static int ops_mkdir(struct xsd_req *r)
{
    struct buf path = BUF_INIT;
    int rc = ops_path_arg(r, &path);
    if (!rc)
        rc = ops_put(r, path.data, "", 0, true);
    if (!rc)
        ops_ack(r);
    buf_free(&path);
    return rc;
}

/* Removing what is not there succeeds when its parent is (Xen's rule). */
static int ops_rm_path(struct xsd_req *r, const char *path)
{
    if (!path[1])
        return EINVAL;
    struct view_ref ref;
    int rc = view_get(&r->view, path, VIEW_READ, &ref);
    if (rc)
        return rc;
    if (ref.exists) {
        rc = ops_may(r, ref.perms, PERM_WRITE);
        return rc ? rc : view_rm(&r->view, path);
    }
    /* Gone already: fine if the parent exists, and if the caller may
     * know that it is gone. */
    if ((rc = ops_missing(r, path)) != ENOENT)
        return rc;
    char *parent = xstrndup(path, path_parent_len(path));
    rc = view_get(&r->view, parent, VIEW_EXISTS, &ref);
    free(parent);
    return rc ? rc : ref.exists ? 0 : ENOENT;
}

static int ops_rm(struct xsd_req *r)
{
    struct buf path = BUF_INIT;
    int rc = ops_path_arg(r, &path);
    if (!rc)
        rc = ops_rm_path(r, path.data);
    if (!rc)
        ops_ack(r);
    buf_free(&path);
    return rc;
}

/* Only the owner (or dom0) may set a node's list; only dom0 may give the
 * node away. */
static int ops_set_perms(struct xsd_req *r)
{
    const char *argv[XENSTORE_PAYLOAD_MAX / 2];
    int argc = xs_wire_args(r->f, argv, XENSTORE_PAYLOAD_MAX / 2);
    if (argc < 2)
        return EINVAL;
    if (quota_over(r->q->permissions, argc - 1))
        return ENOSPC;
    struct node_perms *p = perms_parse(argv + 1, argc - 1);
    if (!p)
        return EINVAL;
    struct buf path = BUF_INIT;
    struct view_ref ref;
    bool relative;
    int rc = ops_path(r, argv[0], false, &path, &relative);
    if (!rc)
        rc = view_get(&r->view, path.data, VIEW_READ, &ref);
    if (!rc && !ref.exists)
        rc = ENOENT;
    if (!rc)
        rc = ops_may(r, ref.perms, PERM_WRITE | PERM_OWNER);
    if (!rc && !r->c->privileged && p->e[0].dom != ref.perms->e[0].dom)
        rc = EPERM;
    if (!rc)
        rc = view_set(&r->view, path.data, NULL, 0, p, VIEW_KEEP_VALUE | VIEW_FIRE);
    if (!rc)
        ops_ack(r);
    perms_unref(p);
    buf_free(&path);
    return rc;
}

static int ops_watch_quota(const struct xsd_req *r)
{
    if (r->c->privileged)
        return quota_over(r->q->watches, r->c->nwatches + 1LL) ? E2BIG : 0;
    return quota_over(r->q->watches, xsd_domain(r->x, r->c->dom)->watches + 1LL) ? E2BIG : 0;
}

static int ops_watch(struct xsd_req *r)
{
    const char *argv[2];
    if (xs_wire_args(r->f, argv, 2) != 2)
        return EINVAL;
    if (strlen(argv[1]) > OPS_TOKEN_MAX)
        return E2BIG;
    struct buf path = BUF_INIT;
    bool relative;
    int rc = ops_path(r, argv[0], true, &path, &relative);
    if (!rc)
        rc = ops_watch_quota(r);
    if (!rc)
        rc = watch_add(r->x, r->c, path.data, relative, argv[1]);
    buf_free(&path);
    if (rc)
        return rc;
    xsd_conn_send(r->x, r->c, XS_WATCH, r->f->req_id, r->f->tx_id, "OK", 3);
    xsd_conn_send_event(r->x, r->c, argv[0], argv[1]);
    return OPS_SENT;
}

static int ops_unwatch(struct xsd_req *r)
{
    const char *argv[2];
    if (xs_wire_args(r->f, argv, 2) != 2)
        return EINVAL;
    struct buf path = BUF_INIT;
    bool relative;
    int rc = ops_path(r, argv[0], true, &path, &relative);
    if (!rc)
        rc = watch_del(r->x, r->c, path.data, argv[1]);
    if (!rc)
        ops_ack(r);
    buf_free(&path);
    return rc;
}

static int ops_reset_watches(struct xsd_req *r)
{
    xsd_conn_reset(r->x, r->c);
    ops_ack(r);
    return 0;
}

static int ops_transaction_start(struct xsd_req *r)
{
    if (r->f->tx_id)
        return EBUSY;
    struct xsd_conn *c = r->c;
    struct xsd_domain *d = c->privileged ? NULL : xsd_domain(r->x, c->dom);
    if (quota_over(r->q->transactions, (d ? d->transactions : c->ntxns) + 1LL))
        return ENOSPC;
    uint32_t id;
    do
        id = ++r->x->next_txid;
    while (id == 0);
    size_t max = r->q->transaction_nodes > 0 ? (size_t)r->q->transaction_nodes : SIZE_MAX;
    struct txn *t = txn_new(id, c->dom, max);
    t->next = c->txns;
    c->txns = t;
    c->ntxns++;
    if (d)
        d->transactions++;
    buf_printf(&r->reply, "%u", id);
    buf_append(&r->reply, "", 1);
    return 0;
}

/* Takes t out of its connection (RESET_WATCHES and close use it too). */
static void ops_txn_detach(struct xsd *x, struct xsd_conn *c, struct txn *t)
{
    for (struct txn **pp = &c->txns; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    c->ntxns--;
    if (!c->privileged)
        xsd_domain(x, c->dom)->transactions--;
}

void xsd_conn_reset(struct xsd *x, struct xsd_conn *c)
{
    while (c->txns) {
        struct txn *t = c->txns;
        ops_txn_detach(x, c, t);
        txn_free(t);
    }
    watch_del_all(x, c);
}

static int ops_transaction_end(struct xsd_req *r)
{
    const char *arg = ops_onearg(r);
    struct txn *t = r->view.tx;
    if (!t)
        return ENOENT;
    if (!arg || (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0))
        return EINVAL;
    ops_txn_detach(r->x, r->c, t);
    int rc = 0;
    if (arg[0] == 'T') {
        rc = ops_room_for(r, 0);
        if (!rc)
            rc = txn_commit(t, r->x->store, &r->x->sink);
    }
    txn_free(t);
    r->view.tx = NULL;
    if (!rc)
        ops_ack(r);
    return rc;
}

enum {
    OP_WRITES = 1, /* refused on the read-only socket */
    OP_PRIV = 2,   /* dom0 only */
};

static const struct {
    int (*fn)(struct xsd_req *r);
    unsigned flags;
} ops_table[XS_TYPE_COUNT] = {
    [XS_CONTROL] = {ops_control, OP_PRIV | OP_WRITES},
    [XS_DIRECTORY] = {ops_directory, 0},
    [XS_READ] = {ops_read, 0},
    [XS_GET_PERMS] = {ops_get_perms, 0},
    [XS_WATCH] = {ops_watch, 0},
    [XS_UNWATCH] = {ops_unwatch, 0},
    [XS_TRANSACTION_START] = {ops_transaction_start, 0},
    [XS_TRANSACTION_END] = {ops_transaction_end, 0},
    [XS_INTRODUCE] = {ops_introduce, OP_PRIV | OP_WRITES},
    [XS_RELEASE] = {ops_release, OP_PRIV | OP_WRITES},
    [XS_GET_DOMAIN_PATH] = {ops_get_domain_path, 0},
    [XS_WRITE] = {ops_write, OP_WRITES},
    [XS_MKDIR] = {ops_mkdir, OP_WRITES},
    [XS_RM] = {ops_rm, OP_WRITES},
    [XS_SET_PERMS] = {ops_set_perms, OP_WRITES},
    [XS_IS_DOMAIN_INTRODUCED] = {ops_is_domain_introduced, 0},
    [XS_RESUME] = {ops_resume, OP_PRIV | OP_WRITES},
    [XS_SET_TARGET] = {ops_set_target, OP_PRIV | OP_WRITES},
    [XS_RESET_WATCHES] = {ops_reset_watches, 0},
    [XS_DIRECTORY_PART] = {ops_directory_part, 0},
};

static struct txn *ops_find_txn(struct xsd_conn *c, uint32_t id)
{
    for (struct txn *t = c->txns; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static int ops_dispatch(struct xsd_req *r)
{
    const struct xs_frame *f = r->f;
    if (f->type >= XS_TYPE_COUNT || !ops_table[f->type].fn)
        return EINVAL;
    unsigned flags = ops_table[f->type].flags;
    if ((flags & OP_WRITES) && r->c->readonly)
        return EROFS;
    if ((flags & OP_PRIV) && !r->c->privileged)
        return EACCES;
    if (f->tx_id && !(r->view.tx = ops_find_txn(r->c, f->tx_id)))
        return ENOENT;
    return ops_table[f->type].fn(r);
}

static void ops_log_access(const struct xsd_req *r, int rc)
{
    char ctx[32];
    snprintf(ctx, sizeof(ctx), "conn:%u", r->c->id);
    int shown = (int)(r->f->len > 256 ? 256 : r->f->len);
    log_info(ctx, "dom%u %s tx %u %.*s -> %s", r->c->dom, xs_wire_typename(r->f->type), r->f->tx_id,
             shown, r->f->payload, rc > 0 ? xs_wire_errname(rc) : "OK");
}

void xsd_handle(struct xsd *x, struct xsd_conn *c, const struct xs_frame *f)
{
    struct xsd_req r = {
        .x = x,
        .c = c,
        .f = f,
        .view = {.store = x->store, .sink = &x->sink},
        .who = xsd_conn_who(x, c),
        .q = xsd_conn_quota(x, c),
    };
    int rc = ops_dispatch(&r);
    if (x->access_log)
        ops_log_access(&r, rc);
    if (rc > 0)
        xsd_conn_send(x, c, XS_ERROR, f->req_id, f->tx_id, xs_wire_errname(rc),
                      strlen(xs_wire_errname(rc)) + 1);
    else if (rc == 0)
        xsd_conn_send(x, c, f->type, f->req_id, f->tx_id, r.reply.data, r.reply.len);
    buf_free(&r.reply);
}
