/*
 * main.c - the xapi daemon: serve the XenAPI of the host in STATE on TCP
 * and on RUNDIR/xapi.sock until SIGTERM (lifecycle.c does the work). The
 * database is STATE/xapi.db.
 *
 * Settings come from STATE/xapi.conf, then from flags:
 *   --state DIR (required)  --run DIR (default DIR/run)
 *   --port N (default 80)   --address ADDR (default every address)
 *   --foreground (log to stderr as well as STATE/log/xapi.log)
 *   max-rpc-size, http-header-timeout-ms, http-idle-timeout-ms,
 *   http-io-timeout-ms, max-connections, max-connections-per-address,
 *   max-sessions, failed-login-alert-freq (seconds), log-level;
 *   management-address (host.address: where other hosts reach this one);
 *   what the host says it is (host.software_version): product-brand,
 *   product-version, product-version-text, platform-name,
 *   platform-version, build-number
 */
#include "core/xapi.h"
#include "daemon.h"

static int xapi_read_settings(struct daemon *d, struct xapi_settings *s)
{
    long long port, max_rpc, header_ms, idle_ms, io_ms, max_conns, per_addr, max_sessions, alert_s;
    const char *err;
    struct config *cfg = d->cfg;
    if (config_get_int(cfg, "port", 80, 0, 65535, &port, &err) ||
        config_get_int(cfg, "max-rpc-size", 1024 * 1024, 1024, 1LL << 30, &max_rpc, &err) ||
        config_get_int(cfg, "http-header-timeout-ms", 10000, 1, 3600000, &header_ms, &err) ||
        config_get_int(cfg, "http-idle-timeout-ms", 300000, 1, 86400000, &idle_ms, &err) ||
        config_get_int(cfg, "http-io-timeout-ms", 60000, 1, 3600000, &io_ms, &err) ||
        config_get_int(cfg, "max-connections", 4096, 1, 100000, &max_conns, &err) ||
        config_get_int(cfg, "max-connections-per-address", 256, 1, 100000, &per_addr, &err) ||
        config_get_int(cfg, "max-sessions", 5000, 1, 1000000, &max_sessions, &err) ||
        config_get_int(cfg, "failed-login-alert-freq", 3600, 1, 86400 * 365, &alert_s, &err))
        return daemon_bad_setting(d, err);
    *s = (struct xapi_settings){
        .state_dir = d->state_dir,
        .run_dir = d->run_dir,
        .address = config_get(cfg, "address", NULL),
        .management_address = config_get(cfg, "management-address", NULL),
        .port = (int)port,
        .max_rpc_size = (size_t)max_rpc,
        .header_timeout_ms = (int)header_ms,
        .idle_timeout_ms = (int)idle_ms,
        .io_timeout_ms = (int)io_ms,
        .max_connections = (int)max_conns,
        .max_per_address = (int)per_addr,
        .max_sessions = (int)max_sessions,
        .failed_login_alert_s = (int)alert_s,
        .product = {.brand = config_get(cfg, "product-brand", NULL),
                    .version = config_get(cfg, "product-version", NULL),
                    .version_text = config_get(cfg, "product-version-text", NULL),
                    .platform_name = config_get(cfg, "platform-name", NULL),
                    .platform_version = config_get(cfg, "platform-version", NULL),
                    .build_number = config_get(cfg, "build-number", NULL)},
    };
    return 0;
}

int main(int argc, char **argv)
{
    struct daemon d;
    struct xapi_settings s;
    int rc = daemon_init(&d, "xapi", argc, argv);
    if (rc == 0)
        rc = xapi_read_settings(&d, &s);
    if (rc == 0)
        rc = daemon_open_log(&d);
    if (rc == 0) {
        struct xapi *x = xapi_new(&s);
        rc = xapi_start(x) < 0 ? 1 : 0;
        if (rc == 0) {
            daemon_wait_for_stop(&d);
            xapi_stop(x);
        }
        xapi_free(x);
    }
    daemon_fini(&d);
    return rc;
}
