/*
 * stream.c - replies written from the database as they go out: records,
 * lists of records and lists of refs, as stream values (lib/valout.h).
 *
 * A call decides what to answer under the read lock (which objects: their
 * refs are copied) and returns a stream; the records themselves are read
 * when the reply is written. The producer takes the read lock, writes
 * records into the writer's buffer straight from the database values (no
 * copy, no value tree), and once the buffer holds a chunk lets the lock
 * go, sends the chunk, and takes the lock again for the next. So a reply
 * of any size costs a chunk of memory and the refs, the lock is never
 * held while a client reads, and a writer waits at most for one chunk.
 *
 * Between chunks the database may change: an object deleted meanwhile is
 * left out, one changed is written as it is then. Each record is written
 * whole under one lock hold, except a string field longer than a chunk
 * (a task's result), which is written in pieces: if its object changes
 * between two pieces the reply cannot be finished, and the connection
 * ends. In a writer that collects (chunk 0: Async tasks, tests) everything
 * is written under one lock hold.
 */
#include "core/xapi.h"
#include "api/api.h"
#include "db/db.h"
#include "mem.h"
#include "valout.h"

#include <pthread.h>
#include <string.h>

/* A string field longer than this is written in pieces of this size. */
#define STREAM_PIECE (64 * 1024)

/* Every field's member opening, encoded once for each wire: a record's
 * names are the same every time. */
struct stream_name {
    const char *text;
    size_t len;
};
static struct stream_name *stream_names[2]; /* per wire: class c's field i at offset[c] + i */
static int *stream_offset;
static pthread_once_t stream_names_once = PTHREAD_ONCE_INIT;

static void stream_names_init(void)
{
    int n = 0;
    stream_offset = xcalloc((size_t)api_n_classes, sizeof(*stream_offset));
    for (int c = 0; c < api_n_classes; c++) {
        stream_offset[c] = n;
        n += api_classes[c].n_fields;
    }
    for (int wire = 0; wire < 2; wire++) {
        stream_names[wire] = xcalloc((size_t)n, sizeof(**stream_names));
        for (int c = 0; c < api_n_classes; c++) {
            for (int i = 0; i < api_classes[c].n_fields; i++) {
                struct buf b = BUF_INIT;
                val_out_member_prefix(wire, api_classes[c].fields[i].name, &b);
                struct stream_name *sn = &stream_names[wire][stream_offset[c] + i];
                sn->len = b.len;
                sn->text = buf_detach(&b, NULL);
            }
        }
    }
}

static void stream_member(struct val_out *w, int cls, int field)
{
    pthread_once(&stream_names_once, stream_names_init);
    const struct stream_name *sn = &stream_names[w->wire][stream_offset[cls] + field];
    val_out_member_encoded(w, sn->text, sn->len);
}

/* Writes string field v of a record from pos on, until it is done (true)
 * or the writer is full (false). */
static bool stream_long_string(struct val_out *w, const struct val *v, struct xapi_record_pos *pos)
{
    if (!pos->in_string) {
        val_out_string_begin(w);
        pos->in_string = true;
        pos->offset = 0;
    }
    while (pos->offset < v->u.str.len) {
        if (val_out_full(w))
            return false;
        size_t n = v->u.str.len - pos->offset;
        if (n > STREAM_PIECE)
            n = STREAM_PIECE;
        val_out_string_piece(w, v->u.str.ptr + pos->offset, n);
        pos->offset += n;
    }
    val_out_string_end(w);
    pos->in_string = false;
    return true;
}

bool xapi_record_out(struct val_out *w, const struct db_obj *o, struct xapi_record_pos *pos)
{
    const struct api_class *c = &api_classes[o->cls];
    if (pos->field < 0) {
        val_out_struct_begin(w);
        *pos = (struct xapi_record_pos){.field = 0, .gen = o->gen_modified};
    }
    for (; pos->field < c->n_fields; pos->field++) {
        const struct val *v = o->f[pos->field];
        bool piecewise = w->chunk && v->type == VAL_STRING && v->u.str.len > STREAM_PIECE;
        if (!pos->in_string)
            stream_member(w, o->cls, pos->field);
        if (piecewise && !stream_long_string(w, v, pos))
            return false;
        if (!piecewise)
            val_out_value(w, v);
        val_out_member_end(w);
    }
    val_out_struct_end(w);
    pos->field = -1;
    return true;
}

/* Writes the record of ref (of cls) from pos on, under the read lock;
 * returns 1 when done, 0 when the writer is full, -1 when the object is
 * gone or changed since its record was begun. */
static int stream_record_step(struct db *db, int cls, const char *ref, struct val_out *w,
                              struct xapi_record_pos *pos)
{
    const struct db_obj *o = db_get(db, cls, ref);
    if (!o || (pos->field >= 0 && o->gen_modified != pos->gen))
        return -1;
    return xapi_record_out(w, o, pos) ? 1 : 0;
}

/* --- one record --- */

/* What a producer keeps of its call: it runs after the call returned,
 * while the reply is written, within the life of the call's arena. */
struct stream_record {
    struct xapi *x;
    struct arena *a;
    int cls;
    const char *ref;
};

static int stream_record_produce(void *ctx, struct val_out *w)
{
    struct stream_record *s = ctx;
    struct db *db = s->x->db;
    struct xapi_record_pos pos = {.field = -1};
    for (;;) {
        db_read_lock(db);
        bool begun = pos.field >= 0;
        int rc = stream_record_step(db, s->cls, s->ref, w, &pos);
        db_read_unlock(db);
        if (rc < 0 && !begun) /* deleted since the call looked: as if before */
            w->error = rpc_reply_error(s->a, API_ERR_HANDLE_INVALID, api_classes[s->cls].name,
                                       s->ref, NULL)
                           .error;
        if (rc < 0 || val_out_flush(w) < 0)
            return -1;
        if (rc > 0)
            return 0;
    }
}

struct val *xapi_record_stream(struct xapi_call *c, int cls, const char *ref)
{
    struct stream_record *s = arena_alloc(c->a, sizeof(*s));
    *s = (struct stream_record){c->x, c->a, cls, arena_strdup(c->a, ref)};
    return val_stream(c->a, stream_record_produce, s);
}

/* --- many records, or refs --- */

struct stream_list {
    struct xapi *x;
    int cls;
    const char **refs;
    size_t n;
};

static int stream_records_produce(void *ctx, struct val_out *w)
{
    struct stream_list *s = ctx;
    struct db *db = s->x->db;
    struct xapi_record_pos pos = {.field = -1};
    val_out_struct_begin(w);
    for (size_t i = 0; i < s->n;) {
        int rc = 1;
        db_read_lock(db);
        while (i < s->n && !val_out_full(w)) {
            bool begun = pos.field >= 0;
            if (!begun && !db_get(db, s->cls, s->refs[i])) {
                i++; /* deleted since the call looked */
                continue;
            }
            if (!begun)
                val_out_member(w, s->refs[i]);
            if ((rc = stream_record_step(db, s->cls, s->refs[i], w, &pos)) < 0)
                break; /* changed in the middle of a long string */
            if (rc > 0) {
                val_out_member_end(w);
                i++;
            }
        }
        db_read_unlock(db);
        if (rc < 0 || val_out_flush(w) < 0)
            return -1;
    }
    val_out_struct_end(w);
    return 0;
}

static int stream_refs_produce(void *ctx, struct val_out *w)
{
    struct stream_list *s = ctx;
    val_out_array_begin(w);
    for (size_t i = 0; i < s->n; i++) {
        val_out_item(w);
        val_out_string_begin(w);
        val_out_string_piece(w, s->refs[i], strlen(s->refs[i]));
        val_out_string_end(w);
        if (val_out_flush(w) < 0)
            return -1;
    }
    val_out_array_end(w);
    return 0;
}

static struct val *stream_list(struct xapi_call *c, int cls, const char **refs, size_t n,
                               val_produce_fn produce)
{
    struct stream_list *s = arena_alloc(c->a, sizeof(*s));
    *s = (struct stream_list){c->x, cls, refs, n};
    return val_stream(c->a, produce, s);
}

struct val *xapi_records_stream(struct xapi_call *c, int cls, const char **refs, size_t n)
{
    return stream_list(c, cls, refs, n, stream_records_produce);
}

struct val *xapi_refs_stream(struct xapi_call *c, const char **refs, size_t n)
{
    return stream_list(c, -1, refs, n, stream_refs_produce);
}
