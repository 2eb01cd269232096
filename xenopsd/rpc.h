/*
 * rpc.h - the method table of xenopsd.sock; ctx is the struct xenopsd.
 */
#ifndef XO_RPC_H
#define XO_RPC_H

#include "ipc.h"

extern const struct ipc_method xo_rpc_methods[];

#endif
