/* test_cli_proto.c - the thin CLI protocol's codec and command-line
 * parser: bytes as the protocol lays them out, every message back as it
 * went, and malformed input refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli_proto.h"

/* The body of the first frame in b (after its 4-byte length). */
static const unsigned char *body_of(const struct buf *b, size_t *len)
{
    *len = cli_frame_len((const unsigned char *)b->data);
    assert_int_equal(*len + 4, b->len);
    return (const unsigned char *)b->data + 4;
}

static void test_hello_bytes(void **state)
{
    struct buf b = BUF_INIT;
    cli_put_hello(&b);
    assert_int_equal(b.len, CLI_PROTO_HELLO_LEN);
    assert_memory_equal(b.data, "XenSource thin CLI protocol\0\0\0\0\2\0\0\0", b.len);
    int32_t major, minor;
    assert_int_equal(cli_check_hello((unsigned char *)b.data, &major, &minor), 0);
    assert_int_equal(major, 0);
    assert_int_equal(minor, 2);
    memcpy(b.data, "HTTP/1.1 404 Not Found\r\n", 24);
    assert_int_equal(cli_check_hello((unsigned char *)b.data, &major, &minor), -1);
    buf_free(&b);
}

static void test_print_and_exit_bytes(void **state)
{
    struct buf b = BUF_INIT;
    cli_put_print(&b, CLI_PRINT, "hi", 2);
    /* length 14: kind 9, tag 0, string of 2 */
    assert_memory_equal(b.data, "\x0e\0\0\0\x09\0\0\0\0\0\0\0\x02\0\0\0hi", b.len);
    buf_reset(&b);
    cli_put_exit(&b, 1);
    assert_memory_equal(b.data, "\x0c\0\0\0\x09\0\0\0\x04\0\0\0\x01\0\0\0", b.len);
    buf_reset(&b);
    cli_put_response(&b, CLI_WAIT);
    assert_memory_equal(b.data, "\x08\0\0\0\x0a\0\0\0\x12\0\0\0", b.len);
    buf_free(&b);
}

static void test_every_message_round_trips(void **state)
{
    struct arena *a = arena_new();
    const char *params[] = {"VM", "OpaqueRef:x", ""};
    for (int i = 0; i < 10; i++) {
        struct buf b = BUF_INIT;
        switch (i) {
        case 0:
            cli_put_print(&b, CLI_PRINT_STDERR, "err\n", 4);
            break;
        case 1:
            cli_put_http(&b, CLI_HTTP_PUT, "/tmp/f", "/import?x=1");
            break;
        case 2:
            cli_put_http(&b, CLI_HTTP_GET, "", "http://h/export");
            break;
        case 3:
            cli_put_prompt(&b);
            break;
        case 4:
            cli_put_error(&b, "HANDLE_INVALID", params, 3);
            break;
        case 5:
            cli_put_chunk(&b, 12345);
            break;
        case 6:
            cli_put_end(&b);
            break;
        case 7:
            cli_put_response(&b, CLI_FAILED);
            break;
        case 8:
            cli_put_print(&b, CLI_LOAD, "file", 4);
            break;
        case 9:
            cli_put_exit(&b, -3);
            break;
        }
        size_t len;
        const unsigned char *p = body_of(&b, &len);
        struct cli_msg m;
        const char *err = NULL;
        assert_int_equal(cli_msg_decode(a, p, len, &m, &err), 0);
        switch (i) {
        case 0:
            assert_int_equal(m.tag, CLI_PRINT_STDERR);
            assert_string_equal(m.s1, "err\n");
            break;
        case 1:
            assert_int_equal(m.tag, CLI_HTTP_PUT);
            assert_string_equal(m.s1, "/tmp/f");
            assert_string_equal(m.s2, "/import?x=1");
            break;
        case 2:
            assert_string_equal(m.s2, "http://h/export");
            break;
        case 3:
            assert_int_equal(m.tag, CLI_PROMPT);
            break;
        case 4:
            assert_string_equal(m.s1, "HANDLE_INVALID");
            assert_int_equal(m.n_params, 3);
            assert_string_equal(m.params[1], "OpaqueRef:x");
            assert_string_equal(m.params[2], "");
            break;
        case 5:
            assert_int_equal(m.kind, CLI_BLOB);
            assert_int_equal(m.n, 12345);
            break;
        case 6:
            assert_int_equal(m.tag, CLI_END);
            break;
        case 7:
            assert_int_equal(m.kind, CLI_RESPONSE);
            break;
        case 8:
            assert_int_equal(m.tag, CLI_LOAD);
            break;
        case 9:
            assert_int_equal(m.n, -3);
            break;
        }
        buf_free(&b);
    }
    arena_free(a);
}

static void test_malformed_messages_are_refused(void **state)
{
    struct arena *a = arena_new();
    static const struct {
        const char *bytes;
        size_t len;
        const char *why;
    } bad[] = {
        {"\x09\0\0\0", 4, "truncated message"},
        {"\x09\0\0\0\x63\0\0\0", 8, "unknown command tag"},
        {"\x0a\0\0\0\x63\0\0\0", 8, "unknown response tag"},
        {"\x0b\0\0\0\x63\0\0\0", 8, "unknown blob tag"},
        {"\x2a\0\0\0\x00\0\0\0", 8, "unknown message kind"},
        {"\x09\0\0\0\x00\0\0\0\xff\xff\xff\xff", 12, "negative string length"},
        {"\x09\0\0\0\x00\0\0\0\x10\0\0\0abc", 15, "truncated message"},
        {"\x09\0\0\0\x0e\0\0\0\x01\0\0\0x\xff\xff\xff\x7f", 17, "truncated message"},
        {"\x09\0\0\0\x0e\0\0\0\x01\0\0\0x\xff\xff\xff\xff", 17, "negative list length"},
        {"\x0b\0\0\0\x07\0\0\0\xff\xff\xff\xff", 12, "negative chunk length"},
        {"\x09\0\0\0\x03\0\0\0junk", 12, "bytes after the message"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cli_msg m;
        const char *err = NULL;
        assert_int_equal(
            cli_msg_decode(a, (const unsigned char *)bad[i].bytes, bad[i].len, &m, &err), -1);
        assert_string_equal(err, bad[i].why);
    }
    arena_free(a);
}

static void test_command_line(void **state)
{
    struct arena *a = arena_new();
    char body[] = "session_id=OpaqueRef:s\r\nvm-list\nparams=uuid,name-label\n--minimal\n-u\n"
                  "root\nname-label=a=b\nflag\n\nother-config:k=v";
    struct cli_args args;
    const char *why = NULL;
    assert_int_equal(cli_args_parse(a, body, &args, &why), 0);
    assert_string_equal(args.session, "OpaqueRef:s");
    assert_string_equal(args.cmd, "vm-list");
    const char *want[][2] = {
        {"params", "uuid,name-label"}, {"minimal", "true"}, {"username", "root"},
        {"name-label", "a=b"},         {"flag", ""},        {"other-config:k", "v"}};
    assert_int_equal(args.n_params, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(args.params[i].key, want[i][0]);
        assert_string_equal(args.params[i].value, want[i][1]);
    }
    arena_free(a);
}

static void test_command_line_errors(void **state)
{
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", ""},
        {"session_id=x", ""},
        {"uuid=1\nvm-list", "command name is missing"},
        {"vm-list\n-q\n1", "Unknown switch: -q"},
        {"vm-list\n-pw", "Switch -pw requires a parameter"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct arena *a = arena_new();
        char *body = arena_strdup(a, bad[i].body);
        struct cli_args args;
        const char *why = NULL;
        assert_int_equal(cli_args_parse(a, body, &args, &why), -1);
        assert_string_equal(why, bad[i].why);
        arena_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_bytes),
        cmocka_unit_test(test_print_and_exit_bytes),
        cmocka_unit_test(test_every_message_round_trips),
        cmocka_unit_test(test_malformed_messages_are_refused),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_command_line_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
