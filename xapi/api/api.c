/*
 * api.c - lookups in the generated API tables (api_gen.c).
 */
#include "api/api.h"

#include <assert.h>
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
