/*
 * fuzz_cli.c - libFuzzer target for the thin CLI protocol: the first
 * byte picks what the rest is fed to. Even: a message body, which must
 * decode, or be refused with a reason; a decoded message must encode to
 * the very bytes it came from. Odd: a POST /cli body, which must parse
 * into a command and parameters, or be refused with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

/* A decoded message written again. */
static void fuzz_encode(struct buf *b, const struct cli_msg *m)
{
    if (m->kind == CLI_RESPONSE) {
        cli_put_response(b, m->tag);
    } else if (m->kind == CLI_BLOB) {
        if (m->tag == CLI_CHUNK)
            cli_put_chunk(b, (uint32_t)m->n);
        else
            cli_put_end(b);
    } else if (m->tag == CLI_HTTP_GET || m->tag == CLI_HTTP_PUT) {
        /* strings with NULs do not survive strlen: compare those by length */
        if (strlen(m->s1) == m->s1_len && strlen(m->s2) == m->s2_len)
            cli_put_http(b, m->tag, m->s1, m->s2);
    } else if (m->tag == CLI_PROMPT) {
        cli_put_prompt(b);
    } else if (m->tag == CLI_EXIT) {
        cli_put_exit(b, m->n);
    } else if (m->tag == CLI_ERROR) {
        /* its parameters' lengths are not kept: decoding is what is checked */
    } else {
        cli_put_print(b, m->tag, m->s1, m->s1_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20)
        return 0;
    struct arena *a = arena_new();
    const char *err = NULL;
    if (data[0] % 2 == 0) {
        struct cli_msg m;
        if (cli_msg_decode(a, data + 1, size - 1, &m, &err) == 0) {
            struct buf b = BUF_INIT;
            fuzz_encode(&b, &m);
            if (b.len)
                fuzz_check(b.len == size + 3 && memcmp(b.data + 4, data + 1, size - 1) == 0);
            buf_free(&b);
        } else {
            fuzz_check(err != NULL);
        }
    } else {
        char *body = arena_strndup(a, (const char *)data + 1, size - 1);
        struct cli_args args;
        if (cli_args_parse(a, body, &args, &err) == 0) {
            fuzz_check(args.cmd && *args.cmd && !strchr(args.cmd, '='));
            for (size_t i = 0; i < args.n_params; i++)
                fuzz_check(args.params[i].key && args.params[i].value);
        } else {
            fuzz_check(err != NULL);
        }
    }
    arena_free(a);
    return 0;
}
