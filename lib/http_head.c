/*
 * http_head.c - the strict reading of a request's line and headers; see
 * http_internal.h. What libhttp-parser lets through and a stricter peer
 * (a proxy in front of us) might read otherwise is refused here.
 */
#include "http_internal.h"

#include <strings.h>

int http_head_scan(struct http_head_scan *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n && s->end < 4; i++) {
        char c = p[i];
        if (c == '\n' && s->prev != '\r')
            return -1;
        if (c == '\r') {
            s->end = s->end == 2 ? 3 : 1;
        } else if (c == '\n') {
            s->end = s->end == 3 && s->text ? 4 : 2;
        } else {
            s->end = 0;
            s->text = true;
        }
        s->prev = c;
    }
    return 0;
}

/* Whether a Transfer-Encoding value is "chunked" alone (any case, with
 * optional whitespace around it), the one coding we take. */
static bool http_only_chunked(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, "chunked", 7) != 0)
        return false;
    for (v += 7; *v == ' ' || *v == '\t'; v++)
        ;
    return *v == '\0';
}

int http_head_check(int major, int minor, const char *hdr, const size_t (*off)[2], int n)
{
    if (major != 1 || minor > 1)
        return 505;
    int te = 0;
    for (int i = 0; i < n; i++) {
        if (strcasecmp(hdr + off[i][0], "Transfer-Encoding") != 0)
            continue;
        if (++te > 1 || !http_only_chunked(hdr + off[i][1]))
            return 501;
    }
    return 0;
}
