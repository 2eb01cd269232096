/*
 * ids.h - the identifiers the toolstack hands out: uuids (the DCE text form
 * clients store), opaque references ("OpaqueRef:" + a uuid, as upstream, so
 * clients that look at the prefix are not surprised) and secrets. All come
 * from the kernel's CSPRNG: a session reference is a credential.
 */
#ifndef CX_IDS_H
#define CX_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define IDS_UUID_LEN 36
#define IDS_REF_PREFIX "OpaqueRef:"
#define IDS_REF_LEN (sizeof(IDS_REF_PREFIX) - 1 + IDS_UUID_LEN)

void ids_uuid(char out[IDS_UUID_LEN + 1]);
void ids_ref(char out[IDS_REF_LEN + 1]);
/* A random secret of len characters from [A-Za-z0-9], NUL-terminated. */
void ids_secret(char *out, size_t len);
bool ids_is_uuid(const char *s);

#endif
