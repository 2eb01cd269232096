/*
 * blob.c - binary objects that clients keep with the pool (XenCenter's
 * VM icons and notes, for instance): blob.create, blob.destroy,
 * <class>.create_new_blob, and their data through HTTP, PUT and GET on
 * /blob?ref=REF&session_id=SESSION (xe's blob-put and blob-get).
 *
 * The blob object is in the database; its bytes are a file
 * STATE/blobs/UUID, replaced whole by each PUT: written to a temporary
 * file of its own, synced, and renamed over the old one under the
 * database's write lock, in the transaction that changes the object's
 * size and last_updated. A PUT that breaks off, or is too large, leaves
 * the blob as it was. Its response's head comes first (upstream's xe
 * sends the body only once it has it), and its body says at the end
 * whether the upload was stored; a failure also ends with a reset. A
 * GET of a public blob needs no session.
 */
#include "api/api.h"
#include "api/api_value.h"
#include "core/module.h"
#include "core/xapi.h"
#include "db/db.h"
#include "fdio.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The largest blob a PUT may store. */
#define BLOB_MAX_BYTES (256LL << 20)

/* The classes that keep blobs, and their blobs maps. */
static const struct {
    int msg;
    api_field_id blobs;
} blob_owners[] = {
    {API_M_VM_create_new_blob, API_F_VM_blobs},
    {API_M_host_create_new_blob, API_F_host_blobs},
    {API_M_pool_create_new_blob, API_F_pool_blobs},
    {API_M_SR_create_new_blob, API_F_SR_blobs},
    {API_M_network_create_new_blob, API_F_network_blobs},
};
#define BLOB_N_OWNERS (sizeof(blob_owners) / sizeof(blob_owners[0]))

static void blob_path(struct buf *out, const struct xapi *x, const char *uuid)
{
    buf_printf(out, "%s/blobs/%s", x->state_dir, uuid);
}

/* A new blob object in t. */
static struct db_obj *blob_new(struct xapi_call *c, struct db_txn *t, const char *name,
                               const struct val *mime, const struct val *public)
{
    struct db_values v = db_values_new(c->a, API_C_blob);
    db_values_set(&v, API_F_blob_name_label, val_string(c->a, name));
    db_values_set(&v, API_F_blob_mime_type, mime);
    db_values_set(&v, API_F_blob_public, public);
    db_values_set(&v, API_F_blob_size, val_int(c->a, 0));
    db_values_set(&v, API_F_blob_last_updated, api_value_datetime(c->a, time(NULL)));
    return db_txn_create(t, API_C_blob, &v, NULL);
}

/* A mime type goes out as a Content-Type header: no control characters. */
static bool blob_mime_ok(const struct val *mime)
{
    for (const char *p = val_str(mime); p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static struct rpc_reply blob_bad_mime(struct xapi_call *c, const struct val *mime)
{
    return rpc_reply_error(c->a, API_ERR_INVALID_VALUE, "mime_type", val_str(mime), NULL);
}

static struct rpc_reply blob_create(struct xapi_call *c)
{
    if (!blob_mime_ok(xapi_arg(c, API_P_blob_create_mime_type)))
        return blob_bad_mime(c, xapi_arg(c, API_P_blob_create_mime_type));
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *b = blob_new(c, t, "", xapi_arg(c, API_P_blob_create_mime_type),
                                xapi_arg(c, API_P_blob_create_public));
    return xapi_commit(c, t, val_string(c->a, b->ref));
}

/* <class>.create_new_blob(self, name, mime_type, public): a blob in the
 * object's blobs map under name (replacing the name's earlier blob in
 * the map; that blob itself stays until destroyed). */
static struct rpc_reply blob_create_new(struct xapi_call *c)
{
    size_t i = 0;
    while (i < BLOB_N_OWNERS && &api_messages[blob_owners[i].msg] != c->m)
        i++;
    const char *self = val_str(c->args[1]);
    const char *name = val_str(c->args[2]);
    if (!blob_mime_ok(c->args[3]))
        return blob_bad_mime(c, c->args[3]);
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_get(c->x->db, c->m->cls, self);
    if (!o) {
        db_abort(t);
        return xapi_handle_invalid(c, c->m->cls, self);
    }
    struct db_obj *b = blob_new(c, t, name, c->args[3], c->args[4]);
    const struct val *old = db_obj_field(o, blob_owners[i].blobs);
    struct val *map = val_struct(c->a);
    for (size_t k = 0; old && k < old->u.st.n; k++)
        if (strcmp(old->u.st.members[k].name, name) != 0)
            val_struct_add(c->a, map, old->u.st.members[k].name, old->u.st.members[k].value);
    val_struct_add(c->a, map, name, val_string(c->a, b->ref));
    db_txn_set(t, o, blob_owners[i].blobs, map);
    return xapi_commit(c, t, val_string(c->a, b->ref));
}

/* Drops ref from every blobs map that names it (in t). */
static void blob_unlink(struct xapi_call *c, struct db_txn *t, const char *ref)
{
    for (size_t i = 0; i < BLOB_N_OWNERS; i++) {
        int cls = API_FIELD_CLASS(blob_owners[i].blobs);
        for (struct db_obj *o = db_first(c->x->db, cls); o; o = db_next(c->x->db, o)) {
            const struct val *m = db_obj_field(o, blob_owners[i].blobs);
            bool named = false;
            struct val *kept = val_struct(c->a);
            for (size_t k = 0; m && k < m->u.st.n; k++) {
                if (strcmp(val_str(m->u.st.members[k].value), ref) == 0)
                    named = true;
                else
                    val_struct_add(c->a, kept, m->u.st.members[k].name, m->u.st.members[k].value);
            }
            if (named)
                db_txn_set(t, o, blob_owners[i].blobs, kept);
        }
    }
}

static struct rpc_reply blob_destroy(struct xapi_call *c)
{
    const char *self = xapi_arg_str(c, API_P_blob_destroy_self);
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *b = db_get(c->x->db, API_C_blob, self);
    if (!b) {
        db_abort(t);
        return xapi_handle_invalid(c, API_C_blob, self);
    }
    struct buf path = BUF_INIT;
    blob_path(&path, c->x, db_obj_str(b, API_F_blob_uuid));
    blob_unlink(c, t, self);
    db_txn_destroy(t, b);
    struct rpc_reply r = xapi_commit(c, t, val_nil(c->a));
    if (!r.error && unlink(path.data) < 0 && errno != ENOENT)
        log_warn(c->log_ctx, "blob.destroy: %s stays behind: %s", path.data, strerror(errno));
    buf_free(&path);
    return r;
}

/* --- /blob over HTTP --- */

/* The value of key in a query string, %-decoded, into out; false if absent. */
static bool blob_query(const char *query, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, klen) != 0 || p[klen] != '=')
            continue;
        size_t n = 0;
        for (const char *v = p + klen + 1; *v && *v != '&' && n + 1 < size; v++) {
            if (*v == '%' && isxdigit((unsigned char)v[1]) && isxdigit((unsigned char)v[2])) {
                char hex[3] = {v[1], v[2], 0};
                out[n++] = (char)strtol(hex, NULL, 16);
                v += 2;
            } else {
                out[n++] = *v == '+' ? ' ' : *v;
            }
        }
        out[n] = '\0';
        return true;
    }
    return false;
}

static void blob_text(struct http_req *req, int status, const char *text)
{
    http_req_close_after(req);
    http_reply(req, status, "text/plain", text, strlen(text));
}

/* What a request may do with the blob: the blob's uuid, mime type and
 * whether it is public, or an HTTP error already sent. */
struct blob_target {
    char uuid[64], mime[256];
    bool public;
};

static int blob_find(struct xapi *x, struct http_req *req, bool put, struct blob_target *b,
                     const char *log_ctx)
{
    char ref[128] = "", session[128] = "";
    blob_query(http_req_query(req), "ref", ref, sizeof(ref));
    blob_query(http_req_query(req), "session_id", session, sizeof(session));
    api_roles_t roles = 0;
    bool valid = *session && session_check(x, session, &roles);
    db_read_lock(x->db);
    const struct db_obj *o = db_get(x->db, API_C_blob, ref);
    if (o) {
        snprintf(b->uuid, sizeof(b->uuid), "%s", db_obj_str(o, API_F_blob_uuid));
        snprintf(b->mime, sizeof(b->mime), "%s", db_obj_str(o, API_F_blob_mime_type));
        b->public = db_obj_bool(o, API_F_blob_public);
    }
    db_read_unlock(x->db);
    struct xapi_call who = {.x = x, .roles = roles, .session = session};
    bool allowed = put ? valid && (api_messages[API_M_blob_create].roles & roles)
                       : (o && b->public) || (valid && xapi_may_read_class(&who, API_C_blob));
    if (!allowed) {
        log_info(log_ctx, "%s /blob from %s: %s", put ? "PUT" : "GET", http_req_peer(req),
                 valid ? "the session's roles may not" : "no valid session");
        blob_text(req, 403, "forbidden\n");
        return -1;
    }
    if (!o) {
        blob_text(req, 404, "no such blob\n");
        return -1;
    }
    return 0;
}

/* Reads the body into the blob's temporary file and syncs it: its
 * length, or -1 (logged). */
static int64_t blob_receive(struct http_req *req, int fd, const char *log_ctx)
{
    int64_t total = 0;
    char data[65536];
    for (ssize_t n; (n = http_req_read_body(req, data, sizeof(data))) != 0;) {
        if (n < 0 || total + n > BLOB_MAX_BYTES) {
            log_info(log_ctx, "PUT /blob: %s", n < 0 ? "the upload broke off" : "too large");
            return -1;
        }
        if (fd_write_full(fd, data, (size_t)n) < 0) {
            log_warn(log_ctx, "PUT /blob: write: %s", strerror(errno));
            return -1;
        }
        total += n;
    }
    if (fsync(fd) < 0) {
        log_warn(log_ctx, "PUT /blob: fsync: %s", strerror(errno));
        return -1;
    }
    return total;
}

/* Syncs dir, so that a rename in it survives a crash. */
static void blob_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Puts the received file in place and records its size, under the
 * database's write lock: two uploads of one blob end one after the
 * other, and an upload to a blob destroyed meanwhile is dropped. */
static int blob_commit(struct xapi *x, const char *uuid, const char *part, const char *path,
                       const char *dir, int64_t size, const char *log_ctx)
{
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(x->db);
    struct db_obj *o = db_get_by_uuid(x->db, API_C_blob, uuid);
    int rc = -1;
    const char *err;
    if (!o) {
        db_abort(t);
        log_info(log_ctx, "PUT /blob %s: the blob was destroyed meanwhile", uuid);
    } else if (rename(part, path) < 0) {
        db_abort(t);
        log_warn(log_ctx, "PUT /blob %s: rename: %s", uuid, strerror(errno));
    } else {
        blob_sync_dir(dir);
        db_txn_set(t, o, API_F_blob_size, val_int(a, size));
        db_txn_set(t, o, API_F_blob_last_updated, api_value_datetime(a, time(NULL)));
        if (db_commit(t, &err) < 0)
            log_warn(log_ctx, "PUT /blob %s: %s", uuid, err);
        else
            rc = 0;
    }
    arena_free(a);
    return rc;
}

static void blob_put(struct xapi *x, struct http_req *req, const struct blob_target *b,
                     const char *log_ctx)
{
    int64_t length = http_req_content_length(req);
    const char *te = http_req_header(req, "Transfer-Encoding");
    if (!http_req_header(req, "Content-Length") && !te) {
        blob_text(req, 411, "the upload needs a Content-Length or chunked encoding\n");
        return;
    }
    if (length > BLOB_MAX_BYTES) {
        blob_text(req, 413, "the blob is too large\n");
        return;
    }
    http_req_close_after(req); /* one upload per connection, said in its head */
    struct buf dir = BUF_INIT, part = BUF_INIT, path = BUF_INIT;
    buf_printf(&dir, "%s/blobs", x->state_dir);
    blob_path(&path, x, b->uuid);
    buf_printf(&part, "%s/.%s.XXXXXX", dir.data, b->uuid); /* each upload its own */
    mkdir(dir.data, 0700);
    int fd = mkostemp(part.data, O_CLOEXEC);
    if (fd < 0) {
        log_warn(log_ctx, "PUT /blob: %s: %s", part.data, strerror(errno));
        blob_text(req, 500, "cannot store the blob\n");
    } else if (http_reply_start(req, 200, "text/plain", -1) == 0) {
        /* The head first: the client sends the body once it has it. The
         * response's body, after the upload, says how it ended: "stored"
         * (xe looks for it); a failure also ends with a reset. */
        int64_t size = blob_receive(req, fd, log_ctx);
        if (size < 0 || (length >= 0 && size != length) ||
            blob_commit(x, b->uuid, part.data, path.data, dir.data, size, log_ctx) < 0) {
            http_reply_write(req, "failed\n", 7);
            http_req_abort(req);
        } else {
            log_info(log_ctx, "PUT /blob %s: %lld bytes", b->uuid, (long long)size);
            if (http_reply_write(req, "stored\n", 7) == 0)
                http_reply_end(req);
        }
    }
    if (fd >= 0) {
        close(fd);
        unlink(part.data); /* gone already when renamed */
    }
    buf_free(&dir);
    buf_free(&part);
    buf_free(&path);
}

static void blob_get(struct xapi *x, struct http_req *req, const struct blob_target *b,
                     const char *log_ctx)
{
    struct buf path = BUF_INIT;
    blob_path(&path, x, b->uuid);
    int fd = open(path.data, O_RDONLY | O_CLOEXEC);
    struct stat st = {0};
    if (fd >= 0 && fstat(fd, &st) < 0) {
        close(fd);
        fd = -1;
    }
    const char *type = *b->mime ? b->mime : "application/octet-stream";
    if (fd < 0) { /* never written: empty */
        http_reply(req, 200, type, "", 0);
    } else if (http_reply_start(req, 200, type, st.st_size) == 0) {
        char data[65536];
        ssize_t n;
        while ((n = read(fd, data, sizeof(data))) > 0 &&
               http_reply_write(req, data, (size_t)n) == 0)
            ;
        http_reply_end(req);
    }
    if (fd >= 0)
        close(fd);
    log_debug(log_ctx, "GET /blob %s", b->uuid);
    buf_free(&path);
}

static void blob_http(struct xapi *x, struct http_req *req, const char *log_ctx)
{
    bool put = strcmp(http_req_method(req), "PUT") == 0;
    struct blob_target b = {0};
    if (blob_find(x, req, put, &b, log_ctx) < 0)
        return;
    if (put)
        blob_put(x, req, &b, log_ctx);
    else
        blob_get(x, req, &b, log_ctx);
}

static const struct xapi_explicit blob_messages[] = {
    {API_M_blob_create, blob_create},
    {API_M_blob_destroy, blob_destroy},
    {API_M_VM_create_new_blob, blob_create_new},
    {API_M_host_create_new_blob, blob_create_new},
    {API_M_pool_create_new_blob, blob_create_new},
    {API_M_SR_create_new_blob, blob_create_new},
    {API_M_network_create_new_blob, blob_create_new},
    {0, NULL},
};

static const struct xapi_http_route blob_routes[] = {
    {"GET", "/blob", blob_http, false},
    {"PUT", "/blob", blob_http, true},
    {NULL, NULL, NULL, false},
};

const struct xapi_module blob_module = {
    .name = "blob",
    .messages = blob_messages,
    .routes = blob_routes,
};
