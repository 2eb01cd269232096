/*
 * valout.c - writing values whole or streamed; see valout.h.
 *
 * Values without streams go to the whole-value encoders
 * (xmlrpc_write_value, json_write). Containers holding streams, and the
 * containers producers open, are written here with the same text those
 * encoders use, so the two ways give identical bytes.
 */
#include "valout.h"
#include "json.h"
#include "xmlrpc.h"

#include <assert.h>
#include <string.h>

#define VAL_OUT_PUT(o, lit) buf_append((o)->buf, (lit), sizeof(lit) - 1)

void val_out_init(struct val_out *o, enum val_wire wire, struct buf *buf)
{
    *o = (struct val_out){.wire = wire, .buf = buf};
}

/* JSON: the comma before every entry of a container but its first. */
static void val_out_next_entry(struct val_out *o)
{
    assert(o->depth > 0);
    if (o->more[o->depth - 1])
        buf_putc(o->buf, ',');
    o->more[o->depth - 1] = true;
}

static void val_out_push(struct val_out *o)
{
    assert(o->depth < VAL_OUT_DEPTH);
    o->more[o->depth++] = false;
}

void val_out_struct_begin(struct val_out *o)
{
    if (o->wire == VAL_WIRE_XMLRPC)
        VAL_OUT_PUT(o, "<value><struct>");
    else
        buf_putc(o->buf, '{');
    val_out_push(o);
}

void val_out_member(struct val_out *o, const char *name)
{
    if (o->wire == VAL_WIRE_XMLRPC) {
        VAL_OUT_PUT(o, "<member><name>");
        xmlrpc_write_escaped(o->buf, name, strlen(name));
        VAL_OUT_PUT(o, "</name>");
        return;
    }
    val_out_next_entry(o);
    json_write_string(o->buf, name, strlen(name));
    buf_putc(o->buf, ':');
}

void val_out_member_prefix(enum val_wire wire, const char *name, struct buf *out)
{
    if (wire == VAL_WIRE_XMLRPC) {
        buf_puts(out, "<member><name>");
        xmlrpc_write_escaped(out, name, strlen(name));
        buf_puts(out, "</name>");
    } else {
        json_write_string(out, name, strlen(name));
        buf_putc(out, ':');
    }
}

void val_out_member_encoded(struct val_out *o, const char *prefix, size_t len)
{
    if (o->wire == VAL_WIRE_JSON)
        val_out_next_entry(o);
    buf_append(o->buf, prefix, len);
}

void val_out_member_end(struct val_out *o)
{
    if (o->wire == VAL_WIRE_XMLRPC)
        VAL_OUT_PUT(o, "</member>");
}

void val_out_struct_end(struct val_out *o)
{
    assert(o->depth > 0);
    o->depth--;
    if (o->wire == VAL_WIRE_XMLRPC)
        VAL_OUT_PUT(o, "</struct></value>");
    else
        buf_putc(o->buf, '}');
}

void val_out_array_begin(struct val_out *o)
{
    if (o->wire == VAL_WIRE_XMLRPC)
        VAL_OUT_PUT(o, "<value><array><data>");
    else
        buf_putc(o->buf, '[');
    val_out_push(o);
}

void val_out_item(struct val_out *o)
{
    if (o->wire == VAL_WIRE_JSON)
        val_out_next_entry(o);
}

void val_out_array_end(struct val_out *o)
{
    assert(o->depth > 0);
    o->depth--;
    if (o->wire == VAL_WIRE_XMLRPC)
        VAL_OUT_PUT(o, "</data></array></value>");
    else
        buf_putc(o->buf, ']');
}

void val_out_string_begin(struct val_out *o)
{
    if (o->wire == VAL_WIRE_XMLRPC)
        VAL_OUT_PUT(o, "<value>");
    else
        buf_putc(o->buf, '"');
}

void val_out_string_piece(struct val_out *o, const char *s, size_t len)
{
    if (o->wire == VAL_WIRE_XMLRPC)
        xmlrpc_write_escaped(o->buf, s, len);
    else
        json_write_escaped(o->buf, s, len);
}

void val_out_string_end(struct val_out *o)
{
    if (o->wire == VAL_WIRE_XMLRPC)
        VAL_OUT_PUT(o, "</value>");
    else
        buf_putc(o->buf, '"');
}

void val_out_value(struct val_out *o, const struct val *v)
{
    if (o->failed)
        return;
    if (v && v->type == VAL_STREAM) {
        if (v->u.stream.produce(v->u.stream.ctx, o) < 0)
            o->failed = true;
        return;
    }
    if (v && v->has_stream && v->type == VAL_STRUCT) {
        val_out_struct_begin(o);
        for (size_t i = 0; i < v->u.st.n && !o->failed; i++) {
            val_out_member(o, v->u.st.members[i].name);
            val_out_value(o, v->u.st.members[i].value);
            val_out_member_end(o);
        }
        val_out_struct_end(o);
        return;
    }
    if (v && v->has_stream && v->type == VAL_ARRAY) {
        val_out_array_begin(o);
        for (size_t i = 0; i < v->u.arr.n && !o->failed; i++) {
            val_out_item(o);
            val_out_value(o, v->u.arr.items[i]);
        }
        val_out_array_end(o);
        return;
    }
    if (o->wire == VAL_WIRE_XMLRPC)
        xmlrpc_write_value(o->buf, v);
    else if (v)
        json_write(o->buf, v);
    else
        buf_append(o->buf, "null", 4);
}

bool val_out_full(const struct val_out *o)
{
    return o->chunk && o->buf->len >= o->chunk;
}

static int val_out_send(struct val_out *o)
{
    if (o->failed)
        return -1;
    if (o->buf->len && o->send(o->ctx, o->buf->data, o->buf->len) < 0)
        o->failed = true;
    o->sent = true;
    buf_reset(o->buf);
    return o->failed ? -1 : 0;
}

int val_out_flush(struct val_out *o)
{
    if (o->failed)
        return -1;
    return val_out_full(o) ? val_out_send(o) : 0;
}

int val_out_finish(struct val_out *o)
{
    return val_out_send(o);
}
