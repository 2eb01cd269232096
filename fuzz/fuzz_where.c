/*
 * fuzz_where.c - libFuzzer target for the get_all_records_where filter
 * language. Whatever parses is evaluated against a small record; a
 * failure must come with a one-line message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/where.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new();
    char *text = arena_strndup(a, (const char *)data, size);
    struct where_expr *e = NULL;
    const char *err = NULL;
    if (where_parse(a, text, &e, &err) == 0) {
        struct val *rec = val_struct(a);
        val_struct_add(a, rec, "name_label", val_string(a, "x"));
        val_struct_add(a, rec, "memory", val_int(a, 42));
        struct val *set = val_array(a);
        val_array_push(a, set, val_string(a, "a'b"));
        val_struct_add(a, rec, "tags", set);
        where_match(e, rec);
    } else if (!err || strchr(err, '\n')) {
        abort();
    }
    arena_free(a);
    return 0;
}
