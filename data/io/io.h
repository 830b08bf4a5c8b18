/*
 * io.h - noriai's file edge: reading instances and solutions, writing
 * solutions.
 *
 * The solver knows requests, vehicles and locations only by index and stops
 * only by code (2*r pickup of request r, 2*r+1 its drop-off).  Files know them
 * by the ids their authors gave them: node numbers in the benchmark files,
 * strings or integers in noriai's own JSON format.  An io_instance holds the
 * solver instance together with the maps between the two, so that solutions
 * can be read and written in the ids of the file the instance came from.
 *
 * Formats read (docs/instance-format.md, docs/solution-format.md):
 *   - Cordeau DARP, both layouts (a/b sets of Cordeau 2006, pr set of Cordeau
 *     and Laporte 2003);
 *   - Li & Lim PDPTW;
 *   - noriai's JSON instance format;
 *   - solutions: noriai's JSON, the {"obj", "routes"} JSON of the DARP best
 *     known solutions, and SINTEF's "Route k : ids" text.
 *
 * Every function returns 0 or a negative IO_E* code; the ones that read
 * outside input also write a message for a person into err[0..err_len), of
 * the form "path:line: what is wrong" (JSON syntax: "path:line:column: ...";
 * JSON content: "path: requests[3].pickup.window: ...").  Bad input never
 * crashes and never makes the reader allocate more than the file's size
 * justifies.
 *
 * Ownership: an io_instance owns its slv_instance and every id string;
 * io_instance_destroy frees all of it.  Solutions returned are the caller's,
 * freed with slv_solution_destroy.
 */
#ifndef NORIAI_IO_H
#define NORIAI_IO_H

#include <stddef.h>
#include <stdio.h>

#include "solver/slv.h"

#define IO_ERRNO_MAP(X)                                                                            \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read file")                                                                \
    X(PARSE, -4, "malformed input")                                                                \
    X(MATCH, -5, "solution does not fit the instance")                                             \
    X(SOLVER, -6, "instance rejected by the solver")                                               \
    X(WRITE, -7, "cannot write file")

enum {
#define IO_ERR_ENUM(name, code, msg) IO_E##name = (code),
    IO_ERRNO_MAP(IO_ERR_ENUM)
#undef IO_ERR_ENUM
};

const char *io_strerror(int err);

typedef enum io_format {
    IO_FORMAT_AUTO = 0,
    IO_FORMAT_CORDEAU, /* Cordeau DARP, either layout */
    IO_FORMAT_LILIM,   /* Li & Lim PDPTW */
    IO_FORMAT_JSON     /* noriai's own JSON */
} io_format;

/* "cordeau", "lilim", "json" (and "auto") <-> io_format. */
int io_format_parse(const char *name, io_format *out);
const char *io_format_name(io_format fmt);

/*
 * An id as written in a file: its text, and whether it was a number (then it
 * is written back as a JSON number).  Ids compare by text, so the node 7 of a
 * benchmark file matches both 7 and "7" in a solution.
 */
typedef struct io_id {
    char *text;
    int numeric;
} io_id;

typedef struct io_instance {
    slv_instance *inst; /* finalized */
    io_format format;
    int layout; /* Cordeau: 2006 (a/b, 2n+2 nodes) or 2003 (pr, 2n+1); else 0 */
    char *name; /* file basename without extension, or the JSON "name" */
    char *path; /* as given to io_read_instance */
    int n_requests, n_vehicles, n_locs, n_dims;
    io_id *stop_id;    /* [2*n_requests] node id of each stop code */
    io_id *request_id; /* [n_requests] */
    io_id *vehicle_id; /* [n_vehicles] */
    io_id *loc_id;     /* [n_locs] */
    char **dim_name;   /* [n_dims] "seats", "wheelchairs", ...; "load" for benchmarks */
    int clock_times;   /* 1: times are seconds of a day, shown as HH:MM:SS */
    /* lookups, sorted by id text: */
    int *stop_order, *vehicle_order;
} io_instance;

/*
 * Reads path in the given format ("cordeau", "lilim", "json"; NULL or "auto"
 * to guess: a .json name is JSON, a first line of three fields is Li & Lim,
 * anything else Cordeau) and finalizes the solver instance.  *out receives a
 * new io_instance, or NULL on error.
 */
int io_read_instance(const char *path, const char *format, io_instance **out, char *err,
                     size_t err_len);
void io_instance_destroy(io_instance *in);

/* Stop code of node id text (>= 0), or IO_EMATCH when no request stop has it. */
int io_find_stop(const io_instance *in, const char *id);
/* Vehicle index of vehicle id text (>= 0), or IO_EMATCH. */
int io_find_vehicle(const io_instance *in, const char *id);

/*
 * Writes sol as noriai's solution JSON (docs/solution-format.md): instance
 * name, cost and distance as stored in sol (call slv_solution_evaluate
 * first), the number of vehicles used, one route of node ids per used
 * vehicle with depots left out, their vehicle ids, and the unassigned
 * requests' ids.
 */
int io_write_solution(const io_instance *in, const slv_solution *sol, FILE *f);
/* The same into a file (replaced); err as above. */
int io_save_solution(const io_instance *in, const slv_solution *sol, const char *path, char *err,
                     size_t err_len);

/*
 * Reads a solution for in from path: noriai's JSON, the DARP best-known JSON
 * ({"obj": X, "routes": [[...]]}) or SINTEF text ("Route k : ids"), told apart
 * by content.  Route i goes to vehicle i unless "vehicle_ids" says otherwise.
 * Checks that every id names a request stop, no stop appears twice, there
 * are no more routes than vehicles, and each request's pickup and drop-off
 * are in the same route (a rider already on board: only the drop-off);
 * order, times and loads are left to slv_check_solution.  Those mismatches
 * return IO_EMATCH, an unreadable file IO_EOPEN or IO_EPARSE.
 * claimed_cost (optional) receives the cost the file states, NaN if none.
 */
int io_read_solution(const io_instance *in, const char *path, slv_solution **out,
                     double *claimed_cost, char *err, size_t err_len);

#endif
