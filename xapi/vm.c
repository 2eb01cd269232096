/*
 * vm.c - the VM lifecycle, VBDs and VIFs: xapi's side of xenopsd.
 */
#include "xapi.h"

const struct xapi_explicit xapi_vm_messages[] = {
    {NULL, NULL},
};
