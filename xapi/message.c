/*
 * message.c - XenAPI messages (alerts): create, list, destroy.
 */
#include "xapi.h"

const struct xapi_explicit xapi_message_messages[] = {
    {NULL, NULL},
};
