/*
 * cmd_token.c - `noriai token create|list|revoke`: access tokens written
 * straight into the store, for a real deployment's first admin token.
 *
 *   noriai token create --role ROLE --database CONNINFO [--label TEXT]
 *                       [--rider-id ID] [--vehicle-id ID]
 *   noriai token list --database CONNINFO
 *   noriai token revoke ID --database CONNINFO
 *
 * Why a command and not only the API: POST /v1/tokens needs an admin token
 * already, and the daemon's --demo-tokens makes one per role with a file of
 * them, which a real deployment does not want.  This command is the way in
 * without demo tokens; further tokens are best made through the API.
 *
 * The row is the same as the daemon writes (api/server/routes.c): a random
 * id "tk_" + 16 hex digits, the SHA-256 of the token in hex, the role and
 * the rider or vehicle it belongs to.  The token itself is "nt_" + 64 hex
 * digits from 32 bytes of uv_random() (the kernel's generator; there is no
 * fallback, a token must never come from anything weaker), printed once on
 * stdout and stored nowhere.  SHA-256 comes from data/area/sha256.h, the
 * one the daemon hashes presented tokens with, so the two always agree.
 *
 * The daemon reads the tokens table once, at start: a token made or
 * revoked here takes effect at the daemon's next start.  The API's
 * POST /v1/tokens and /v1/tokens/{id}/revoke act at once; the usage and
 * the messages say so, since a revocation that silently waits for a
 * restart would be a trap.
 *
 * Every subcommand applies the schema migrations first (as `serve` does),
 * so it works on a fresh database.  Each statement uses a short blocking
 * connection (db_exec_blocking): there is no event loop here.
 */
#include "api/cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "data/area/sha256.h"
#include "data/db/db.h"

/* Bounds as the API's POST /v1/tokens has them. */
#define TOKEN_MAX_LABEL 100
#define TOKEN_MAX_RIDER 39
#define TOKEN_MAX_VEHICLE 47

void cli_usage_token(FILE *f)
{
    fprintf(f, "usage: noriai token create --role ROLE --database CONNINFO [--label TEXT]\n"
               "                           [--rider-id ID] [--vehicle-id ID]\n"
               "       noriai token list --database CONNINFO\n"
               "       noriai token revoke ID --database CONNINFO\n"
               "\n"
               "Access tokens for the reservation API, written straight into the database:\n"
               "the way to a deployment's first admin token without --demo-tokens.\n"
               "\n"
               "  create   makes a token and prints it once (with its id); only its SHA-256\n"
               "           is stored.  ROLE is admin, operator, rider, driver or planner; a\n"
               "           rider token needs --rider-id, a driver token --vehicle-id.\n"
               "  list     id, role, rider or vehicle, created, revoked and label of every\n"
               "           token (never the token itself).\n"
               "  revoke   marks the token with that id revoked.\n"
               "\n"
               "  --database CONNINFO    libpq connection string or URL (as for noriai serve)\n"
               "  --label TEXT           a note for people (at most 100 bytes)\n"
               "\n"
               "A running daemon loads the tokens when it starts: a token created or revoked\n"
               "here takes effect at the daemon's next start.  The API acts at once:\n"
               "POST /v1/tokens and POST /v1/tokens/{id}/revoke (admin).\n");
}

typedef struct token_args {
    const char *database, *role, *label, *rider, *vehicle, *id;
} token_args;

enum { OPT_ROLE = 1, OPT_LABEL = 2, OPT_RIDER = 4, OPT_VEHICLE = 8, OPT_ID = 16 };

static int usage_err(const char *sub, const char *fmt, const char *arg)
{
    fprintf(stderr, "noriai token %s: ", sub);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    cli_usage_token(stderr);
    return CLI_EUSAGE;
}

/*
 * Reads the options of subcommand sub; allowed says which besides
 * --database (OPT_ID: one positional ID).  1 when help was asked for (usage
 * printed), 0, or CLI_EUSAGE with a message.
 */
static int parse_args(const char *sub, int argc, char **argv, unsigned allowed, token_args *a)
{
    const struct {
        const char *name;
        unsigned bit; /* 0: every subcommand takes it */
        const char **value;
    } opts[] = {
        {"--database", 0, &a->database},
        {"--role", OPT_ROLE, &a->role},
        {"--label", OPT_LABEL, &a->label},
        {"--rider-id", OPT_RIDER, &a->rider},
        {"--vehicle-id", OPT_VEHICLE, &a->vehicle},
    };
    int i = 1, rc;

    a->database = a->role = a->label = a->rider = a->vehicle = a->id = NULL;
    while (i < argc) {
        const char *arg = argv[i], *v = NULL;
        int matched = 0;
        if (cli_is_help(arg)) {
            cli_usage_token(stdout);
            return 1;
        }
        for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]) && !matched; k++) {
            if ((opts[k].bit != 0 && !(allowed & opts[k].bit)) ||
                (rc = cli_opt_value(argc, argv, &i, opts[k].name, &v)) == 0)
                continue;
            if (rc < 0)
                return CLI_EUSAGE;
            *opts[k].value = v;
            matched = 1;
        }
        if (matched)
            continue;
        if (arg[0] == '-')
            return usage_err(sub, "unknown option \"%s\"", arg);
        if (!(allowed & OPT_ID) || a->id != NULL)
            return usage_err(sub, "unexpected argument \"%s\"", arg);
        a->id = arg;
        i++;
    }
    if (a->database == NULL || a->database[0] == '\0')
        return usage_err(sub, "%s", "--database CONNINFO is required");
    if ((allowed & OPT_ID) && a->id == NULL)
        return usage_err(sub, "%s", "which token? give its id (noriai token list shows them)");
    return 0;
}

/* The schema, so that the tokens table exists on a fresh database. */
static int migrate(const char *sub, const char *database)
{
    char err[600];
    int applied = 0;

    if (db_migrate(database, &applied, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai token %s: %s\n", sub, err);
        return CLI_ESERVER;
    }
    return 0;
}

/* n_bytes (at most 32) from the kernel's generator as lowercase hex after
 * prefix; 0, or CLI_ESERVER with a message when no randomness is to be had. */
static int random_hex(const char *prefix, size_t n_bytes, char *out, size_t out_len)
{
    unsigned char raw[32];
    size_t k;
    int rc;

    if (n_bytes > sizeof(raw) || out_len < strlen(prefix) + 2 * n_bytes + 1)
        return CLI_EUSAGE;
    /* No loop and no callback: uv_random runs synchronously. */
    if ((rc = uv_random(NULL, NULL, raw, n_bytes, 0, NULL)) != 0) {
        fprintf(stderr, "noriai token: no random bytes from the system (%s)\n", uv_strerror(rc));
        return CLI_ESERVER;
    }
    k = (size_t)snprintf(out, out_len, "%s", prefix);
    for (size_t i = 0; i < n_bytes; i++)
        k += (size_t)snprintf(out + k, out_len - k, "%02x", raw[i]);
    memset(raw, 0, sizeof(raw));
    return 0;
}

static void row_count(void *ud, int n_cols, const char *const *values)
{
    (void)n_cols;
    (void)values;
    *(int *)ud += 1;
}

/* Whether the row `sql` looks for ($1 = key) exists: 1, 0, or CLI_ESERVER. */
static int row_exists(const char *sub, const char *database, const char *sql, const char *key)
{
    const char *p[1] = {key};
    char err[600];
    int n = 0;

    if (db_exec_blocking(database, sql, 1, p, row_count, &n, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai token %s: %s\n", sub, err);
        return CLI_ESERVER;
    }
    return n > 0;
}

static int token_create(int argc, char **argv)
{
    token_args a;
    char tok[80], tid[24], sha[65], err[600];
    int rc, is_rider, is_driver;

    rc = parse_args("create", argc, argv, OPT_ROLE | OPT_LABEL | OPT_RIDER | OPT_VEHICLE, &a);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    if (a.role == NULL)
        return usage_err("create", "%s", "--role is required");
    if (strcmp(a.role, "admin") != 0 && strcmp(a.role, "operator") != 0 &&
        strcmp(a.role, "rider") != 0 && strcmp(a.role, "driver") != 0 &&
        strcmp(a.role, "planner") != 0)
        return usage_err("create", "--role \"%s\": admin, operator, rider, driver or planner",
                         a.role);
    is_rider = strcmp(a.role, "rider") == 0;
    is_driver = strcmp(a.role, "driver") == 0;
    if (is_rider != (a.rider != NULL) || is_driver != (a.vehicle != NULL))
        return usage_err("create", "%s",
                         "a rider token needs --rider-id, a driver token --vehicle-id, "
                         "other roles neither");
    if (a.label != NULL && strlen(a.label) > TOKEN_MAX_LABEL)
        return usage_err("create", "%s", "--label is longer than 100 bytes");
    if ((a.rider != NULL && (a.rider[0] == '\0' || strlen(a.rider) > TOKEN_MAX_RIDER)) ||
        (a.vehicle != NULL && (a.vehicle[0] == '\0' || strlen(a.vehicle) > TOKEN_MAX_VEHICLE)))
        return usage_err("create", "%s", "--rider-id or --vehicle-id is empty or too long");
    if ((rc = migrate("create", a.database)) < 0)
        return rc;
    /* The references are checked here so that a typo is named plainly
     * instead of as a foreign-key violation. */
    if (a.rider != NULL) {
        rc = row_exists("create", a.database, "SELECT 1 FROM riders WHERE id = $1", a.rider);
        if (rc <= 0) {
            if (rc == 0)
                fprintf(stderr,
                        "noriai token create: no rider \"%s\" in the database (riders are "
                        "made with POST /v1/riders)\n",
                        a.rider);
            return rc < 0 ? rc : CLI_ENOTFOUND;
        }
    }
    if (a.vehicle != NULL) {
        rc = row_exists("create", a.database, "SELECT 1 FROM vehicles WHERE id = $1", a.vehicle);
        if (rc <= 0) {
            if (rc == 0)
                fprintf(stderr,
                        "noriai token create: no vehicle \"%s\" in the database (the daemon "
                        "writes its fleet there when it starts)\n",
                        a.vehicle);
            return rc < 0 ? rc : CLI_ENOTFOUND;
        }
    }
    /* A clash of random ids or hashes is next to impossible; a retry keeps
     * even that from reaching the user. */
    for (int attempt = 0; attempt < 3; attempt++) {
        const char *p[6];
        if ((rc = random_hex("nt_", 32, tok, sizeof(tok))) < 0 ||
            (rc = random_hex("tk_", 8, tid, sizeof(tid))) < 0)
            return rc;
        area_sha256_hex(tok, strlen(tok), sha);
        p[0] = tid;
        p[1] = sha;
        p[2] = a.role;
        p[3] = a.rider;
        p[4] = a.vehicle;
        p[5] = a.label != NULL ? a.label : "";
        rc = db_exec_blocking(a.database,
                              "INSERT INTO tokens (id, token_sha256, role, rider_id, vehicle_id, "
                              "label) VALUES ($1, $2, $3, $4, $5, $6)",
                              6, p, NULL, NULL, err, sizeof(err));
        if (rc != DB_ECONFLICT)
            break;
    }
    if (rc < 0) {
        fprintf(stderr, "noriai token create: %s\n", err);
        memset(tok, 0, sizeof(tok));
        return CLI_ESERVER;
    }
    printf("token  %s\nid     %s\nrole   %s\n", tok, tid, a.role);
    memset(tok, 0, sizeof(tok));
    fprintf(stderr,
            "noriai token create: keep the token now, it is not shown again (only its SHA-256 "
            "is stored).\nA running daemon accepts it after its next start.\n");
    return 0;
}

typedef struct list_ctx {
    int n;
} list_ctx;

/* A value as one line of the table: control characters (a label may hold
 * a newline or a tab) become '?', so each token stays one row. */
static void put_field(const char *v, int width)
{
    int n = 0;

    for (const char *c = v; *c; c++, n++)
        putchar((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c);
    for (; n < width; n++)
        putchar(' ');
}

static void list_header(void)
{
    printf("%-20s %-9s %-20s %-21s %-21s %s\n", "ID", "ROLE", "FOR", "CREATED", "REVOKED", "LABEL");
}

static void row_list(void *ud, int n_cols, const char *const *v)
{
    list_ctx *c = ud;

    if (n_cols < 6)
        return;
    if (c->n++ == 0)
        list_header();
    for (int i = 0; i < 5; i++) {
        static const int width[5] = {20, 9, 20, 21, 21};
        put_field(v[i] != NULL ? v[i] : "-", width[i]);
        putchar(' ');
    }
    put_field(v[5] != NULL ? v[5] : "", 0);
    putchar('\n');
}

static int token_list(int argc, char **argv)
{
    token_args a;
    list_ctx c = {0};
    char err[600];
    int rc;

    if ((rc = parse_args("list", argc, argv, 0, &a)) != 0)
        return rc > 0 ? 0 : rc;
    if ((rc = migrate("list", a.database)) < 0)
        return rc;
    rc = db_exec_blocking(
        a.database,
        "SELECT id, role, coalesce(rider_id, vehicle_id), "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), label "
        "FROM tokens ORDER BY created_at, id",
        0, NULL, row_list, &c, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "noriai token list: %s\n", err);
        return CLI_ESERVER;
    }
    if (c.n == 0)
        list_header();
    return 0;
}

static void row_first(void *ud, int n_cols, const char *const *v)
{
    char *out = ud;

    if (n_cols > 0 && out[0] == '\0')
        snprintf(out, 64, "%s", v[0] != NULL ? v[0] : "");
}

static int token_revoke(int argc, char **argv)
{
    token_args a;
    const char *p[1];
    char err[600], role[64] = "", when[64] = "";
    int rc;

    if ((rc = parse_args("revoke", argc, argv, OPT_ID, &a)) != 0)
        return rc > 0 ? 0 : rc;
    if ((rc = migrate("revoke", a.database)) < 0)
        return rc;
    p[0] = a.id;
    rc = db_exec_blocking(a.database,
                          "UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS "
                          "NULL RETURNING role",
                          1, p, row_first, role, err, sizeof(err));
    if (rc == 0 && role[0] == '\0')
        rc = db_exec_blocking(a.database,
                              "SELECT to_char(revoked_at AT TIME ZONE 'UTC', "
                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM tokens WHERE id = $1",
                              1, p, row_first, when, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "noriai token revoke: %s\n", err);
        return CLI_ESERVER;
    }
    if (role[0] != '\0') {
        printf("revoked %s (%s)\n", a.id, role);
    } else if (when[0] != '\0') {
        /* Asking twice gets the same state: not an error. */
        printf("%s was already revoked at %s\n", a.id, when);
        return 0;
    } else {
        fprintf(stderr, "noriai token revoke: no token \"%s\" (noriai token list shows them)\n",
                a.id);
        return CLI_ENOTFOUND;
    }
    fprintf(stderr,
            "noriai token revoke: a running daemon refuses it only after its next start; "
            "POST /v1/tokens/%s/revoke revokes at once.\n",
            a.id);
    return 0;
}

int cli_token(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (sub == NULL) {
        fprintf(stderr, "noriai token: which one: create, list or revoke?\n");
        cli_usage_token(stderr);
        return CLI_EUSAGE;
    }
    if (cli_is_help(sub) || strcmp(sub, "help") == 0) {
        cli_usage_token(stdout);
        return 0;
    }
    if (strcmp(sub, "create") == 0)
        return token_create(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return token_list(argc - 1, argv + 1);
    if (strcmp(sub, "revoke") == 0)
        return token_revoke(argc - 1, argv + 1);
    fprintf(stderr, "noriai token: unknown subcommand \"%s\"\n", sub);
    cli_usage_token(stderr);
    return CLI_EUSAGE;
}
