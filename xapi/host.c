/*
 * host.c - explicit pool and host messages that need logic beyond the schema.
 */
#include "xapi.h"

const struct xapi_explicit xapi_host_messages[] = {
    {NULL, NULL},
};
