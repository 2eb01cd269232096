/*
 * rbac.c - subjects and roles: who may call what.
 */
#include "xapi.h"

const struct xapi_explicit xapi_rbac_messages[] = {
    {NULL, NULL},
};
