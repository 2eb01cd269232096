/*
 * test_xs_store.c - xenstored's store, transactions, permissions, watches
 * and quotas, driven through detached connections (xsd_conn_feed): every
 * request is a real frame and every answer a real reply, without sockets.
 * The per-node conflict rule of transactions is the heart of it: disjoint
 * work under one parent commits, overlapping work gets EAGAIN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "store.h"
#include "txn.h"
#include "wire.h"
#include "xsd.h"

#define MAX_EVENTS 64

/* A test client: a detached connection and the events it was sent. */
struct tc {
    struct xsd_conn *c;
    char events[MAX_EVENTS][128]; /* "path token" */
    int nev;
};

struct reply {
    uint32_t type;
    uint32_t len;
    char data[XENSTORE_PAYLOAD_MAX + 1];
};

static struct tc *tc_open(struct xsd *x, uint16_t dom, bool privileged, bool readonly)
{
    struct tc *t = calloc(1, sizeof(*t));
    t->c = xsd_conn_new(x, -1, dom, privileged, readonly);
    return t;
}

static void tc_close(struct xsd *x, struct tc *t)
{
    xsd_conn_free(x, t->c);
    free(t);
}

/* Takes every queued frame off c's output: events into t->events, the
 * last other frame into *r. Returns how many non-event frames there were. */
static int tc_drain(struct tc *t, struct reply *r)
{
    int replies = 0;
    struct buf *out = &t->c->out;
    size_t off = 0;
    struct xs_frame f;
    int n;
    while ((n = xs_wire_parse(out->data + off, out->len - off, &f, NULL)) > 0) {
        if (f.type == XS_WATCH_EVENT) {
            assert_true(t->nev < MAX_EVENTS);
            snprintf(t->events[t->nev++], 128, "%s %s", f.payload,
                     f.payload + strlen(f.payload) + 1);
        } else {
            r->type = f.type;
            r->len = f.len;
            memcpy(r->data, f.payload, f.len);
            r->data[f.len] = '\0';
            replies++;
        }
        off += (size_t)n;
    }
    buf_reset(out);
    return replies;
}

static struct reply tc_req(struct xsd *x, struct tc *t, uint32_t type, uint32_t tx,
                           const void *payload, size_t len)
{
    struct buf frame = BUF_INIT;
    xs_wire_put(&frame, type, 42, tx, payload, len);
    xsd_conn_feed(x, t->c, frame.data, frame.len);
    buf_free(&frame);
    struct reply r = {0};
    assert_int_equal(tc_drain(t, &r), 1);
    return r;
}

/* The reply's text: the error's name, or the payload. */
static const char *tc_text(struct reply *r)
{
    return r->data;
}

/* A request whose payload is a string literal, its final NUL included. */
#define REQ(x, t, type, lit) tc_req(x, t, type, 0, lit, sizeof(lit))

static struct reply tc_str(struct xsd *x, struct tc *t, uint32_t type, uint32_t tx, const char *s)
{
    return tc_req(x, t, type, tx, s, strlen(s) + 1);
}

/* Two strings, each NUL-terminated (or the second bare, for WRITE). */
static struct reply tc_two(struct xsd *x, struct tc *t, uint32_t type, uint32_t tx, const char *a,
                           const char *b, bool terminate)
{
    struct buf p = BUF_INIT;
    buf_append(&p, a, strlen(a) + 1);
    buf_append(&p, b, strlen(b) + terminate);
    struct reply r = tc_req(x, t, type, tx, p.data, p.len);
    buf_free(&p);
    return r;
}

static const char *w(struct xsd *x, struct tc *t, uint32_t tx, const char *path, const char *v)
{
    static struct reply r;
    r = tc_two(x, t, XS_WRITE, tx, path, v, false);
    return tc_text(&r);
}

static const char *rd(struct xsd *x, struct tc *t, uint32_t tx, const char *path)
{
    static struct reply r;
    r = tc_str(x, t, XS_READ, tx, path);
    return tc_text(&r);
}

static const char *op(struct xsd *x, struct tc *t, uint32_t type, uint32_t tx, const char *arg)
{
    static struct reply r;
    r = tc_str(x, t, type, tx, arg);
    return tc_text(&r);
}

/* DIRECTORY as "a,b,c" (or the error's name). */
static const char *dir(struct xsd *x, struct tc *t, uint32_t tx, const char *path)
{
    static char out[XENSTORE_PAYLOAD_MAX + 1];
    struct reply r = tc_str(x, t, XS_DIRECTORY, tx, path);
    if (r.type == XS_ERROR)
        return strcpy(out, r.data);
    out[0] = '\0';
    for (uint32_t off = 0; off < r.len; off += (uint32_t)strlen(r.data + off) + 1) {
        if (off)
            strcat(out, ",");
        strcat(out, r.data + off);
    }
    return out;
}

static uint32_t tx_start(struct xsd *x, struct tc *t)
{
    struct reply r = tc_req(x, t, XS_TRANSACTION_START, 0, "", 1);
    assert_int_equal(r.type, XS_TRANSACTION_START);
    return (uint32_t)strtoul(r.data, NULL, 10);
}

static const char *tx_end(struct xsd *x, struct tc *t, uint32_t tx, bool commit)
{
    return op(x, t, XS_TRANSACTION_END, tx, commit ? "T" : "F");
}

static const char *control(struct xsd *x, struct tc *t, const char *a, const char *b, const char *c)
{
    static struct reply r;
    struct buf p = BUF_INIT;
    buf_append(&p, a, strlen(a) + 1);
    if (b)
        buf_append(&p, b, strlen(b) + 1);
    if (c)
        buf_append(&p, c, strlen(c) + 1);
    r = tc_req(x, t, XS_CONTROL, 0, p.data, p.len);
    buf_free(&p);
    return tc_text(&r);
}

static int setup(void **state)
{
    *state = xsd_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    struct xsd *x = *state;
    assert_int_equal(store_check(x->store), 0);
    xsd_free(x);
    return 0;
}

/* ---- nodes ---- */

static void test_write_read_implicit_parents(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/a/b/c", "v"), "OK");
    assert_string_equal(rd(x, a, 0, "/a/b/c"), "v");
    assert_string_equal(rd(x, a, 0, "/a/b"), "");
    assert_string_equal(dir(x, a, 0, "/"), "a");
    assert_string_equal(dir(x, a, 0, "/a/b/c"), "");
    assert_string_equal(rd(x, a, 0, "/a/x"), "ENOENT");
    assert_string_equal(w(x, a, 0, "/a/b/c", ""), "OK");
    assert_string_equal(rd(x, a, 0, "/a/b/c"), "");
    assert_int_equal(x->store->nnodes, 4);
    tc_close(x, a);
}

static void test_values_keep_nuls(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    static const char payload[] = "/bin\0a\0b"; /* value "a\0b" */
    struct reply r = tc_req(x, a, XS_WRITE, 0, payload, sizeof(payload) - 1);
    assert_string_equal(r.data, "OK");
    r = tc_str(x, a, XS_READ, 0, "/bin");
    assert_int_equal(r.len, 3);
    assert_memory_equal(r.data, "a\0b", 3);
    tc_close(x, a);
}

static void test_directory_keeps_creation_order(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    const char *names[] = {"zeta", "alpha", "mid", "beta"};
    char path[64];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/d/%s", names[i]);
        assert_string_equal(w(x, a, 0, path, "1"), "OK");
    }
    assert_string_equal(dir(x, a, 0, "/d"), "zeta,alpha,mid,beta");
    assert_string_equal(op(x, a, XS_RM, 0, "/d/alpha"), "OK");
    assert_string_equal(dir(x, a, 0, "/d"), "zeta,mid,beta");
    tc_close(x, a);
}

static void test_mkdir_and_rm(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/m", "keep"), "OK");
    assert_string_equal(op(x, a, XS_MKDIR, 0, "/m"), "OK");
    assert_string_equal(rd(x, a, 0, "/m"), "keep"); /* mkdir leaves what exists */
    assert_string_equal(op(x, a, XS_MKDIR, 0, "/m/n/o"), "OK");
    assert_string_equal(rd(x, a, 0, "/m/n/o"), "");
    assert_string_equal(op(x, a, XS_RM, 0, "/m"), "OK");
    assert_string_equal(rd(x, a, 0, "/m/n"), "ENOENT");
    assert_string_equal(op(x, a, XS_RM, 0, "/m"), "OK"); /* gone, parent there */
    assert_string_equal(op(x, a, XS_RM, 0, "/m/n"), "ENOENT");
    assert_string_equal(op(x, a, XS_RM, 0, "/"), "EINVAL");
    assert_int_equal(x->store->nnodes, 1);
    tc_close(x, a);
}

static void test_bad_paths(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/a//b", "v"), "EINVAL");
    assert_string_equal(w(x, a, 0, "/a/", "v"), "EINVAL");
    assert_string_equal(w(x, a, 0, "/a b", "v"), "EINVAL");
    assert_string_equal(w(x, a, 0, "@introduceDomain", "v"), "EINVAL");
    char longp[XENSTORE_ABS_PATH_MAX + 8];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_string_equal(w(x, a, 0, longp, "v"), "E2BIG");
    /* relative names live under the domain's home */
    assert_string_equal(w(x, a, 0, "rel/x", "1"), "OK");
    assert_string_equal(rd(x, a, 0, "/local/domain/0/rel/x"), "1");
    tc_close(x, a);
}

static void test_many_children_index(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    char path[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof(path), "/big/n%d", i);
        assert_string_equal(w(x, a, 0, path, "v"), "OK");
    }
    for (int i = 0; i < 3000; i += 3) {
        snprintf(path, sizeof(path), "/big/n%d", i);
        assert_string_equal(op(x, a, XS_RM, 0, path), "OK");
    }
    assert_int_equal(store_check(x->store), 0);
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof(path), "/big/n%d", i);
        assert_string_equal(rd(x, a, 0, path), i % 3 ? "v" : "ENOENT");
    }
    /* too big for one DIRECTORY: the client falls back to DIRECTORY_PART */
    assert_string_equal(dir(x, a, 0, "/big"), "E2BIG");
    struct buf all = BUF_INIT;
    char gen[32] = "";
    for (size_t off = 0;;) {
        char offs[16];
        snprintf(offs, sizeof(offs), "%zu", off);
        struct reply r = tc_two(x, a, XS_DIRECTORY_PART, 0, "/big", offs, true);
        assert_int_equal(r.type, XS_DIRECTORY_PART);
        assert_true(r.len <= XENSTORE_PAYLOAD_MAX);
        if (!gen[0])
            strcpy(gen, r.data);
        assert_string_equal(gen, r.data);
        size_t skip = strlen(r.data) + 1, chunk = r.len - skip;
        buf_append(&all, r.data + skip, chunk);
        off += chunk;
        if (chunk <= 1 || all.data[all.len - 2] == '\0')
            break;
    }
    size_t names = 0;
    for (size_t off = 0; off + 1 < all.len; off += strlen(all.data + off) + 1)
        names++;
    assert_int_equal(names, 2000);
    buf_free(&all);
    tc_close(x, a);
}

/* ---- transactions ---- */

static void test_txn_disjoint_children_both_commit(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false), *b = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/local/domain/1/name", "one"), "OK");
    assert_string_equal(w(x, a, 0, "/local/domain/2/name", "two"), "OK");
    uint32_t t1 = tx_start(x, a), t2 = tx_start(x, b);
    assert_string_equal(w(x, a, t1, "/local/domain/1/device/vbd/768/state", "1"), "OK");
    assert_string_equal(w(x, b, t2, "/local/domain/2/device/vbd/768/state", "1"), "OK");
    assert_string_equal(rd(x, a, t1, "/local/domain/1/name"), "one");
    assert_string_equal(tx_end(x, a, t1, true), "OK");
    assert_string_equal(tx_end(x, b, t2, true), "OK");
    assert_string_equal(rd(x, a, 0, "/local/domain/2/device/vbd/768/state"), "1");
    /* new children of one parent, even new implicit parents in common */
    t1 = tx_start(x, a);
    t2 = tx_start(x, b);
    assert_string_equal(w(x, a, t1, "/vm/u1/name", "a"), "OK");
    assert_string_equal(w(x, b, t2, "/vm/u2/name", "b"), "OK");
    assert_string_equal(tx_end(x, a, t1, true), "OK");
    assert_string_equal(tx_end(x, b, t2, true), "OK");
    assert_string_equal(dir(x, a, 0, "/vm"), "u1,u2");
    tc_close(x, a);
    tc_close(x, b);
}

static void test_txn_read_then_other_commit_conflicts(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false), *b = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/k", "1"), "OK");
    uint32_t t = tx_start(x, a);
    assert_string_equal(rd(x, a, t, "/k"), "1");
    assert_string_equal(w(x, a, t, "/other", "x"), "OK");
    assert_string_equal(w(x, b, 0, "/k", "2"), "OK");
    assert_string_equal(tx_end(x, a, t, true), "EAGAIN");
    assert_string_equal(rd(x, a, 0, "/other"), "ENOENT");
    /* a node read as missing, then created by another */
    t = tx_start(x, a);
    assert_string_equal(rd(x, a, t, "/new"), "ENOENT");
    assert_string_equal(w(x, b, 0, "/new", "1"), "OK");
    assert_string_equal(tx_end(x, a, t, true), "EAGAIN");
    /* both write the same node */
    uint32_t t1 = tx_start(x, a), t2 = tx_start(x, b);
    assert_string_equal(w(x, a, t1, "/k", "a"), "OK");
    assert_string_equal(w(x, b, t2, "/k", "b"), "OK");
    assert_string_equal(tx_end(x, b, t2, true), "OK");
    assert_string_equal(tx_end(x, a, t1, true), "EAGAIN");
    assert_string_equal(rd(x, a, 0, "/k"), "b");
    /* the transaction is spent either way */
    assert_string_equal(rd(x, a, t1, "/k"), "ENOENT");
    tc_close(x, a);
    tc_close(x, b);
}

static void test_txn_directory_conflicts_only_when_listed(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false), *b = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/d/one", "1"), "OK");
    uint32_t t = tx_start(x, a);
    assert_string_equal(dir(x, a, t, "/d"), "one");
    assert_string_equal(w(x, b, 0, "/d/two", "2"), "OK");
    assert_string_equal(tx_end(x, a, t, true), "EAGAIN");
    /* changing a child's value does not change the listing */
    t = tx_start(x, a);
    assert_string_equal(dir(x, a, t, "/d"), "one,two");
    assert_string_equal(w(x, b, 0, "/d/two", "3"), "OK");
    assert_string_equal(w(x, b, 0, "/d", "parent value"), "OK");
    assert_string_equal(tx_end(x, a, t, true), "OK");
    tc_close(x, a);
    tc_close(x, b);
}

static void test_txn_removal_conflicts(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false), *b = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/r/x/y", "1"), "OK");
    /* removing a subtree that another changes meanwhile */
    uint32_t t = tx_start(x, a);
    assert_string_equal(op(x, a, XS_RM, t, "/r"), "OK");
    assert_string_equal(w(x, b, 0, "/r/x/z", "new"), "OK");
    assert_string_equal(tx_end(x, a, t, true), "EAGAIN");
    assert_string_equal(rd(x, a, 0, "/r/x/z"), "new");
    /* writing below a node that another removes meanwhile */
    t = tx_start(x, a);
    assert_string_equal(w(x, a, t, "/r/x/w/v", "1"), "OK");
    assert_string_equal(op(x, b, XS_RM, 0, "/r/x"), "OK");
    assert_string_equal(tx_end(x, a, t, true), "EAGAIN");
    assert_string_equal(rd(x, a, 0, "/r/x"), "ENOENT");
    /* removing elsewhere does not matter */
    assert_string_equal(w(x, a, 0, "/r/x/y", "1"), "OK");
    assert_string_equal(w(x, a, 0, "/s/1", "1"), "OK");
    t = tx_start(x, a);
    assert_string_equal(op(x, a, XS_RM, t, "/r/x"), "OK");
    assert_string_equal(op(x, b, XS_RM, 0, "/s/1"), "OK");
    assert_string_equal(tx_end(x, a, t, true), "OK");
    assert_string_equal(dir(x, a, 0, "/r"), "");
    tc_close(x, a);
    tc_close(x, b);
}

static void test_txn_view_is_private_until_commit(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/p/old/leaf", "1"), "OK");
    assert_string_equal(w(x, a, 0, "/p/keep", "k"), "OK");
    uint32_t t = tx_start(x, a);
    assert_string_equal(op(x, a, XS_RM, t, "/p/old"), "OK");
    assert_string_equal(rd(x, a, t, "/p/old/leaf"), "ENOENT");
    assert_string_equal(w(x, a, t, "/p/old/fresh", "f"), "OK");
    assert_string_equal(dir(x, a, t, "/p/old"), "fresh");
    assert_string_equal(rd(x, a, t, "/p/old/leaf"), "ENOENT");
    assert_string_equal(w(x, a, t, "/p/new", "n"), "OK");
    assert_string_equal(dir(x, a, t, "/p"), "old,keep,new");
    /* outside, nothing changed yet */
    assert_string_equal(rd(x, a, 0, "/p/old/leaf"), "1");
    assert_string_equal(rd(x, a, 0, "/p/new"), "ENOENT");
    assert_string_equal(tx_end(x, a, t, true), "OK");
    assert_string_equal(dir(x, a, 0, "/p/old"), "fresh");
    assert_string_equal(rd(x, a, 0, "/p/new"), "n");
    /* abort drops everything */
    t = tx_start(x, a);
    assert_string_equal(w(x, a, t, "/p/never", "1"), "OK");
    assert_string_equal(tx_end(x, a, t, false), "OK");
    assert_string_equal(rd(x, a, 0, "/p/never"), "ENOENT");
    assert_string_equal(op(x, a, XS_TRANSACTION_END, 999, "T"), "ENOENT");
    tc_close(x, a);
}

/* The store and transaction API on its own, without frames. */
static void test_txn_api_direct(void **state)
{
    struct store *s = store_new();
    struct node_perms *p = perms_new(1);
    struct view live = {.store = s};
    assert_int_equal(view_set(&live, "/a", "1", 1, p, VIEW_FIRE), 0);
    struct txn *t1 = txn_new(1, 0, 100), *t2 = txn_new(2, 0, 100);
    struct view v1 = {.store = s, .tx = t1}, v2 = {.store = s, .tx = t2};
    assert_int_equal(view_set(&v1, "/a/x", "x", 1, p, VIEW_FIRE), 0);
    assert_int_equal(view_set(&v2, "/a/y", "y", 1, p, VIEW_FIRE), 0);
    struct view_ref ref;
    assert_int_equal(view_get(&v1, "/a/y", VIEW_READ, &ref), 0);
    assert_false(ref.exists);
    assert_int_equal(txn_commit(t2, s, NULL), 0);
    /* t1 saw /a/y missing: now it is there */
    assert_int_equal(txn_commit(t1, s, NULL), EAGAIN);
    txn_free(t1);
    txn_free(t2);
    /* the transaction-nodes bound */
    struct txn *t3 = txn_new(3, 0, 2);
    struct view v3 = {.store = s, .tx = t3};
    assert_int_equal(view_get(&v3, "/a", VIEW_READ, &ref), 0);
    assert_int_equal(view_get(&v3, "/a/y", VIEW_READ, &ref), 0);
    assert_int_equal(view_get(&v3, "/b", VIEW_READ, &ref), ENOSPC);
    txn_free(t3);
    assert_int_equal(store_check(s), 0);
    perms_unref(p);
    store_free(s);
}

/* ---- permissions ---- */

static void test_perms_domain_connection(void **state)
{
    struct xsd *x = *state;
    struct tc *d0 = tc_open(x, 0, true, false), *g = tc_open(x, 0, true, false);
    assert_string_equal(control(x, g, "set-domain", "5", NULL), "OK");
    assert_string_equal(w(x, d0, 0, "/secret", "s"), "OK");
    assert_string_equal(w(x, d0, 0, "/local/domain/5/name", "vm"), "OK");
    struct buf p = BUF_INIT;
    buf_append(&p, "/local/domain/5\0n5\0r0", 22);
    struct reply r = tc_req(x, d0, XS_SET_PERMS, 0, p.data, p.len);
    buf_free(&p);
    assert_string_equal(r.data, "OK");
    /* the guest: not the secret, not dom0's node, yes its own home */
    assert_string_equal(rd(x, g, 0, "/secret"), "EACCES");
    assert_string_equal(w(x, g, 0, "/secret", "x"), "EACCES");
    assert_string_equal(rd(x, g, 0, "/local/domain/5/name"), "EACCES");
    assert_string_equal(w(x, g, 0, "data/agent", "up"), "OK");
    assert_string_equal(rd(x, g, 0, "data/agent"), "up");
    assert_string_equal(w(x, g, 0, "/evil/x", "1"), "EACCES");
    assert_string_equal(rd(x, d0, 0, "/local/domain/5/data/agent"), "up");
    /* what it creates is its own, and keeps the other entries */
    r = tc_str(x, d0, XS_GET_PERMS, 0, "/local/domain/5/data/agent");
    assert_int_equal(r.len, 6);
    assert_memory_equal(r.data, "n5\0r0\0", 6);
    /* it may share its node, not give it away */
    r = REQ(x, g, XS_SET_PERMS, "data/agent\0n5\0r7");
    assert_string_equal(r.data, "OK");
    r = REQ(x, g, XS_SET_PERMS, "data/agent\0n7");
    assert_string_equal(r.data, "EPERM");
    r = REQ(x, g, XS_SET_PERMS, "data/agent\0x5");
    assert_string_equal(r.data, "EINVAL");
    /* privileged operations */
    assert_string_equal(op(x, g, XS_INTRODUCE, 0, "6"), "EACCES");
    assert_string_equal(control(x, g, "quota", NULL, NULL), "EACCES");
    tc_close(x, d0);
    tc_close(x, g);
}

/* A node the guest may not read, and one that does not exist below a node
 * it may not read, look the same to it: EACCES for READ, GET_PERMS,
 * DIRECTORY and RM alike, as Xen's C daemon answers. Below a node it may
 * read, a missing node is ENOENT, and an RM of it succeeds. */
static void test_missing_nodes_hidden_like_unreadable_ones(void **state)
{
    struct xsd *x = *state;
    struct tc *d0 = tc_open(x, 0, true, false), *g = tc_open(x, 0, true, false);
    assert_string_equal(control(x, g, "set-domain", "5", NULL), "OK");
    assert_string_equal(w(x, d0, 0, "/hidden/there", "s"), "OK");
    assert_string_equal(w(x, d0, 0, "/open/there", "s"), "OK");
    struct reply r = REQ(x, d0, XS_SET_PERMS, "/open\0n0\0r5");
    assert_string_equal(r.data, "OK");
    static const uint32_t ops[] = {XS_READ, XS_GET_PERMS, XS_DIRECTORY, XS_RM};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        assert_string_equal(op(x, g, ops[i], 0, "/hidden/there"), "EACCES");
        assert_string_equal(op(x, g, ops[i], 0, "/hidden/missing"), "EACCES");
        assert_string_equal(op(x, g, ops[i], 0, "/hidden/missing/deeper"), "EACCES");
    }
    assert_string_equal(op(x, g, XS_READ, 0, "/open/missing"), "ENOENT");
    assert_string_equal(op(x, g, XS_RM, 0, "/open/missing"), "OK"); /* gone, parent there */
    assert_string_equal(op(x, g, XS_RM, 0, "/open/missing/deeper"), "ENOENT"); /* no parent */
    /* dom0 sees everything as it is */
    assert_string_equal(op(x, d0, XS_READ, 0, "/hidden/missing"), "ENOENT");
    assert_string_equal(op(x, d0, XS_RM, 0, "/hidden/missing"), "OK");
    tc_close(x, d0);
    tc_close(x, g);
}

static void test_perms_target_and_readonly(void **state)
{
    struct xsd *x = *state;
    struct tc *d0 = tc_open(x, 0, true, false), *dm = tc_open(x, 0, true, false);
    struct tc *ro = tc_open(x, 0, true, true);
    assert_string_equal(w(x, d0, 0, "/local/domain/9/x", "1"), "OK");
    struct reply r = REQ(x, d0, XS_SET_PERMS, "/local/domain/9/x\0n9");
    assert_string_equal(r.data, "OK");
    assert_string_equal(control(x, dm, "set-domain", "3", NULL), "OK");
    assert_string_equal(rd(x, dm, 0, "/local/domain/9/x"), "EACCES");
    r = REQ(x, d0, XS_INTRODUCE,
            "3\0"
            "0\0"
            "0");
    assert_string_equal(r.data, "OK");
    r = REQ(x, d0, XS_SET_TARGET,
            "3\0"
            "9");
    assert_string_equal(r.data, "OK");
    assert_string_equal(rd(x, dm, 0, "/local/domain/9/x"), "1");
    assert_string_equal(op(x, d0, XS_IS_DOMAIN_INTRODUCED, 0, "3"), "T");
    assert_string_equal(op(x, d0, XS_IS_DOMAIN_INTRODUCED, 0, "4"), "F");
    assert_string_equal(op(x, d0, XS_GET_DOMAIN_PATH, 0, "4"), "/local/domain/4");
    /* read-only: reads yes, writes no */
    assert_string_equal(rd(x, ro, 0, "/local/domain/9/x"), "1");
    assert_string_equal(w(x, ro, 0, "/z", "1"), "EROFS");
    assert_string_equal(op(x, ro, XS_RM, 0, "/local"), "EROFS");
    /* release ends the domain's connections */
    assert_string_equal(op(x, d0, XS_RELEASE, 0, "3"), "OK");
    assert_true(dm->c->closing);
    assert_string_equal(op(x, d0, XS_RELEASE, 0, "3"), "ENOENT");
    tc_close(x, d0);
    tc_close(x, dm);
    tc_close(x, ro);
}

/* ---- watches ---- */

static struct reply watch(struct xsd *x, struct tc *t, const char *path, const char *token)
{
    struct reply r = tc_two(x, t, XS_WATCH, 0, path, token, true);
    return r;
}

static void test_watch_fires(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false), *b = tc_open(x, 0, true, false);
    assert_string_equal(w(x, a, 0, "/w/x/y", "1"), "OK");
    assert_string_equal(watch(x, b, "/w/x", "tok").data, "OK");
    assert_int_equal(b->nev, 1); /* once when set */
    assert_string_equal(b->events[0], "/w/x tok");
    assert_string_equal(watch(x, b, "/w/x", "tok").data, "EEXIST");
    assert_string_equal(watch(x, b, "/w/x/y/z", "deep").data, "OK");
    b->nev = 0;
    assert_string_equal(w(x, a, 0, "/w/x/y", "2"), "OK");   /* below: fires */
    assert_string_equal(w(x, a, 0, "/w/other", "2"), "OK"); /* beside: does not */
    struct reply r;
    tc_drain(b, &r);
    assert_int_equal(b->nev, 1);
    assert_string_equal(b->events[0], "/w/x/y tok");
    /* a parent's removal reaches the watches below it */
    b->nev = 0;
    assert_string_equal(w(x, a, 0, "/w/x/y/z", "3"), "OK");
    assert_string_equal(op(x, a, XS_RM, 0, "/w"), "OK");
    tc_drain(b, &r);
    /* the write: below /w/x, and /w/x/y/z itself; the removal: each
     * watched node inside the removed subtree, by its own path */
    assert_int_equal(b->nev, 4);
    assert_string_equal(b->events[0], "/w/x/y/z tok");
    assert_string_equal(b->events[1], "/w/x/y/z deep");
    assert_string_equal(b->events[2], "/w/x tok");
    assert_string_equal(b->events[3], "/w/x/y/z deep");
    r = tc_two(x, b, XS_UNWATCH, 0, "/w/x", "tok", true);
    assert_string_equal(r.data, "OK");
    r = tc_two(x, b, XS_UNWATCH, 0, "/w/x", "tok", true);
    assert_string_equal(r.data, "ENOENT");
    tc_close(x, a);
    tc_close(x, b);
}

static void test_watch_commit_order_and_specials(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false), *b = tc_open(x, 0, true, false);
    assert_string_equal(watch(x, b, "/", "all").data, "OK");
    assert_string_equal(watch(x, b, "@introduceDomain", "in").data, "OK");
    b->nev = 0;
    uint32_t t = tx_start(x, a);
    assert_string_equal(w(x, a, t, "/t/first", "1"), "OK");
    assert_string_equal(w(x, a, 0, "/plain", "1"), "OK");
    struct reply r;
    tc_drain(b, &r);
    assert_int_equal(b->nev, 1); /* nothing from the transaction yet */
    assert_string_equal(tx_end(x, a, t, true), "OK");
    assert_string_equal(op(x, a, XS_INTRODUCE, 0,
                           "7\0"
                           "1\0"
                           "1"),
                        "EINVAL"); /* one arg */
    r = REQ(x, a, XS_INTRODUCE,
            "7\0"
            "1\0"
            "1");
    assert_string_equal(r.data, "OK");
    tc_drain(b, &r);
    assert_int_equal(b->nev, 3);
    assert_string_equal(b->events[0], "/plain all");
    assert_string_equal(b->events[1], "/t/first all");
    assert_string_equal(b->events[2], "@introduceDomain in");
    tc_close(x, a);
    tc_close(x, b);
}

static void test_watch_relative_and_permission_filtered(void **state)
{
    struct xsd *x = *state;
    struct tc *d0 = tc_open(x, 0, true, false), *g = tc_open(x, 0, true, false);
    assert_string_equal(w(x, d0, 0, "/local/domain/5/x", ""), "OK");
    struct reply r = REQ(x, d0, XS_SET_PERMS, "/local/domain/5\0n5");
    assert_string_equal(r.data, "OK");
    assert_string_equal(control(x, g, "set-domain", "5", NULL), "OK");
    assert_string_equal(watch(x, g, "control", "c").data, "OK");
    assert_string_equal(g->events[0], "control c");
    g->nev = 0;
    assert_string_equal(w(x, d0, 0, "/local/domain/5/control/shutdown", "poweroff"), "OK");
    /* dom0 made it with the parent's list: owned by 5, readable by it */
    assert_string_equal(watch(x, g, "/local/domain/5/x", "abs").data, "OK");
    r = REQ(x, d0, XS_SET_PERMS, "/local/domain/5/x\0n0");
    assert_string_equal(r.data, "OK"); /* now hidden from 5: no event */
    tc_drain(g, &r);
    assert_int_equal(g->nev, 2);
    assert_string_equal(g->events[0], "control/shutdown c");
    assert_string_equal(g->events[1], "/local/domain/5/x abs");
    tc_close(x, d0);
    tc_close(x, g);
}

/* ---- quotas ---- */

static void test_quotas(void **state)
{
    struct xsd *x = *state;
    struct tc *d0 = tc_open(x, 0, true, false), *g = tc_open(x, 0, true, false);
    assert_string_equal(w(x, d0, 0, "/local/domain/5", ""), "OK");
    struct reply r = REQ(x, d0, XS_SET_PERMS, "/local/domain/5\0n5");
    assert_string_equal(r.data, "OK");
    assert_string_equal(control(x, g, "set-domain", "5", NULL), "OK");
    assert_string_equal(control(x, d0, "quota", "set", "nodes"), "EINVAL");
    struct buf p = BUF_INIT;
    buf_append(&p,
               "quota\0set\0nodes\0"
               "4",
               18);
    r = tc_req(x, d0, XS_CONTROL, 0, p.data, p.len);
    assert_string_equal(r.data, "OK");
    buf_free(&p);
    /* it owns /local/domain/5 already: three more */
    assert_string_equal(w(x, g, 0, "a/b/c", "1"), "OK");
    assert_string_equal(w(x, g, 0, "d", "1"), "ENOSPC");
    assert_string_equal(w(x, g, 0, "a", "rewrite is fine"), "OK");
    assert_string_equal(op(x, g, XS_RM, 0, "a/b"), "OK");
    assert_string_equal(w(x, g, 0, "d", "1"), "OK");
    /* node size */
    control(x, d0, "quota", NULL, NULL);
    r = REQ(x, d0, XS_CONTROL,
            "quota\0set\0node-size\0"
            "8");
    assert_string_equal(r.data, "OK");
    assert_string_equal(w(x, g, 0, "d", "123456789"), "E2BIG");
    assert_string_equal(w(x, g, 0, "d", "12345678"), "OK");
    /* watches (E2BIG, as Xen) */
    r = REQ(x, d0, XS_CONTROL,
            "quota\0set\0watches\0"
            "1");
    assert_string_equal(watch(x, g, "d", "1").data, "OK");
    assert_string_equal(watch(x, g, "d", "2").data, "E2BIG");
    /* transactions */
    r = REQ(x, d0, XS_CONTROL,
            "quota\0set\0transactions\0"
            "1");
    assert_string_equal(r.data, "OK");
    tx_start(x, g);
    r = tc_req(x, g, XS_TRANSACTION_START, 0, "", 1);
    assert_string_equal(r.data, "ENOSPC");
    /* path length below the home */
    r = REQ(x, d0, XS_CONTROL,
            "quota\0set\0path-max\0"
            "10");
    assert_string_equal(w(x, g, 0, "0123456789", "1"), "OK");
    assert_string_equal(w(x, g, 0, "0123456789a", "1"), "E2BIG");
    /* permission entries */
    r = REQ(x, d0, XS_CONTROL,
            "quota\0set\0node-permissions\0"
            "1");
    r = REQ(x, g, XS_SET_PERMS, "d\0n5\0r0");
    assert_string_equal(r.data, "ENOSPC");
    /* what dom0 sees of domain 5 */
    r = REQ(x, d0, XS_CONTROL,
            "quota\0"
            "5");
    assert_string_equal(r.data, "nodes 4\nwatches 1\ntransactions 1\n");
    tc_close(x, d0);
    tc_close(x, g);
    assert_int_equal(xsd_domain(x, 5)->watches, 0);
    assert_int_equal(xsd_domain(x, 5)->transactions, 0);
}

static void test_output_bound_closes(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    struct reply r = REQ(x, a, XS_CONTROL,
                         "quota\0set-dom0\0output\0"
                         "4096");
    assert_string_equal(r.data, "OK");
    struct buf frames = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        xs_wire_put(&frames, XS_READ, (uint32_t)i, 0, "/", 2);
    assert_int_equal(xsd_conn_feed(x, a->c, frames.data, frames.len), -1);
    assert_true(a->c->closing);
    buf_free(&frames);
    tc_close(x, a);
}

/* ---- the wire ---- */

static void test_wire_parse(void **state)
{
    struct xs_frame f;
    const char *err = NULL;
    struct buf b = BUF_INIT;
    xs_wire_put(&b, XS_READ, 1, 2, "/a", 3);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(xs_wire_parse(b.data, i, &f, &err), 0);
    assert_int_equal(xs_wire_parse(b.data, b.len, &f, &err), 19);
    assert_int_equal(f.type, XS_READ);
    assert_int_equal(f.req_id, 1);
    assert_int_equal(f.tx_id, 2);
    assert_string_equal(f.payload, "/a");
    uint32_t hdr[4] = {XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1};
    assert_int_equal(xs_wire_parse((const char *)hdr, sizeof(hdr), &f, &err), -1);
    assert_non_null(err);
    buf_free(&b);
    assert_string_equal(xs_wire_errname(EAGAIN), "EAGAIN");
    assert_string_equal(xs_wire_errname(12345), "EINVAL");
}

static void test_malformed_requests(void **state)
{
    struct xsd *x = *state;
    struct tc *a = tc_open(x, 0, true, false);
    struct reply r = tc_req(x, a, 999, 0, "", 0);
    assert_string_equal(r.data, "EINVAL");
    r = tc_req(x, a, XS_WATCH_EVENT, 0, "/a\0t", 5);
    assert_string_equal(r.data, "EINVAL");
    r = tc_req(x, a, XS_READ, 0, "/a", 2); /* no NUL */
    assert_string_equal(r.data, "EINVAL");
    r = tc_req(x, a, XS_READ, 0, "/a\0/b", 6); /* two strings */
    assert_string_equal(r.data, "EINVAL");
    r = tc_req(x, a, XS_WRITE, 0, "/nonul", 6);
    assert_string_equal(r.data, "EINVAL");
    r = tc_req(x, a, XS_WATCH, 0, "/a", 3);
    assert_string_equal(r.data, "EINVAL");
    r = tc_req(x, a, XS_READ, 77, "/", 2);
    assert_string_equal(r.data, "ENOENT");
    r = tc_req(x, a, XS_DIRECTORY_PART, 0, "/\0x", 4);
    assert_string_equal(r.data, "EINVAL");
    /* a frame longer than the protocol allows ends the connection */
    uint32_t hdr[4] = {XS_READ, 1, 0, 5000};
    assert_int_equal(xsd_conn_feed(x, a->c, hdr, sizeof(hdr)), -1);
    tc_close(x, a);
}

/* ---- a randomized check against a model ----
 *
 * Random reads, listings, writes, mkdirs and removals by four clients, in
 * and out of transactions, over a small tree so that they collide. A
 * plain request must give what the model gives at once; a committed
 * transaction must have seen exactly what its requests give when replayed
 * on the model at its commit (serializability at the commit point); in
 * the end the tree must equal the model. */

#include "hmap.h"
#include "mem.h"

enum mop { M_READ, M_DIR, M_WRITE, M_MKDIR, M_RM, M_NOPS };

struct mstep {
    enum mop op;
    char path[32];
    char value[8];
    char result[256];
};

static bool m_has(struct hmap *m, const char *path)
{
    return hmap_get(m, path) != NULL;
}

/* Cuts path to its parent, in place. */
static void m_up(char *path)
{
    char *slash = strrchr(path, '/');
    slash[slash == path ? 1 : 0] = '\0';
}

static void m_parent(const char *path, char *out)
{
    strcpy(out, path);
    m_up(out);
}

static int m_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The children of path, sorted, comma-separated, into out. */
static void m_children(struct hmap *m, const char *path, char *out)
{
    const char *names[64];
    int n = 0;
    const char *key;
    void *v;
    char parent[64];
    for (size_t it = 0; hmap_next(m, &it, &key, &v);) {
        if (strcmp(key, "/") == 0)
            continue;
        m_parent(key, parent);
        if (strcmp(parent, path) == 0)
            names[n++] = strrchr(key, '/') + 1;
    }
    qsort(names, (size_t)n, sizeof(names[0]), m_cmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, names[i]);
    }
}

static void m_set(struct hmap *m, const char *path, const char *value)
{
    free(hmap_put(m, path, xstrdup(value)));
}

static void m_apply(struct hmap *m, const struct mstep *s, char *out)
{
    char parent[64];
    strcpy(out, "OK");
    switch (s->op) {
    case M_READ:
        if (!m_has(m, s->path))
            strcpy(out, "ENOENT");
        else
            strcpy(out, hmap_get(m, s->path));
        break;
    case M_DIR:
        if (!m_has(m, s->path))
            strcpy(out, "ENOENT");
        else
            m_children(m, s->path, out);
        break;
    case M_WRITE:
    case M_MKDIR:
        if (s->op == M_MKDIR && m_has(m, s->path))
            break;
        for (strcpy(parent, s->path); !m_has(m, parent); m_up(parent))
            m_set(m, parent, "");
        if (s->op == M_WRITE)
            m_set(m, s->path, s->value);
        break;
    default:
        m_parent(s->path, parent);
        if (!m_has(m, s->path)) {
            if (!m_has(m, parent))
                strcpy(out, "ENOENT");
            break;
        }
        char *gone[256];
        int n = 0;
        const char *key;
        void *v;
        for (size_t it = 0; hmap_next(m, &it, &key, &v);)
            if (strncmp(key, s->path, strlen(s->path)) == 0 &&
                (key[strlen(s->path)] == '\0' || key[strlen(s->path)] == '/'))
                gone[n++] = xstrdup(key);
        for (int i = 0; i < n; i++) {
            free(hmap_del(m, gone[i]));
            free(gone[i]);
        }
    }
}

static void d_apply(struct xsd *x, struct tc *t, uint32_t tx, const struct mstep *s, char *out)
{
    static const uint32_t types[] = {XS_READ, XS_DIRECTORY, XS_WRITE, XS_MKDIR, XS_RM};
    if (s->op == M_WRITE) {
        strcpy(out, w(x, t, tx, s->path, s->value));
        return;
    }
    struct reply r = tc_str(x, t, types[s->op], tx, s->path);
    if (s->op != M_DIR || r.type == XS_ERROR) {
        strcpy(out, r.data);
        return;
    }
    const char *names[64];
    int n = 0;
    for (uint32_t off = 0; off < r.len; off += (uint32_t)strlen(r.data + off) + 1)
        names[n++] = r.data + off;
    qsort(names, (size_t)n, sizeof(names[0]), m_cmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, names[i]);
    }
}

static void m_random_step(uint32_t *seed, struct mstep *s)
{
    *seed = *seed * 1103515245u + 12345u;
    uint32_t r = *seed >> 8;
    static const enum mop pick[] = {M_READ, M_DIR, M_WRITE, M_WRITE, M_MKDIR, M_RM};
    s->op = pick[r % 6];
    strcpy(s->path, "/s");
    for (uint32_t d = 0, depth = 1 + (r >> 3) % 3; d < depth; d++) {
        char comp[3] = {'/', (char)('a' + (r >> (6 + 2 * d)) % 3), '\0'};
        strcat(s->path, comp);
    }
    snprintf(s->value, sizeof(s->value), "%u", (r >> 16) % 100);
}

/* Walks the daemon's tree into a model of it. */
static void m_snapshot(struct xsd *x, struct tc *t, const char *path, struct hmap *out)
{
    struct mstep s = {.op = M_READ};
    char res[256];
    strcpy(s.path, path);
    d_apply(x, t, 0, &s, res);
    m_set(out, path, res);
    struct reply r = tc_str(x, t, XS_DIRECTORY, 0, path);
    for (uint32_t off = 0; off < r.len; off += (uint32_t)strlen(r.data + off) + 1) {
        char child[64];
        snprintf(child, sizeof(child), "%s/%s", path[1] ? path : "", r.data + off);
        m_snapshot(x, t, child, out);
    }
}

static void m_free(struct hmap *m)
{
    const char *key;
    void *v;
    for (size_t it = 0; hmap_next(m, &it, &key, &v);)
        free(v);
    hmap_free(m);
}

#define M_CLIENTS 4
#define M_LOG 64

static void m_run(uint32_t seed0)
{
    struct xsd *x = xsd_new(NULL);
    struct hmap *m = hmap_new();
    m_set(m, "/", "");
    struct tc *c[M_CLIENTS];
    uint32_t tx[M_CLIENTS] = {0}, nlog[M_CLIENTS] = {0};
    static struct mstep log[M_CLIENTS][M_LOG];
    for (int i = 0; i < M_CLIENTS; i++)
        c[i] = tc_open(x, 0, true, false);
    uint32_t seed = seed0, commits = 0, conflicts = 0;
    for (int step = 0; step < 30000; step++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % M_CLIENTS), dice = (int)((seed >> 12) % 100);
        if (!tx[i] && dice < 25) {
            tx[i] = tx_start(x, c[i]);
            nlog[i] = 0;
            continue;
        }
        if (tx[i] && (dice < 12 || nlog[i] == M_LOG)) {
            const char *res = tx_end(x, c[i], tx[i], true);
            tx[i] = 0;
            if (strcmp(res, "EAGAIN") == 0) {
                conflicts++;
                continue;
            }
            assert_string_equal(res, "OK");
            commits++;
            char want[256];
            for (uint32_t k = 0; k < nlog[i]; k++) {
                m_apply(m, &log[i][k], want);
                if (strcmp(log[i][k].result, want) != 0)
                    fail_msg("seed %u step %d: request %u of a committed transaction (%d %s) "
                             "got %s, at commit %s",
                             seed0, step, k, log[i][k].op, log[i][k].path, log[i][k].result, want);
            }
            continue;
        }
        struct mstep s;
        m_random_step(&seed, &s);
        if (tx[i]) {
            log[i][nlog[i]] = s;
            d_apply(x, c[i], tx[i], &s, log[i][nlog[i]++].result);
            continue;
        }
        char got[256], want[256];
        d_apply(x, c[i], 0, &s, got);
        m_apply(m, &s, want);
        assert_string_equal(got, want);
    }
    assert_true(commits > 1000 && conflicts > 100);
    struct hmap *seen = hmap_new();
    m_snapshot(x, c[0], "/", seen);
    assert_int_equal(hmap_count(seen), hmap_count(m));
    const char *key;
    void *v;
    for (size_t it = 0; hmap_next(m, &it, &key, &v);) {
        assert_non_null(hmap_get(seen, key));
        assert_string_equal(hmap_get(seen, key), v);
    }
    m_free(seen);
    m_free(m);
    for (int i = 0; i < M_CLIENTS; i++)
        tc_close(x, c[i]);
    assert_int_equal(store_check(x->store), 0);
    xsd_free(x);
}

static void test_random_against_model(void **state)
{
    for (uint32_t seed = 1; seed <= 4; seed++)
        m_run(seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_read_implicit_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_keep_nuls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_keeps_creation_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_and_rm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_children_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_disjoint_children_both_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_read_then_other_commit_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_directory_conflicts_only_when_listed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_txn_removal_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_view_is_private_until_commit, setup, teardown),
        cmocka_unit_test(test_txn_api_direct),
        cmocka_unit_test_setup_teardown(test_perms_domain_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perms_target_and_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_fires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_commit_order_and_specials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_nodes_hidden_like_unreadable_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watch_relative_and_permission_filtered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_quotas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_bound_closes, setup, teardown),
        cmocka_unit_test(test_wire_parse),
        cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
