/*
 * valout.h - writing a value as XML-RPC or JSON, whole or streamed.
 *
 * A value tree may hold streams (VAL_STREAM): a producer that writes its
 * part when the writer reaches it, entry by entry, with the calls below,
 * instead of a tree built beforehand. A writer either collects everything
 * in its buffer, or (chunk > 0) hands the buffer to its send function
 * each time a producer flushes past the chunk size: then a reply of any
 * size costs one chunk of memory. Producers flush only between entries and
 * only with no lock held, so a slow client never holds up anyone else.
 *
 * The containers are written the way the whole-value encoders write them
 * (xmlrpc_write_value, json_write), byte for byte: a streamed reply is the
 * same text as the reply built in one piece.
 */
#ifndef CX_VALOUT_H
#define CX_VALOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "value.h"

enum val_wire { VAL_WIRE_XMLRPC, VAL_WIRE_JSON };

/* Containers a producer may nest, one inside the other. */
#define VAL_OUT_DEPTH 8

struct val_out {
    enum val_wire wire;
    struct buf *buf;
    size_t chunk; /* flush once the buffer holds this much; 0: collect all */
    /* Sends data to the client: 0, or -1 when it is gone. */
    int (*send)(void *ctx, const char *data, size_t len);
    void *ctx;
    bool sent;   /* something has gone out: the reply can no longer change */
    bool failed; /* a send failed, or a producer could not finish */
    /* A producer that cannot answer before anything went out (an object
     * gone) leaves the XenAPI error here; the reply becomes that error. */
    struct val *error;
    int depth;
    bool more[VAL_OUT_DEPTH]; /* JSON: an entry was written at this level */
};

/* A writer collecting into buf. */
void val_out_init(struct val_out *o, enum val_wire wire, struct buf *buf);

/* Writes v, running the producers of the streams in it. */
void val_out_value(struct val_out *o, const struct val *v);

/* For producers: a struct of members, each a name and then one value. */
void val_out_struct_begin(struct val_out *o);
void val_out_member(struct val_out *o, const char *name);
/* The same with the member's opening already encoded for the writer's
 * wire (val_out_member_prefix): for names written again and again. */
void val_out_member_encoded(struct val_out *o, const char *prefix, size_t len);
/* Encodes what val_out_member writes before the value, for wire. */
void val_out_member_prefix(enum val_wire wire, const char *name, struct buf *out);
void val_out_member_end(struct val_out *o);
void val_out_struct_end(struct val_out *o);
/* An array: val_out_item before each item's value. */
void val_out_array_begin(struct val_out *o);
void val_out_item(struct val_out *o);
void val_out_array_end(struct val_out *o);
/* A string written in pieces. */
void val_out_string_begin(struct val_out *o);
void val_out_string_piece(struct val_out *o, const char *s, size_t len);
void val_out_string_end(struct val_out *o);

/* Whether the buffer holds a chunk: time to release locks and flush. */
bool val_out_full(const struct val_out *o);
/* Sends the buffer if it holds a chunk; -1 once anything failed. Call
 * with no lock held. */
int val_out_flush(struct val_out *o);
/* Sends what is left, for a writer that has sent before; -1 on failure. */
int val_out_finish(struct val_out *o);

#endif
