/*
 * daemon.c - `noriai serve`: the process around the service layer.
 *
 * One libuv loop thread owns everything: the HTTP server (routes.c), the
 * driver channel (driver.c), the store's connection (data/db, behind the
 * store interface of data/store/store.h) and the service layer
 * (dispatcher/svc.h) that holds the days, the bookings and the commit
 * queue.  This file only wires them together and keeps time:
 *
 *   start     settings checked (zone, database), the area loaded, the
 *             migrations applied, the service layer created and restored
 *             from the store (svc_restore: blocking calls, before the loop
 *             serves), tokens loaded (and demo tokens made for `make run`);
 *   timers    every second svc_tick (expiries, late vans, the roll-over,
 *             commits of what is queued); every replan_interval_s a re-plan
 *             prepared by the service layer, solved in uv_queue_work on its
 *             snapshot and handed back to svc_replan_finish on the loop;
 *   hooks     after a commit stored a plan or an event, the driver channel
 *             pushes it to the tablets;
 *   stop      SIGTERM/SIGINT: stop listening, close the tablets (1001),
 *             store what is queued, close the store, exit 0.
 *
 * Tokens are the wire's business (roles, auth): kept here as SHA-256 of the
 * token -> api_token, loaded at start and changed by routes.c.
 *
 * Durability rule: an HTTP 2xx for a change is sent only from the store's
 * commit callback of the transaction that holds that change (svc_commit).
 */
#define _DEFAULT_SOURCE /* setenv */
#include "api/server/srv_int.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/area/sha256.h"

/* ------------------------------------------------------------------------ */
/* Roles                                                                    */

const char *api_role_name(int role)
{
    switch (role) {
    case API_ROLE_ADMIN:
        return "admin";
    case API_ROLE_OPERATOR:
        return "operator";
    case API_ROLE_RIDER:
        return "rider";
    case API_ROLE_DRIVER:
        return "driver";
    case API_ROLE_PLANNER:
        return "planner";
    default:
        return "public";
    }
}

int api_role_parse(const char *name)
{
    static const int roles[] = {API_ROLE_ADMIN, API_ROLE_OPERATOR, API_ROLE_RIDER, API_ROLE_DRIVER,
                                API_ROLE_PLANNER};
    for (size_t i = 0; name != NULL && i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(name, api_role_name(roles[i])) == 0)
            return roles[i];
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The service layer's hooks                                                */

int api_store_ready(const api_svc *s)
{
    return s->db != NULL && db_ready(s->db);
}

void api_set_actor(api_svc *s, const char *actor)
{
    snprintf(s->core->actor, sizeof(s->core->actor), "%s", actor);
}

static void hook_plan_stored(void *ud, svc_day *d, int v)
{
    api_driver_plan_stored(ud, d, v);
}

static void hook_event_stored(void *ud, const svc_evq *e)
{
    api_driver_event_stored(ud, e);
}

static void hook_log(void *ud, int level, const char *msg, const char *booking,
                     const char *detail)
{
    char b[200], d[600];

    (void)ud;
    api_log(level, msg, "\"booking\":\"%s\",\"detail\":\"%s\"",
            api_log_esc(booking ? booking : "", b, sizeof(b)),
            api_log_esc(detail ? detail : "", d, sizeof(d)));
}

/* ------------------------------------------------------------------------ */
/* Timers: tick, re-plan                                                    */

static void on_tick(uv_timer_t *t)
{
    api_svc *s = t->data;

    svc_tick(s->core);
}

typedef struct replan_job {
    uv_work_t work;
    api_svc *s;
    svc_replan_job *job;
    uint64_t t0;
} replan_job;

static double mono_s(void *ctx)
{
    (void)ctx;
    return (double)uv_hrtime() / 1e9;
}

static void replan_work(uv_work_t *w)
{
    replan_job *j = w->data;
    svc_replan_solve(j->job);
}

static void replan_after(uv_work_t *w, int status)
{
    replan_job *j = w->data;
    api_svc *s = j->s;
    int improved = 0, rc;

    s->replan_busy = 0;
    api_hist_add(&s->m.replan_latency, (double)(uv_hrtime() - j->t0) / 1e9);
    rc = svc_replan_finish(s->core, j->job, status == 0 && !s->stopping, &improved);
    if (rc < 0 && rc != DSP_ESTALE)
        api_log(API_LOG_WARN, "re-plan failed", "\"error\":\"%s\"", dsp_strerror(rc));
    api_log(API_LOG_DEBUG, "re-plan done", "\"rc\":%d,\"improved\":%d", rc, improved);
    free(j);
}

static void on_replan(uv_timer_t *t)
{
    api_svc *s = t->data;
    replan_job *j;

    if (s->replan_busy || s->stopping || (j = calloc(1, sizeof(*j))) == NULL)
        return;
    if ((j->job = svc_replan_prepare(s->core, mono_s, NULL)) == NULL) {
        free(j);
        return;
    }
    j->s = s;
    j->t0 = uv_hrtime();
    j->work.data = j;
    s->replan_busy = 1;
    if (uv_queue_work(s->loop, &j->work, replan_work, replan_after) < 0) {
        int improved;
        s->replan_busy = 0;
        svc_replan_finish(s->core, j->job, 0, &improved);
        free(j);
    }
}

/* ------------------------------------------------------------------------ */
/* Tokens                                                                   */

typedef struct tok_ctx {
    api_svc *s;
    int n, failed;
} tok_ctx;

static void row_token(void *ud, const store_token_row *r)
{
    tok_ctx *c = ud;
    api_token *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        c->failed = 1;
        return;
    }
    snprintf(t->id, sizeof(t->id), "%s", r->id);
    t->role = api_role_parse(r->role);
    snprintf(t->rider_id, sizeof(t->rider_id), "%s", r->rider_id ? r->rider_id : "");
    snprintf(t->vehicle_id, sizeof(t->vehicle_id), "%s", r->vehicle_id ? r->vehicle_id : "");
    if (svc_map_put(&c->s->tokens, r->token_sha256, t) < 0) {
        free(t);
        c->failed = 1;
    }
    c->n++;
}

static int load_tokens(api_svc *s, char *err, size_t err_len)
{
    store st = api_store(s);
    tok_ctx c = {.s = s};
    int rc = st.ops->load_tokens(st.ctx, row_token, &c, err, err_len);

    if (rc == 0 && c.failed) {
        snprintf(err, err_len, "out of memory loading tokens");
        rc = DB_ENOMEM;
    }
    if (rc == 0)
        api_log(API_LOG_INFO, "tokens loaded", "\"count\":%d", c.n);
    return rc;
}

/* Writes the demo tokens file: readable by the daemon's user alone (0600),
 * also when the file existed before with wider rights. */
static int write_tokens_file(const char *path, json_t *out)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (f == NULL && fd >= 0)
        close(fd);
    if (f != NULL) {
        rc = fchmod(fd, 0600) == 0 ? json_dumpf(out, f, JSON_INDENT(2)) : -1;
        if (fclose(f) != 0)
            rc = -1;
    }
    return rc;
}

/* Demo tokens: reused when the file's tokens are still valid, else made
 * (with the demo rider they book for). */
static int demo_tokens(api_svc *s, char *err, size_t err_len)
{
    static const char *const roles[] = {"admin", "operator", "rider", "driver", "planner"};
    char tok[5][64], sha[5][65], tid[5][40];
    json_t *old = json_load_file(s->cfg.demo_tokens, 0, NULL), *out;
    store st = api_store(s);
    int valid = old != NULL, rc;

    for (int i = 0; i < 5 && valid; i++) {
        json_t *t = json_object_get(old, roles[i]);
        if (!json_is_string(t) || strlen(json_string_value(t)) >= sizeof(tok[i])) {
            valid = 0;
            break;
        }
        snprintf(tok[i], sizeof(tok[i]), "%s", json_string_value(t));
        area_sha256_hex(tok[i], strlen(tok[i]), sha[i]);
        valid = svc_map_get(&s->tokens, sha[i]) != NULL;
    }
    json_decref(old);
    if (!valid) {
        store_txn *t = st.ops->txn_new(st.ctx);
        rc = t != NULL ? 0 : DB_ENOMEM;
        if (rc == 0 && !svc_rider_known(s->core, "r_demo")) {
            store_rider_row r = {.id = "r_demo",
                                 .name = "乗合 花子",
                                 .name_kana = "のりあい はなこ",
                                 .phone = "0120-000-000",
                                 .phone_digits = "0120000000",
                                 .home_address = "",
                                 .home_lat = NAN,
                                 .home_lon = NAN,
                                 .mobility = "",
                                 .notes = "demo rider"};
            rc = st.ops->put_rider(t, &r);
        }
        for (int i = 0; i < 5 && rc == 0; i++) {
            if (svc_random_id("nt_", tok[i], sizeof(tok[i])) < 0 ||
                svc_random_id("tk_", tid[i], 20) < 0) {
                snprintf(err, err_len, "no randomness from the kernel for the demo tokens");
                rc = DB_EINVAL;
                break;
            }
            area_sha256_hex(tok[i], strlen(tok[i]), sha[i]);
            store_token_row r = {
                .id = tid[i],
                .token_sha256 = sha[i],
                .role = roles[i],
                .rider_id = strcmp(roles[i], "rider") == 0 ? "r_demo" : NULL,
                .vehicle_id = strcmp(roles[i], "driver") == 0 ? s->cfg.vehicles[0].id : NULL,
                .label = "demo"};
            rc = st.ops->put_token(t, &r);
        }
        if (rc == 0) {
            rc = st.ops->exec_txn_blocking(st.ctx, t, err, err_len);
            t = NULL;
        }
        if (t != NULL)
            st.ops->txn_free(t);
        if (rc < 0)
            return rc;
        svc_rider_add(s->core, "r_demo");
        for (int i = 0; i < 5; i++) {
            api_token *k = calloc(1, sizeof(*k));
            if (k == NULL)
                return DB_ENOMEM;
            snprintf(k->id, sizeof(k->id), "%.39s", tid[i]);
            k->role = api_role_parse(roles[i]);
            if (k->role == API_ROLE_RIDER)
                snprintf(k->rider_id, sizeof(k->rider_id), "r_demo");
            if (k->role == API_ROLE_DRIVER)
                snprintf(k->vehicle_id, sizeof(k->vehicle_id), "%.47s", s->cfg.vehicles[0].id);
            if (svc_map_put(&s->tokens, sha[i], k) < 0) {
                free(k);
                return DB_ENOMEM;
            }
        }
    }
    out = json_object();
    for (int i = 0; i < 5; i++) {
        json_object_set_new(out, roles[i], json_string(tok[i]));
        snprintf(s->demo_tok[i], sizeof(s->demo_tok[i]), "%.60s", tok[i]);
    }
    rc = write_tokens_file(s->cfg.demo_tokens, out);
    json_decref(out);
    if (rc != 0) {
        snprintf(err, err_len, "cannot write the demo tokens file %.200s", s->cfg.demo_tokens);
        return DB_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                           */

static void on_db_state(void *ud, int connected)
{
    api_svc *s = ud;
    api_log(connected ? API_LOG_INFO : API_LOG_WARN,
            connected ? "database connected" : "database connection lost", NULL);
    if (connected && s->core != NULL && svc_has_pending(s->core))
        svc_commit(s->core, NULL, NULL, NULL);
}

static void closed_cb(void *ud)
{
    (void)ud;
}

static void close_walk(uv_handle_t *h, void *ud)
{
    (void)ud;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void final_commit_done(void *ud, int rc)
{
    api_svc *s = ud;
    if (rc < 0)
        api_log(API_LOG_WARN, "last changes not stored at shutdown", NULL);
    db_store_set_db(s->dbst, NULL);
    db_close(s->db, closed_cb, NULL);
    s->db = NULL;
}

static void on_signal(uv_signal_t *h, int signum)
{
    api_svc *s = h->data;

    if (s->stopping)
        return;
    s->stopping = 1;
    api_log(API_LOG_INFO, "shutting down", "\"signal\":%d", signum);
    uv_timer_stop(&s->tick_timer);
    uv_timer_stop(&s->replan_timer);
    uv_close((uv_handle_t *)&s->tick_timer, NULL);
    uv_close((uv_handle_t *)&s->replan_timer, NULL);
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
    api_driver_close(s);
    api_http_server_close(s->http, closed_cb, NULL);
    if (api_store_ready(s) && svc_has_pending(s->core)) {
        svc_commit(s->core, NULL, final_commit_done, s);
    } else {
        db_store_set_db(s->dbst, NULL);
        db_close(s->db, closed_cb, NULL);
        s->db = NULL;
    }
}

static int load_area(api_svc *s, char *err, size_t err_len)
{
    if (s->cfg.area_dir[0])
        return area_load(s->cfg.area_dir, &s->area, err, err_len);
    return area_synth(s->cfg.synth_seed, (area_synth_size)s->cfg.synth_size, &s->area, err,
                      err_len);
}

static void banner(const api_svc *s)
{
    static const char *const roles[] = {"admin", "operator", "rider", "driver", "planner"};
    const api_config *cfg = &s->cfg;

    printf("\nnoriai serves the demo town at http://%s:%d/\n", cfg->listen_host, s->port);
    printf("  consoles: http://%s:%d/web/ (operator, driver tablet, live map)\n\n",
           cfg->listen_host, s->port);
    printf("  tokens (also in %s):\n", cfg->demo_tokens);
    for (int i = 0; i < 5; i++)
        printf("    %-9s %s\n", roles[i], s->demo_tok[i]);
    printf("\n  try:\n    curl http://%s:%d/v1/health\n", cfg->listen_host, s->port);
    printf("    curl -H 'Authorization: Bearer %s' -H 'Idempotency-Key: demo-1' "
           "-d '{\"rider_id\":\"r_demo\",\"pickup\":{\"stop_id\":\"s010\"},"
           "\"dropoff\":{\"stop_id\":\"s040\"}}' http://%s:%d/v1/bookings\n",
           s->demo_tok[1], cfg->listen_host, s->port);
    printf("    then POST /v1/bookings/<id>/confirm; API: http://%s:%d/v1/openapi.json "
           "(docs/api.md)\n\n",
           cfg->listen_host, s->port);
    fflush(stdout);
}

/* The service layer over the area, the fleet and the store (blocking calls
 * until the loop runs). */
static int start_service(api_svc *s, char *err, size_t err_len)
{
    const api_config *cfg = &s->cfg;
    svc_config sc = {.vehicles = cfg->vehicles,
                     .n_vehicles = cfg->n_vehicles,
                     .rules = cfg->rules,
                     .max_lead_days = cfg->max_lead_days,
                     .clock_shift_s = cfg->clock_shift_s,
                     .replan_iterations = cfg->replan_iterations,
                     .replan_time_limit_s = cfg->replan_time_limit_s};
    svc_hooks hooks = {.ud = s,
                       .plan_stored = hook_plan_stored,
                       .event_stored = hook_event_stored,
                       .log = hook_log};
    int rc;

    if ((rc = db_store_create(NULL, cfg->database, &s->dbst)) < 0) {
        snprintf(err, err_len, "out of memory");
        return rc;
    }
    if ((rc = svc_create(&sc, s->area, db_store_get(s->dbst), &hooks, &s->core)) < 0) {
        snprintf(err, err_len, "%s", rc == DSP_EINVAL
                                         ? "no randomness from the kernel: cannot make ids safely"
                                         : "out of memory");
        return rc;
    }
    if ((rc = svc_restore(s->core, err, err_len)) < 0 || (rc = load_tokens(s, err, err_len)) < 0)
        return rc;
    return 0;
}

int api_serve(const api_config *cfg)
{
    api_svc *s = calloc(1, sizeof(*s));
    uv_loop_t loop;
    char err[512], esc[1100], zone[600];
    int rc, status = 1, applied = 0, loop_up = 0;

    if (s == NULL)
        return 1;
    s->cfg = *cfg;
    s->started = (int64_t)time(NULL);
    api_log_set_level(cfg->log_level);
    /* An unknown zone would silently become UTC: refuse it. */
    snprintf(zone, sizeof(zone), "/usr/share/zoneinfo/%s", cfg->timezone);
    if (strcmp(cfg->timezone, "UTC") != 0 &&
        (strstr(cfg->timezone, "..") != NULL || access(zone, R_OK) != 0)) {
        api_log(API_LOG_ERROR, "unknown time zone (no tzdata entry)", "\"timezone\":\"%s\"",
                api_log_esc(cfg->timezone, esc, sizeof(esc)));
        free(s);
        return 2;
    }
    if (setenv("TZ", cfg->timezone, 1) != 0) {
        free(s);
        return 1;
    }
    tzset();
    if (cfg->database[0] == '\0') {
        api_log(API_LOG_ERROR, "no database given (--database or \"database\" in the config)",
                NULL);
        free(s);
        return 2;
    }
    if ((rc = load_area(s, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "cannot load the area", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out;
    }
    api_log(API_LOG_INFO, "area ready", "\"stops\":%d,\"name\":\"%s\"", s->area->n_stops,
            s->area->name ? s->area->name : "");
    if ((rc = db_migrate(cfg->database, &applied, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "migrations failed", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out;
    }
    api_log(API_LOG_INFO, "schema up to date", "\"applied\":%d", applied);
    if ((rc = start_service(s, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "cannot load state from the store", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out;
    }
    if (cfg->demo_tokens[0] && (rc = demo_tokens(s, err, sizeof(err))) < 0) {
        api_log(API_LOG_ERROR, "cannot make demo tokens", "\"error\":\"%s\"",
                api_log_esc(err, esc, sizeof(esc)));
        goto out;
    }
    /* Today's day exists from the start, so the fleet's plans are stored. */
    svc_day_today(s->core, 1);

    if ((rc = uv_loop_init(&loop)) < 0) {
        api_log(API_LOG_ERROR, "cannot start the event loop", "\"error\":\"%s\"",
                uv_strerror(rc));
        goto out;
    }
    loop_up = 1;
    s->loop = &loop;
    db_opts dbo = {.max_group_statements = 4000, .state_changed = on_db_state, .ud = s};
    if ((rc = db_create(&loop, cfg->database, &dbo, &s->db)) < 0) {
        api_log(API_LOG_ERROR, "cannot start the store connection", "\"error\":\"%s\"",
                db_strerror(rc));
        goto out_loop;
    }
    db_store_set_db(s->dbst, s->db);
    api_http_limits lim;
    api_http_limits_default(&lim);
    lim.max_body_bytes = (size_t)cfg->max_body_bytes;
    lim.max_connections_per_addr = cfg->max_connections_per_addr;
    if ((rc = api_http_server_create(&loop, &lim, api_routes_handle, s, &s->http)) < 0 ||
        (rc = api_http_listen(s->http, cfg->listen_host, cfg->listen_port, &s->port)) < 0) {
        api_log(API_LOG_ERROR, "cannot listen", "\"host\":\"%s\",\"port\":%d,\"error\":\"%s\"",
                cfg->listen_host, cfg->listen_port, api_http_strerror(rc));
        fprintf(stderr,
                "noriai serve: cannot listen on %s:%d: %s.\n"
                "  Another program (or another noriai) may be using that address. Choose another\n"
                "  with --listen HOST:PORT, \"listen\" in the config file, or NORIAI_LISTEN=HOST:PORT\n"
                "  for make run.\n",
                cfg->listen_host, cfg->listen_port, api_http_strerror(rc));
        goto out_loop;
    }
    if (api_driver_init(s) < 0) {
        api_log(API_LOG_ERROR, "cannot start the driver channel", NULL);
        goto out_loop;
    }
    uv_timer_init(&loop, &s->tick_timer);
    s->tick_timer.data = s;
    uv_timer_start(&s->tick_timer, on_tick, 1000, 1000);
    uv_timer_init(&loop, &s->replan_timer);
    s->replan_timer.data = s;
    if (cfg->replan_interval_s > 0)
        uv_timer_start(&s->replan_timer, on_replan, (uint64_t)cfg->replan_interval_s * 1000,
                       (uint64_t)cfg->replan_interval_s * 1000);
    uv_signal_init(&loop, &s->sig_term);
    uv_signal_init(&loop, &s->sig_int);
    s->sig_term.data = s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    {
        char today[11];
        svc_today(s->core, today);
        api_log(API_LOG_INFO, "listening",
                "\"url\":\"http://%s:%d/\",\"vehicles\":%d,\"service_date\":\"%s\"",
                cfg->listen_host, s->port, cfg->n_vehicles, today);
    }
    if (cfg->demo_tokens[0])
        banner(s);
    fflush(stderr);
    uv_run(&loop, UV_RUN_DEFAULT);
    status = 0;
out_loop:
    if (!s->stopping) {
        api_driver_close(s);
        if (s->http != NULL)
            api_http_server_close(s->http, closed_cb, NULL);
        if (s->db != NULL) {
            db_store_set_db(s->dbst, NULL);
            db_close(s->db, closed_cb, NULL);
        }
        uv_run(&loop, UV_RUN_DEFAULT);
    }
out:
    if (loop_up) {
        uv_walk(&loop, close_walk, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&loop) != 0)
            api_log(API_LOG_WARN, "loop closed with handles open", NULL);
    }
    for (size_t i = 0; i < s->tokens.cap; i++)
        if (svc_map_live(&s->tokens, i))
            free(s->tokens.slots[i].val);
    svc_map_cleanup(&s->tokens);
    svc_destroy(s->core);
    db_store_destroy(s->dbst);
    area_destroy(s->area);
    free(s);
    api_log(API_LOG_INFO, "stopped", NULL);
    return status;
}
