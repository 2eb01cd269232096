/*
 * event.c - event.from, event.next and friends: following changes to the database.
 */
#include "xapi.h"

const struct xapi_explicit xapi_event_messages[] = {
    {NULL, NULL},
};
