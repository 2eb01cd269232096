/*
 * fuzz_config.c - libFuzzer target for the settings parser. The input is
 * parsed as a config file, then split at NUL bytes into an argv for the
 * flag parser; the typed getters then read a few keys either may have set.
 * Besides not crashing, a failure must name the file and line, on one line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ARGS 64

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

/* A file's values never hold a newline, so neither do its messages; a
 * flag's value may hold anything. */
static void fuzz_check_err(const char *err, bool one_line)
{
    fuzz_check(err != NULL);
    fuzz_check(!one_line || strchr(err, '\n') == NULL);
}

/* Reads back the keys the seeds use, through every getter. */
static void fuzz_getters(struct config *c, bool from_file)
{
    static const char *const keys[] = {"a", "port", "debug", "log-level", "x.y_z"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = config_get(c, keys[i], NULL);
        fuzz_check(!from_file || !v || !strchr(v, '\n'));
        long long n = 0;
        const char *err = NULL;
        if (config_get_int(c, keys[i], 7, -1000, 1000, &n, &err) == 0)
            fuzz_check(n >= -1000 && n <= 1000);
        else
            fuzz_check_err(err, from_file);
        bool b = false;
        err = NULL;
        if (config_get_bool(c, keys[i], true, &b, &err) != 0)
            fuzz_check_err(err, from_file);
    }
}

static void fuzz_file(const char *text, size_t size)
{
    struct config *c = config_new();
    const char *err = NULL;
    if (config_parse(c, "fuzz.conf", text, size, &err) != 0) {
        fuzz_check_err(err, true);
        fuzz_check(strncmp(err, "fuzz.conf:", 10) == 0);
    }
    fuzz_getters(c, true);
    /* A second parse on top overrides; it must behave the same. */
    const char *err2 = NULL;
    int rc = config_parse(c, "fuzz.conf", text, size, &err2);
    fuzz_check((rc != 0) == (err != NULL));
    config_free(c);
}

static void fuzz_args(const char *text, size_t size)
{
    char *copy = malloc(size + 1);
    memcpy(copy, text, size);
    copy[size] = '\0';
    char *argv[FUZZ_MAX_ARGS];
    int argc = 0;
    for (size_t off = 0; off < size && argc < FUZZ_MAX_ARGS;) {
        argv[argc++] = copy + off;
        off += strlen(copy + off) + 1;
    }
    struct config *c = config_new();
    const char *err = NULL;
    if (config_parse_args(c, argc, argv, &err) != 0)
        fuzz_check_err(err, false);
    fuzz_getters(c, false);
    config_free(c);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file((const char *)data, size);
    fuzz_args((const char *)data, size);
    return 0;
}
