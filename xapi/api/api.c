/*
 * api.c - lookups in the generated API tables (api_gen.c).
 */
#include "api/api.h"

#include "mem.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int api_message_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct api_message *)elem)->wire_name);
}

const struct api_message *api_message_find(const char *wire_name)
{
    return bsearch(wire_name, api_messages, (size_t)api_n_messages, sizeof(api_messages[0]),
                   api_message_cmp);
}

int api_class_find(const char *name)
{
    for (int i = 0; i < api_n_classes; i++)
        if (strcasecmp(api_classes[i].name, name) == 0)
            return i;
    return -1;
}

const struct api_field *api_field(api_field_id f)
{
    assert(API_FIELD_CLASS(f) < api_n_classes);
    assert(API_FIELD_INDEX(f) < api_classes[API_FIELD_CLASS(f)].n_fields);
    return &api_classes[API_FIELD_CLASS(f)].fields[API_FIELD_INDEX(f)];
}

api_roles_t api_role_bit(const char *role)
{
    for (int i = 0; i < api_n_roles; i++)
        if (strcasecmp(api_roles[i], role) == 0)
            return (api_roles_t)1 << i;
    return 0;
}

/* Per class, its field indices sorted by name, made once: records on
 * disk and create's arguments name their fields, and a linear scan per
 * field cost O(fields squared) string compares per record. */
static int **api_field_order;
static pthread_once_t api_field_order_once = PTHREAD_ONCE_INIT;
static int api_order_cls;

static int api_field_order_cmp(const void *a, const void *b)
{
    const struct api_field *f = api_classes[api_order_cls].fields;
    return strcmp(f[*(const int *)a].name, f[*(const int *)b].name);
}

static void api_field_order_init(void)
{
    api_field_order = xcalloc((size_t)api_n_classes, sizeof(*api_field_order));
    for (int c = 0; c < api_n_classes; c++) {
        int n = api_classes[c].n_fields;
        int *order = xmalloc((size_t)(n ? n : 1) * sizeof(*order));
        for (int i = 0; i < n; i++)
            order[i] = i;
        api_order_cls = c; /* qsort has no context argument; this runs once */
        qsort(order, (size_t)n, sizeof(*order), api_field_order_cmp);
        api_field_order[c] = order;
    }
}

int api_field_index(int cls, const char *name)
{
    pthread_once(&api_field_order_once, api_field_order_init);
    const struct api_field *f = api_classes[cls].fields;
    const int *order = api_field_order[cls];
    int lo = 0, hi = api_classes[cls].n_fields - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int d = strcmp(name, f[order[mid]].name);
        if (d == 0)
            return order[mid];
        if (d < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}
