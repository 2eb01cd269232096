/*
 * modules.c - every concern of xapi, in the order they start (their sync
 * steps run in this order too, and they stop in the reverse one). A new
 * concern is a folder and one line here; see core/module.h.
 */
#include "cli/cli.h"
#include "core/extauth.h"
#include "core/module.h"
#include "host/host.h"
#include "vm/vm.h"

const struct xapi_module *const xapi_modules[] = {
    &xenops_module,  /* the xenopsd client, before anything calls xenopsd */
    &session_module, /* */
    &task_module,    /* */
    &event_module,   /* */
    &message_module, /* */
    &blob_module,    /* blobs and /blob */
    &rbac_module,    /* */
    &extauth_module, /* */
    &host_module,    /* this host's objects first in the sync: the others point at them */
    &vm_module,      /* templates; follows xenopsd */
    &cli_module,     /* xe's POST /cli */
    NULL,
};
