/*
 * hostdir.c - create and load DIR/host.conf. The file is a config file
 * (config.h syntax), so an operator can read it and the one parser serves
 * both.
 */
#include "hostdir.h"
#include "buf.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int hostdir_copy(struct arena *a, char *dst, size_t dstlen, const struct config *c,
                        const char *key, const char **err)
{
    const char *v = config_get(c, key, NULL);
    if (!v || strlen(v) >= dstlen || !*v) {
        *err = arena_printf(a, "host.conf: %s is missing or malformed", key);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static void hostdir_path(struct buf *p, const char *dir, const char *name)
{
    buf_reset(p);
    buf_printf(p, "%s/%s", dir, name);
}

/* The root password's hash from host.conf; an earlier version's password
 * in clear is hashed (hostdir_init then stores the hash instead). */
static int hostdir_load_password(struct arena *a, struct config *c, struct host_identity *id,
                                 const char **err)
{
    id->root_password[0] = '\0';
    if (config_get(c, "root-password-hash", NULL))
        return hostdir_copy(a, id->root_password_hash, sizeof(id->root_password_hash), c,
                            "root-password-hash", err);
    char clear[HOSTDIR_PASSWORD_MAX + 1];
    if (hostdir_copy(a, clear, sizeof(clear), c, "root-password", err))
        return -1;
    int rc = passwd_hash(clear, id->root_password_hash);
    OPENSSL_cleanse(clear, sizeof(clear));
    if (rc < 0)
        *err = "cannot hash the root password";
    return rc;
}

int hostdir_load(struct arena *a, const char *dir, struct host_identity *id, const char **err)
{
    struct buf path = BUF_INIT;
    hostdir_path(&path, dir, "host.conf");
    struct config *c = config_new();
    const char *why;
    int rc = config_load_file(c, path.data, false, &why);
    if (rc < 0)
        *err = arena_strdup(a, why); /* why is the config's, freed below */
    else if (hostdir_copy(a, id->host_uuid, sizeof(id->host_uuid), c, "host-uuid", err) ||
             hostdir_copy(a, id->host_ref, sizeof(id->host_ref), c, "host-ref", err) ||
             hostdir_copy(a, id->pool_uuid, sizeof(id->pool_uuid), c, "pool-uuid", err) ||
             hostdir_copy(a, id->pool_ref, sizeof(id->pool_ref), c, "pool-ref", err))
        rc = -1;
    else
        rc = hostdir_load_password(a, c, id, err);
    config_free(c);
    buf_free(&path);
    return rc;
}

int hostdir_mkdirs(const char *path, int mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int hostdir_save(struct arena *a, const char *dir, const struct host_identity *id,
                        const char **err)
{
    struct config *c = config_new();
    config_set(c, "host-uuid", id->host_uuid);
    config_set(c, "host-ref", id->host_ref);
    config_set(c, "pool-uuid", id->pool_uuid);
    config_set(c, "pool-ref", id->pool_ref);
    config_set(c, "root-password-hash", id->root_password_hash);
    struct buf path = BUF_INIT;
    hostdir_path(&path, dir, "host.conf");
    int rc = config_save(c, path.data, 0600);
    if (rc < 0)
        *err = arena_printf(a, "%s: %s", path.data, strerror(errno));
    buf_free(&path);
    config_free(c);
    return rc;
}

/* Whether host.conf still holds a password in clear (an earlier version's). */
static bool hostdir_stored_clear(const char *dir)
{
    struct buf path = BUF_INIT;
    hostdir_path(&path, dir, "host.conf");
    struct config *c = config_new();
    const char *why;
    bool clear = config_load_file(c, path.data, false, &why) == 0 &&
                 config_get(c, "root-password", NULL) != NULL;
    config_free(c);
    buf_free(&path);
    return clear;
}

int hostdir_init(struct arena *a, const char *dir, const char *root_password,
                 struct host_identity *id, bool *created, const char **err)
{
    struct buf logdir = BUF_INIT;
    hostdir_path(&logdir, dir, "log");
    int rc = hostdir_mkdirs(logdir.data, 0700);
    buf_free(&logdir);
    if (rc < 0) {
        *err = arena_printf(a, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (root_password && (strlen(root_password) > HOSTDIR_PASSWORD_MAX || !*root_password ||
                          strchr(root_password, '\n'))) {
        *err = arena_printf(a, "root password must be 1..%d characters on one line",
                            HOSTDIR_PASSWORD_MAX);
        return -1;
    }
    *created = hostdir_load(a, dir, id, err) < 0;
    if (*created) {
        struct stat st;
        struct buf path = BUF_INIT;
        hostdir_path(&path, dir, "host.conf");
        bool exists = stat(path.data, &st) == 0;
        buf_free(&path);
        if (exists)
            return -1; /* present but unreadable: never overwrite a host */
        ids_uuid(id->host_uuid);
        ids_ref(id->host_ref);
        ids_uuid(id->pool_uuid);
        ids_ref(id->pool_ref);
        if (root_password)
            snprintf(id->root_password, sizeof(id->root_password), "%s", root_password);
        else
            ids_secret(id->root_password, 16);
        root_password = id->root_password;
    } else if (!root_password) {
        return hostdir_stored_clear(dir) ? hostdir_save(a, dir, id, err) : 0;
    } else {
        snprintf(id->root_password, sizeof(id->root_password), "%s", root_password);
        if (passwd_check(root_password, id->root_password_hash) && !hostdir_stored_clear(dir))
            return 0; /* the same password: the stored hash stays */
    }
    if (passwd_hash(root_password, id->root_password_hash) < 0) {
        *err = "cannot hash the root password";
        return -1;
    }
    return hostdir_save(a, dir, id, err);
}

static int hostdir_unchanged;

static int hostdir_tighten_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    mode_t want;
    if (type == FTW_D || type == FTW_DP)
        want = 0700;
    else if (type == FTW_F && (S_ISREG(st->st_mode) || S_ISSOCK(st->st_mode)))
        want = 0600;
    else
        return 0; /* links, fifos, what could not be read */
    if ((st->st_mode & 07777) != want && chmod(path, want) < 0)
        hostdir_unchanged++;
    return 0;
}

int hostdir_tighten(const char *dir)
{
    hostdir_unchanged = 0; /* the supervisor calls this once, at start */
    if (nftw(dir, hostdir_tighten_one, 16, FTW_PHYS) < 0)
        return -1;
    return hostdir_unchanged;
}

void hostdir_sock_note(const char *path, struct hostdir_sock *own)
{
    struct stat st;
    *own = (struct hostdir_sock){0};
    if (lstat(path, &st) == 0)
        *own = (struct hostdir_sock){(unsigned long long)st.st_dev, (unsigned long long)st.st_ino};
}

void hostdir_sock_remove(const char *path, const struct hostdir_sock *own)
{
    struct stat st;
    if (own->ino && lstat(path, &st) == 0 && (unsigned long long)st.st_dev == own->dev &&
        (unsigned long long)st.st_ino == own->ino)
        unlink(path);
}

int hostdir_lock_holder(const char *run_dir, const char *name)
{
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/%s.lock", run_dir, name);
    int fd = open(path.data, O_RDONLY | O_CLOEXEC);
    buf_free(&path);
    if (fd < 0)
        return 0;
    int pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        char text[32] = "";
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
        pid = n > 0 ? atoi(text) : -1; /* held, pid not yet written: -1 */
        if (pid == 0)
            pid = -1;
    }
    close(fd);
    return pid;
}

bool hostdir_sock_same_user(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid();
}

int hostdir_lock_take(const char *run_dir, const char *name)
{
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/%s.lock", run_dir, name);
    int fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    buf_free(&path);
    char text[32];
    int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && ftruncate(fd, 0) == 0 &&
        pwrite(fd, text, (size_t)n, 0) == n)
        return fd;
    int e = errno;
    if (fd >= 0)
        close(fd);
    errno = e;
    return -1;
}
