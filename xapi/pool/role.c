/*
 * role.c - the host's role in its pool, from STATE/pool.conf (role.h).
 */
#include "pool/role.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* An address a client can be sent to: a host name, an IPv4 address or
 * an IPv6 one, in brackets or not. */
static bool pool_role_address_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((struct xapi_role *)0)->master_address))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(".-:[]", *s))
            return false;
    return true;
}

int pool_role_load(struct arena *a, const char *state_dir, struct xapi_role *role, const char **why)
{
    role->master = true;
    role->master_address[0] = '\0';
    const char *path = arena_printf(a, "%s/pool.conf", state_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        *why = arena_printf(a, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[512] = "";
    bool read = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (read && strcmp(line, "master") == 0)
        return 0;
    if (read && strncmp(line, "slave:", 6) == 0 && pool_role_address_ok(line + 6)) {
        role->master = false;
        snprintf(role->master_address, sizeof(role->master_address), "%s", line + 6);
        return 0;
    }
    *why = arena_printf(a, "%s says neither \"master\" nor \"slave:ADDRESS\"", path);
    return -1;
}
