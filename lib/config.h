/*
 * config.h - a daemon's settings: a key = value file, then command-line
 * flags (--key=value or --key value) on top, later settings winning.
 *
 * File syntax: one "key = value" per line; blank lines and lines starting
 * with '#' are ignored; whitespace around key and value is dropped; a value
 * may be wrapped in double quotes to keep surrounding spaces. Keys are
 * [a-z0-9_.-]+. Anything else is an error naming the file and line.
 */
#ifndef CX_CONFIG_H
#define CX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config;

struct config *config_new(void);
void config_free(struct config *c);

/* Parses text as a config file; name is used in error messages. Returns 0,
 * or -1 with *err ("name:LINE: reason", owned by c). Settings from lines
 * before the bad one are kept. */
int config_parse(struct config *c, const char *name, const char *text, size_t len,
                 const char **err);
/* Loads a file; a missing file is an error unless optional. */
int config_load_file(struct config *c, const char *path, bool optional, const char **err);
/* Applies --key=value / --key value flags from argv[0..argc). A flag given
 * without a value and followed by another flag (or nothing) is "true".
 * Positional arguments are an error. */
int config_parse_args(struct config *c, int argc, char **argv, const char **err);

void config_set(struct config *c, const char *key, const char *value);
/* The value, or def when the key is not set. */
const char *config_get(const struct config *c, const char *key, const char *def);
/* Iterates the settings in the order they were set:
 * for (size_t it = 0; config_next(c, &it, &key, &value);) ... */
bool config_next(const struct config *c, size_t *it, const char **key, const char **value);
/* Integer in [min, max]; def when unset. Returns 0, or -1 with *err. */
int config_get_int(struct config *c, const char *key, long long def, long long min, long long max,
                   long long *out, const char **err);
/* true/false, yes/no, on/off, 1/0; def when unset. Returns 0 or -1. */
int config_get_bool(struct config *c, const char *key, bool def, bool *out, const char **err);

/* Writes every setting as a config file (for files the toolstack owns).
 * Returns 0, or -1 with errno set. The file is replaced atomically. */
int config_save(const struct config *c, const char *path, int mode);

/* A daemon's settings: its flags, then STATE/<name>.conf for what the
 * flags leave out (flags win), where --state DIR must be among the flags.
 * Always returns a config (free it); *err is set when something failed. */
struct config *config_load_daemon(int argc, char **argv, const char *name, const char **err);

#endif
