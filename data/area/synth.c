/*
 * synth.c - synthetic Japanese towns: a road graph, stops, points of
 * interest and residential zones from a seed and a size, so that everything
 * runs and demos with no downloaded data.
 *
 * The town is drawn in local metres around its centre, then placed in
 * JGD2011 plane rectangular CS IX (EPSG:6677) near (35.95 N, 139.60 E), a
 * plain in Saitama where such towns are common; latitudes and longitudes
 * come from PROJ (geo_inverse).  Steps, in the order the generator's random
 * numbers are drawn:
 *
 *  1. Street lines: north-south and east-west lines 150-250 m apart (random
 *     spacing); the line nearest each multiple of 1 km is an arterial (the
 *     ones through the centre are primary roads, 50 km/h; the others
 *     secondary, 40 km/h); local streets are residential at 30 km/h.
 *     Junctions get a few metres of jitter; a wobbly, roughly square outline
 *     cuts the grid so the town is not a square.
 *  2. One-way pairs: two neighbouring local streets near the centre run in
 *     opposite directions (25 km/h) over the central part of the town.
 *  3. Breaks: a river crosses the town (only arterials and one local street
 *     in six bridge it), a few large lots (school grounds, factories) have
 *     no streets inside, and 5 % of local blocks are missing.
 *  4. A ring road (town, city) and diagonal old roads (all sizes), split
 *     where they cross the grid so that crossings are junctions.
 *  5. Graph: every road segment is cut into pieces of at most 70 m, so
 *     stops and points snap to real road points; the drawing is rotated and
 *     gently warped, lengths are measured after that (times rounded up, so
 *     no edge is faster than its speed), and only the largest
 *     strongly connected component is kept (net_graph_keep_largest_scc).
 *  6. Stops: a depot near the edge of town on an arterial, then stops spread
 *     by a greedy minimum-distance rule (the spacing shrinks until there are
 *     enough); all on road nodes (snap 0).  Districts (a D x D grid of place
 *     names) give stops names such as 栄町二丁目 / Sakaemachi 2-chome.
 *  7. Points of interest: station(s), city hall, one general hospital,
 *     clinics, supermarkets, community halls, pharmacies, day-care centres,
 *     post office, library; each 20-35 m off a road node, with the nearest
 *     stop.  The stop nearest the station, city hall and hospital takes
 *     their name (駅前, 市役所前, 病院前).
 *  8. Residential zones: one per district inside the outline, population
 *     falling with the distance from the centre, plus housing estates (団地).
 *  9. Matrix between all stops (net_matrix).
 *
 * Determinism: one xoshiro256** generator seeded with splitmix64 from the
 * seed, drawn in a fixed order; no clock, no rand(), no hash-order
 * iteration.  The same (seed, size) gives the same area and, written with
 * area_save, the same bytes (on one platform: the geometry goes through
 * libm's sin/cos/exp and PROJ, whose last bits may differ elsewhere).
 *
 * Cost: a city (10 x 10 km, about 15,000 nodes, 500 stops) takes well under
 * a second, most of it the 500 x 500 matrix.
 */
#include "data/area/area.h"
#include "data/geo/geo.h"
#include "solver/rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNTH_EPSG 6677
/* Town centre in EPSG:6677 (easting, northing), about 35.95 N, 139.60 E. */
#define CENTRE_X (-21000.0)
#define CENTRE_Y (-5500.0)
#define PIECE_M 70.0   /* longest edge after subdivision */
#define SNAP_END_M 3.0 /* a crossing this close to a segment end uses the end */
#define WARP_M 25.0    /* amplitude of the gentle warp */
#define WARP_WAVE_M 700.0
#define PI 3.14159265358979323846

/* ---------------------------------------------------------------------- */
/* random numbers: the shared xoshiro256** (solver/rng.h)                 */

static void shuffle(slv_rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = slv_rng_scaled(r, i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ---------------------------------------------------------------------- */
/* sizes and names                                                         */

typedef struct synth_spec {
    const char *name;
    double side_m;
    int n_stops;   /* depot included */
    int districts; /* per side */
    int oneway_pairs, ring, diagonals, lots, estates;
    int stations, clinics, supermarkets, halls, pharmacies, daycare, post_offices;
} synth_spec;

static const synth_spec specs[] = {
    {"small", 3000, 50, 3, 1, 0, 1, 2, 1, 1, 3, 2, 2, 1, 1, 1},
    {"town", 5000, 150, 4, 2, 1, 1, 3, 2, 1, 6, 4, 3, 3, 2, 1},
    {"city", 10000, 500, 6, 4, 1, 2, 6, 4, 2, 15, 10, 6, 6, 5, 3},
};

typedef struct place {
    const char *ja, *en;
} place;

static const place town_names[] = {
    {"桜川", "Sakuragawa"}, {"緑野", "Midorino"}, {"高原", "Takahara"}, {"青葉", "Aoba"},
    {"朝日野", "Asahino"},  {"松岡", "Matsuoka"}, {"川北", "Kawakita"}, {"美里", "Misato"},
    {"小泉", "Koizumi"},    {"山吹", "Yamabuki"},
};

#define CENTRE_DISTRICT 0 /* index of 本町 in district_names */
static const place district_names[] = {
    {"本町", "Honmachi"},       {"栄町", "Sakaemachi"},     {"緑町", "Midoricho"},
    {"旭町", "Asahicho"},       {"幸町", "Saiwaicho"},      {"東町", "Higashimachi"},
    {"西町", "Nishimachi"},     {"南町", "Minamimachi"},    {"北町", "Kitamachi"},
    {"若葉", "Wakaba"},         {"桜台", "Sakuradai"},      {"富士見", "Fujimi"},
    {"松原", "Matsubara"},      {"青葉台", "Aobadai"},      {"柳町", "Yanagimachi"},
    {"宮前", "Miyamae"},        {"新田", "Shinden"},        {"元町", "Motomachi"},
    {"寿町", "Kotobukicho"},    {"昭和町", "Showacho"},     {"日の出町", "Hinodecho"},
    {"泉町", "Izumicho"},       {"高砂", "Takasago"},       {"清水", "Shimizu"},
    {"八幡", "Yawata"},         {"稲荷町", "Inaricho"},     {"城山", "Shiroyama"},
    {"朝日が丘", "Asahigaoka"}, {"春日", "Kasuga"},         {"平和町", "Heiwacho"},
    {"末広町", "Suehirocho"},   {"宝町", "Takaracho"},      {"梅が丘", "Umegaoka"},
    {"桜木町", "Sakuragicho"},  {"若松町", "Wakamatsucho"}, {"川端", "Kawabata"},
    {"橋本", "Hashimoto"},      {"大原", "Ohara"},          {"中野", "Nakano"},
    {"上町", "Kamimachi"},
};
#define N_DISTRICT_NAMES ((int)(sizeof(district_names) / sizeof(district_names[0])))

/* Stop names inside a district, in order: <district><suffix>. */
static const place stop_suffixes[] = {
    {"一丁目", " 1-chome"},
    {"二丁目", " 2-chome"},
    {"三丁目", " 3-chome"},
    {"四丁目", " 4-chome"},
    {"五丁目", " 5-chome"},
    {"北", " North"},
    {"南", " South"},
    {"東", " East"},
    {"西", " West"},
    {"中央", " Central"},
    {"六丁目", " 6-chome"},
    {"七丁目", " 7-chome"},
    {"入口", " Entrance"},
    {"公園前", " Park"},
    {"八丁目", " 8-chome"},
    {"九丁目", " 9-chome"},
    {"小学校前", " Elementary School"},
    {"神社前", " Shrine"},
    {"会館前", " Hall"},
    {"住宅前", " Housing"},
    {"中学校前", " Junior High School"},
    {"橋", " Bridge"},
    {"坂上", " Hilltop"},
    {"坂下", " Hill Foot"},
};
#define N_STOP_SUFFIXES ((int)(sizeof(stop_suffixes) / sizeof(stop_suffixes[0])))

static const place clinic_names[] = {
    {"佐藤医院", "Sato Clinic"},
    {"鈴木内科クリニック", "Suzuki Internal Medicine Clinic"},
    {"高橋整形外科", "Takahashi Orthopaedic Clinic"},
    {"田中眼科", "Tanaka Eye Clinic"},
    {"伊藤クリニック", "Ito Clinic"},
    {"渡辺内科医院", "Watanabe Internal Medicine"},
    {"山本小児科", "Yamamoto Paediatric Clinic"},
    {"中村医院", "Nakamura Clinic"},
    {"小林皮膚科", "Kobayashi Dermatology"},
    {"加藤耳鼻咽喉科", "Kato ENT Clinic"},
    {"吉田クリニック", "Yoshida Clinic"},
    {"山田医院", "Yamada Clinic"},
    {"佐々木内科", "Sasaki Internal Medicine"},
    {"松本整形外科", "Matsumoto Orthopaedic Clinic"},
    {"井上眼科", "Inoue Eye Clinic"},
    {"木村医院", "Kimura Clinic"},
    {"林クリニック", "Hayashi Clinic"},
    {"清水内科", "Shimizu Internal Medicine"},
};
#define N_CLINIC_NAMES ((int)(sizeof(clinic_names) / sizeof(clinic_names[0])))

static const place market_chains[] = {
    {"ふれあいマート", "Fureai Mart"},
    {"さくらストア", "Sakura Store"},
    {"みどり屋", "Midoriya"},
    {"生鮮館", "Seisenkan"},
};

/* ---------------------------------------------------------------------- */
/* the drawing: points and road segments in local metres                   */

typedef struct pt {
    double x, y;
} pt;

enum { LINE_LOCAL = 0, LINE_ARTERIAL = 1, LINE_MAIN = 2 };

typedef struct seg {
    int32_t a, b; /* point indices */
    uint8_t cls;  /* net_class */
    uint8_t kmh;
    int8_t oneway; /* 0 both ways, +1 only a -> b, -1 only b -> a */
    uint8_t alive;
    int16_t road; /* -1 grid; else the ring/diagonal that drew it */
} seg;

typedef struct town {
    slv_rng r;
    const synth_spec *sp;
    double half; /* side / 2 */
    pt *pts;
    int n_pts, cap_pts;
    seg *segs;
    int n_segs, cap_segs;
    /* outline: r(theta) = half * (1 + b1 sin(2 theta + p1) + b2 sin(3 theta + p2)) */
    double b1, p1, b2, p2;
    /* river: perpendicular offset off + amp sin(along / wave + phase) */
    int river_ns; /* runs north-south (x = f(y)) */
    double river_off, river_amp, river_wave, river_phase;
    /* placement */
    double rot, warp_p1, warp_p2;
} town;

static int add_pt(town *t, double x, double y)
{
    if (t->n_pts == t->cap_pts) {
        int cap = t->cap_pts ? 2 * t->cap_pts : 1024;
        pt *p = realloc(t->pts, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return -1;
        t->pts = p;
        t->cap_pts = cap;
    }
    t->pts[t->n_pts].x = x;
    t->pts[t->n_pts].y = y;
    return t->n_pts++;
}

static int add_seg(town *t, int a, int b, const seg *attr)
{
    if (t->n_segs == t->cap_segs) {
        int cap = t->cap_segs ? 2 * t->cap_segs : 1024;
        seg *s = realloc(t->segs, (size_t)cap * sizeof(*s));
        if (s == NULL)
            return -1;
        t->segs = s;
        t->cap_segs = cap;
    }
    t->segs[t->n_segs] = *attr;
    t->segs[t->n_segs].a = a;
    t->segs[t->n_segs].b = b;
    t->segs[t->n_segs].alive = 1;
    t->n_segs++;
    return 0;
}

static double outline_r(const town *t, double x, double y)
{
    double th = atan2(y, x);

    return t->half * (1 + t->b1 * sin(2 * th + t->p1) + t->b2 * sin(3 * th + t->p2));
}

/* Inside the outline: a superellipse (exponent 4, squarish) of radius r(theta). */
static int inside(const town *t, double x, double y)
{
    double r = outline_r(t, x, y), u = x / r, v = y / r;

    return u * u * u * u + v * v * v * v <= 1.0;
}

/* Signed side of the river. */
static double river_side(const town *t, double x, double y)
{
    if (t->river_ns)
        return x - (t->river_off + t->river_amp * sin(y / t->river_wave + t->river_phase));
    return y - (t->river_off + t->river_amp * sin(x / t->river_wave + t->river_phase));
}

/* Local metres -> EPSG:6677 easting/northing: warp, rotate, move. */
static void place_xy(const town *t, double lx, double ly, double *x, double *y)
{
    double wx = lx + WARP_M * sin(ly / WARP_WAVE_M + t->warp_p1);
    double wy = ly + WARP_M * sin(lx / WARP_WAVE_M + t->warp_p2);
    double c = cos(t->rot), s = sin(t->rot);

    *x = CENTRE_X + c * wx - s * wy;
    *y = CENTRE_Y + s * wx + c * wy;
}

/* Line coordinates from -half to +half, 150-250 m apart; kind[] marks the
 * arterials (nearest line to each multiple of 1 km; the one nearest 0 is main). */
static int street_lines(town *t, double **pos, uint8_t **kind, int *n)
{
    int cap = (int)(2 * t->half / 150) + 4, k = 0;
    double *p = malloc((size_t)cap * sizeof(*p));
    uint8_t *kd = calloc((size_t)cap, 1);

    if (p == NULL || kd == NULL) {
        free(p);
        free(kd);
        return -1;
    }
    for (double c = -t->half; c <= t->half && k < cap; c += slv_rng_range(&t->r, 150, 250))
        p[k++] = c;
    for (int m = -(int)(t->half / 1000); m <= (int)(t->half / 1000); m++) {
        int best = 0;
        for (int i = 1; i < k; i++)
            if (fabs(p[i] - 1000.0 * m) < fabs(p[best] - 1000.0 * m))
                best = i;
        kd[best] = m == 0 ? LINE_MAIN : LINE_ARTERIAL;
    }
    *pos = p;
    *kind = kd;
    *n = k;
    return 0;
}

static void line_attr(seg *s, int kind, int oneway)
{
    memset(s, 0, sizeof(*s));
    s->road = -1;
    if (kind == LINE_MAIN) {
        s->cls = NET_PRIMARY;
        s->kmh = 50;
    } else if (kind == LINE_ARTERIAL) {
        s->cls = NET_SECONDARY;
        s->kmh = 40;
    } else {
        s->cls = NET_RESIDENTIAL;
        s->kmh = oneway ? 25 : 30;
        s->oneway = (int8_t)oneway;
    }
}

/* Picks one-way pairs: neighbouring local lines i, i+1 near the centre. */
static void pick_oneway(town *t, const double *pos, const uint8_t *kind, int n, int8_t *ow)
{
    int cand[256], nc = 0;

    for (int i = 0; i + 1 < n && nc < 256; i++)
        if (kind[i] == LINE_LOCAL && kind[i + 1] == LINE_LOCAL && ow[i] == 0 && ow[i + 1] == 0 &&
            fabs(pos[i]) < 0.3 * t->half && (i == 0 || ow[i - 1] == 0) &&
            (i + 2 >= n || ow[i + 2] == 0))
            cand[nc++] = i;
    if (nc == 0)
        return;
    int i = cand[slv_rng_scaled(&t->r, nc)];
    ow[i] = 1;
    ow[i + 1] = -1;
}

static int build_grid(town *t)
{
    double *xs = NULL, *ys = NULL;
    uint8_t *kx = NULL, *ky = NULL;
    int8_t *owx = NULL, *owy = NULL;
    int nx = 0, ny = 0, rc = -1;
    int32_t *junction = NULL;
    seg attr;

    if (street_lines(t, &xs, &kx, &nx) < 0 || street_lines(t, &ys, &ky, &ny) < 0)
        goto out;
    owx = calloc((size_t)nx, 1);
    owy = calloc((size_t)ny, 1);
    junction = malloc((size_t)nx * (size_t)ny * sizeof(*junction));
    if (owx == NULL || owy == NULL || junction == NULL)
        goto out;
    for (int p = 0; p < t->sp->oneway_pairs; p++) {
        if (p % 2 == 0)
            pick_oneway(t, xs, kx, nx, owx);
        else
            pick_oneway(t, ys, ky, ny, owy);
    }
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++) {
            double jx = kx[i] ? slv_rng_range(&t->r, -3, 3) : slv_rng_range(&t->r, -12, 12);
            double jy = ky[j] ? slv_rng_range(&t->r, -3, 3) : slv_rng_range(&t->r, -12, 12);
            double x = xs[i] + jx, y = ys[j] + jy;
            junction[i * ny + j] = -1;
            if (inside(t, x, y) && (junction[i * ny + j] = add_pt(t, x, y)) < 0)
                goto out;
        }
    /* North-south streets (x = xs[i]) then east-west ones; one-way only over
     * the central part of the line. */
    for (int i = 0; i < nx; i++)
        for (int j = 0; j + 1 < ny; j++) {
            int a = junction[i * ny + j], b = junction[i * ny + j + 1];
            if (a < 0 || b < 0)
                continue;
            line_attr(&attr, kx[i], fabs(ys[j]) < 0.35 * t->half ? owx[i] : 0);
            if (add_seg(t, a, b, &attr) < 0)
                goto out;
        }
    for (int j = 0; j < ny; j++)
        for (int i = 0; i + 1 < nx; i++) {
            int a = junction[i * ny + j], b = junction[(i + 1) * ny + j];
            if (a < 0 || b < 0)
                continue;
            line_attr(&attr, ky[j], fabs(xs[i]) < 0.35 * t->half ? owy[j] : 0);
            if (add_seg(t, a, b, &attr) < 0)
                goto out;
        }
    rc = 0;
out:
    free(xs);
    free(ys);
    free(kx);
    free(ky);
    free(owx);
    free(owy);
    free(junction);
    return rc;
}

/* River, large lots, missing blocks: local streets only. */
static void remove_streets(town *t)
{
    double lot[8][4];
    int n_lots = t->sp->lots;

    for (int k = 0; k < n_lots; k++) {
        double cx = slv_rng_range(&t->r, -0.6, 0.6) * t->half;
        double cy = slv_rng_range(&t->r, -0.6, 0.6) * t->half;
        double w = slv_rng_range(&t->r, 180, 320), h = slv_rng_range(&t->r, 180, 320);
        lot[k][0] = cx - w, lot[k][1] = cy - h, lot[k][2] = cx + w, lot[k][3] = cy + h;
    }
    for (int s = 0; s < t->n_segs; s++) {
        seg *g = &t->segs[s];
        pt a = t->pts[g->a], b = t->pts[g->b];
        double mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
        double u = slv_rng_uniform(&t->r), v = slv_rng_uniform(&t->r);
        if (g->cls != NET_RESIDENTIAL)
            continue;
        if (river_side(t, a.x, a.y) * river_side(t, b.x, b.y) < 0 && u >= 1.0 / 6)
            g->alive = 0;
        for (int k = 0; k < n_lots; k++)
            if (mx > lot[k][0] && mx < lot[k][2] && my > lot[k][1] && my < lot[k][3])
                g->alive = 0;
        if (g->oneway == 0 && v < 0.05)
            g->alive = 0;
    }
}

typedef struct crossing {
    double t, u;
    int seg;
} crossing;

static int cmp_crossing(const void *a, const void *b)
{
    const crossing *p = a, *q = b;

    if (p->t != q->t)
        return p->t < q->t ? -1 : 1;
    return p->seg - q->seg;
}

static double cross2(double ax, double ay, double bx, double by)
{
    return ax * by - ay * bx;
}

/* Draws the chord from point pa to point pb as road `road`, splitting every
 * live segment of another road it crosses. */
static int add_chord(town *t, int pa, int pb, const seg *attr)
{
    crossing *cr = NULL;
    int n_cr = 0, cap = 0, prev = pa, rc = -1;
    pt p = t->pts[pa], q = t->pts[pb];
    double dx = q.x - p.x, dy = q.y - p.y;

    for (int s = 0; s < t->n_segs; s++) {
        seg *g = &t->segs[s];
        if (!g->alive || g->road == attr->road)
            continue;
        pt a = t->pts[g->a], b = t->pts[g->b];
        double ex = b.x - a.x, ey = b.y - a.y, d = cross2(dx, dy, ex, ey);
        if (fabs(d) < 1e-9)
            continue;
        double tt = cross2(a.x - p.x, a.y - p.y, ex, ey) / d;
        double uu = cross2(a.x - p.x, a.y - p.y, dx, dy) / d;
        if (tt <= 0 || tt >= 1 || uu < 0 || uu > 1)
            continue;
        if (n_cr == cap) {
            int ncap = cap ? 2 * cap : 32;
            crossing *c = realloc(cr, (size_t)ncap * sizeof(*c));
            if (c == NULL)
                goto out;
            cr = c;
            cap = ncap;
        }
        cr[n_cr].t = tt;
        cr[n_cr].u = uu;
        cr[n_cr].seg = s;
        n_cr++;
    }
    if (n_cr > 1)
        qsort(cr, (size_t)n_cr, sizeof(*cr), cmp_crossing);
    for (int k = 0; k < n_cr; k++) {
        seg g = t->segs[cr[k].seg];
        pt a = t->pts[g.a], b = t->pts[g.b];
        double len = hypot(b.x - a.x, b.y - a.y);
        int at;
        if (cr[k].u * len < SNAP_END_M) {
            at = g.a;
        } else if ((1 - cr[k].u) * len < SNAP_END_M) {
            at = g.b;
        } else {
            at = add_pt(t, a.x + cr[k].u * (b.x - a.x), a.y + cr[k].u * (b.y - a.y));
            if (at < 0)
                goto out;
            t->segs[cr[k].seg].alive = 0;
            if (add_seg(t, g.a, at, &g) < 0 || add_seg(t, at, g.b, &g) < 0)
                goto out;
        }
        if (at != prev && add_seg(t, prev, at, attr) < 0)
            goto out;
        prev = at;
    }
    if (prev != pb && add_seg(t, prev, pb, attr) < 0)
        goto out;
    rc = 0;
out:
    free(cr);
    return rc;
}

static int add_ring(town *t, int road)
{
    const int n = 72;
    double r0 = 0.55 * t->half, ph = slv_rng_range(&t->r, 0, 2 * PI);
    int first = -1, prev = -1;
    seg attr;

    memset(&attr, 0, sizeof(attr));
    attr.cls = NET_PRIMARY;
    attr.kmh = 50;
    attr.road = (int16_t)road;
    for (int k = 0; k <= n; k++) {
        int cur;
        if (k == n) {
            cur = first;
        } else {
            double th = 2 * PI * k / n, r = r0 * (1 + 0.06 * sin(3 * th + ph));
            if ((cur = add_pt(t, r * cos(th), r * sin(th))) < 0)
                return -1;
        }
        if (k == 0)
            first = cur;
        else if (add_chord(t, prev, cur, &attr) < 0)
            return -1;
        prev = cur;
    }
    return 0;
}

static int add_diagonal(town *t, int road)
{
    double cx = slv_rng_range(&t->r, -0.15, 0.15) * t->half;
    double cy = slv_rng_range(&t->r, -0.15, 0.15) * t->half;
    double th = slv_rng_range(&t->r, 25, 65) * PI / 180, ux, uy, end[2];
    int pa, pb;
    seg attr;

    if (slv_rng_uniform(&t->r) < 0.5)
        th += PI / 2;
    ux = cos(th);
    uy = sin(th);

    for (int side = 0; side < 2; side++) {
        double sgn = side ? -1 : 1, d = 0;
        while (d < 2 * t->half && inside(t, cx + sgn * (d + 20) * ux, cy + sgn * (d + 20) * uy))
            d += 20;
        end[side] = sgn * (d > 40 ? d - 20 : d);
    }
    memset(&attr, 0, sizeof(attr));
    attr.cls = NET_TERTIARY;
    attr.kmh = 40;
    attr.road = (int16_t)road;
    if ((pa = add_pt(t, cx + end[1] * ux, cy + end[1] * uy)) < 0 ||
        (pb = add_pt(t, cx + end[0] * ux, cy + end[0] * uy)) < 0)
        return -1;
    return add_chord(t, pa, pb, &attr);
}

/* ---------------------------------------------------------------------- */
/* the graph                                                               */

typedef struct edge {
    int32_t tail, head;
    uint32_t len_mm, time_ms;
    uint8_t cls;
} edge;

static int cmp_edge(const void *a, const void *b)
{
    const edge *p = a, *q = b;

    if (p->tail != q->tail)
        return p->tail < q->tail ? -1 : 1;
    if (p->head != q->head)
        return p->head < q->head ? -1 : 1;
    return (p->time_ms > q->time_ms) - (p->time_ms < q->time_ms);
}

typedef struct gbuild {
    double *lx, *ly; /* local coordinates per node */
    int32_t n, cap;
    edge *e;
    int32_t m, cap_e;
} gbuild;

static int32_t gb_node(gbuild *b, double x, double y)
{
    if (b->n == b->cap) {
        int32_t cap = b->cap ? 2 * b->cap : 4096;
        double *nx = realloc(b->lx, (size_t)cap * sizeof(*nx));
        if (nx == NULL)
            return -1;
        b->lx = nx;
        double *ny = realloc(b->ly, (size_t)cap * sizeof(*ny));
        if (ny == NULL)
            return -1;
        b->ly = ny;
        b->cap = cap;
    }
    b->lx[b->n] = x;
    b->ly[b->n] = y;
    return b->n++;
}

static int gb_edge(gbuild *b, int32_t u, int32_t v, const seg *s)
{
    if (b->m == b->cap_e) {
        int32_t cap = b->cap_e ? 2 * b->cap_e : 8192;
        edge *e = realloc(b->e, (size_t)cap * sizeof(*e));
        if (e == NULL)
            return -1;
        b->e = e;
        b->cap_e = cap;
    }
    b->e[b->m].tail = u;
    b->e[b->m].head = v;
    b->e[b->m].cls = s->cls;
    b->e[b->m].len_mm = 0; /* measured once nodes are placed */
    b->e[b->m].time_ms = s->kmh;
    b->m++;
    return 0;
}

/* Nodes for every live segment's end points and its pieces; edges per the
 * segment's direction. */
static int trace_graph(const town *t, gbuild *b)
{
    int32_t *node_of = malloc((size_t)t->n_pts * sizeof(*node_of));
    int rc = -1;

    if (node_of == NULL)
        return -1;
    for (int i = 0; i < t->n_pts; i++)
        node_of[i] = -1;
    for (int s = 0; s < t->n_segs; s++) {
        const seg *g = &t->segs[s];
        if (!g->alive)
            continue;
        pt a = t->pts[g->a], p = t->pts[g->b];
        int pieces = (int)ceil(hypot(p.x - a.x, p.y - a.y) / PIECE_M);
        int32_t prev;
        if (pieces < 1)
            pieces = 1;
        if (node_of[g->a] < 0 && (node_of[g->a] = gb_node(b, a.x, a.y)) < 0)
            goto out;
        if (node_of[g->b] < 0 && (node_of[g->b] = gb_node(b, p.x, p.y)) < 0)
            goto out;
        prev = node_of[g->a];
        for (int k = 1; k <= pieces; k++) {
            int32_t cur = node_of[g->b];
            if (k < pieces) {
                double f = (double)k / pieces;
                cur = gb_node(b, a.x + f * (p.x - a.x), a.y + f * (p.y - a.y));
                if (cur < 0)
                    goto out;
            }
            if (g->oneway >= 0 && gb_edge(b, prev, cur, g) < 0)
                goto out;
            if (g->oneway <= 0 && gb_edge(b, cur, prev, g) < 0)
                goto out;
            prev = cur;
        }
    }
    rc = 0;
out:
    free(node_of);
    return rc;
}

static int make_graph(const town *t, geo_proj *geo, net_graph **out, char *err, size_t err_len)
{
    gbuild b;
    net_graph *g = NULL;
    int rc = AREA_ENOMEM;

    memset(&b, 0, sizeof(b));
    if (trace_graph(t, &b) < 0)
        goto out;
    if (net_graph_create(b.n, b.m, &g) < 0)
        goto out;
    g->epsg = SYNTH_EPSG;
    for (int32_t v = 0; v < b.n; v++) {
        place_xy(t, b.lx[v], b.ly[v], &g->x[v], &g->y[v]);
        g->osm_id[v] = v + 1;
        if (geo_inverse(geo, g->x[v], g->y[v], &g->lat[v], &g->lon[v]) < 0) {
            rc = AREA_EGEO;
            snprintf(err, err_len, "synthetic town: EPSG:%d to WGS84 failed at (%.1f, %.1f)",
                     SYNTH_EPSG, g->x[v], g->y[v]);
            goto out;
        }
    }
    /* Lengths after placement; the kmh stored in time_ms becomes a time,
     * rounded up so that no edge is faster than its speed (1 ms at least). */
    g->max_speed_mps = 0;
    for (int32_t k = 0; k < b.m; k++) {
        edge *e = &b.e[k];
        double len_m = hypot(g->x[e->head] - g->x[e->tail], g->y[e->head] - g->y[e->tail]);
        uint64_t kmh = e->time_ms, len_mm = (uint64_t)llround(len_m * 1000);
        e->len_mm = (uint32_t)len_mm;
        e->time_ms = (uint32_t)((len_mm * 36 + kmh * 10 - 1) / (kmh * 10));
        if (e->time_ms < 1)
            e->time_ms = 1;
        if ((double)kmh / 3.6 > g->max_speed_mps)
            g->max_speed_mps = (double)kmh / 3.6;
    }
    qsort(b.e, (size_t)b.m, sizeof(*b.e), cmp_edge);
    for (int32_t k = 0; k < b.m; k++) {
        const edge *e = &b.e[k];
        g->first_out[e->tail + 1]++;
        g->head[k] = e->head;
        g->len_mm[k] = e->len_mm;
        g->time_ms[k] = e->time_ms;
        g->cls[k] = e->cls;
    }
    for (int32_t v = 0; v < b.n; v++)
        g->first_out[v + 1] += g->first_out[v];
    if (net_graph_check(g, err, err_len) < 0) {
        rc = AREA_ENET;
        goto out;
    }
    rc = net_graph_keep_largest_scc(&g);
    if (rc < 0) {
        snprintf(err, err_len, "synthetic town: keeping the largest component: %s",
                 net_strerror(rc));
        rc = rc == NET_ENOMEM ? AREA_ENOMEM : AREA_ENET;
        goto out;
    }
    *out = g;
    g = NULL;
    rc = 0;
out:
    if (rc == AREA_ENOMEM)
        snprintf(err, err_len, "synthetic town: out of memory");
    net_graph_destroy(g);
    free(b.lx);
    free(b.ly);
    free(b.e);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* stops, points of interest, zones                                        */

typedef struct synth {
    town t;
    const synth_spec *sp;
    net_graph *g;
    geo_proj *geo;
    double *lx, *ly; /* local coordinates of graph nodes */
    uint8_t *major;  /* node on a road above residential */
    int n_dist;      /* districts per side */
    int *dist_name;  /* district -> district_names index */
    const place *town_name;
    area *a;
    char *err;
    size_t err_len;
} synth;

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_dup(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return xstrdup(buf);
}

static int district_of(const synth *s, double lx, double ly)
{
    double cell = 2 * s->t.half / s->n_dist;
    int col = (int)floor((lx + s->t.half) / cell), row = (int)floor((s->t.half - ly) / cell);

    col = col < 0 ? 0 : col >= s->n_dist ? s->n_dist - 1 : col;
    row = row < 0 ? 0 : row >= s->n_dist ? s->n_dist - 1 : row;
    return row * s->n_dist + col;
}

static void district_centre(const synth *s, int d, double *lx, double *ly)
{
    double cell = 2 * s->t.half / s->n_dist;

    *lx = -s->t.half + (d % s->n_dist + 0.5) * cell;
    *ly = s->t.half - (d / s->n_dist + 0.5) * cell;
}

static int name_districts(synth *s)
{
    int nd = s->n_dist * s->n_dist, centre = district_of(s, 1, 1);
    int pool[N_DISTRICT_NAMES], k = 0;

    s->dist_name = malloc((size_t)nd * sizeof(int));
    if (s->dist_name == NULL)
        return AREA_ENOMEM;
    for (int i = 0; i < N_DISTRICT_NAMES; i++)
        if (i != CENTRE_DISTRICT)
            pool[k++] = i;
    shuffle(&s->t.r, pool, k);
    for (int d = 0, next = 0; d < nd; d++)
        s->dist_name[d] = d == centre ? CENTRE_DISTRICT : pool[next++ % k];
    return 0;
}

/* Node nearest to local point (lx, ly); major_only: on a road above residential. */
static int32_t nearest_node(const synth *s, double lx, double ly, int major_only)
{
    int32_t best = -1;
    double bd = 0;

    for (int32_t v = 0; v < s->g->n_nodes; v++) {
        double d = (s->lx[v] - lx) * (s->lx[v] - lx) + (s->ly[v] - ly) * (s->ly[v] - ly);
        if (major_only && !s->major[v])
            continue;
        if (best < 0 || d < bd) {
            best = v;
            bd = d;
        }
    }
    return best < 0 && major_only ? nearest_node(s, lx, ly, 0) : best;
}

static int node_locals(synth *s)
{
    const net_graph *g = s->g;

    s->lx = malloc((size_t)g->n_nodes * sizeof(double));
    s->ly = malloc((size_t)g->n_nodes * sizeof(double));
    s->major = calloc((size_t)g->n_nodes, 1);
    if (s->lx == NULL || s->ly == NULL || s->major == NULL)
        return AREA_ENOMEM;
    /* Local positions are recovered from the placed ones by undoing the
     * rotation; the warp (25 m) is left in, which districts and the targets
     * of points of interest do not notice. */
    for (int32_t v = 0; v < g->n_nodes; v++) {
        double dx = g->x[v] - CENTRE_X, dy = g->y[v] - CENTRE_Y;
        double c = cos(s->t.rot), sn = sin(s->t.rot);
        s->lx[v] = c * dx + sn * dy;
        s->ly[v] = -sn * dx + c * dy;
        for (int32_t e = g->first_out[v]; e < g->first_out[v + 1]; e++)
            if (g->cls[e] < NET_UNCLASSIFIED) {
                s->major[v] = 1;
                s->major[g->head[e]] = 1;
            }
    }
    return 0;
}

typedef struct stop_pick {
    int32_t node;
    int district, band; /* band: 150 m strips from north to south */
    double lx;
} stop_pick;

/* District, then north to south in 150 m bands, then west to east. */
static int cmp_pick(const void *a, const void *b)
{
    const stop_pick *p = a, *q = b;

    if (p->district != q->district)
        return p->district - q->district;
    if (p->band != q->band)
        return p->band - q->band;
    if (p->lx != q->lx)
        return p->lx < q->lx ? -1 : 1;
    return p->node - q->node;
}

static int fill_stop(synth *s, area_stop *st, int32_t v, const char *id, const char *name,
                     const char *name_en, const char *kind)
{
    st->id = xstrdup(id);
    st->name = xstrdup(name);
    st->name_en = xstrdup(name_en);
    if (st->id == NULL || st->name == NULL || st->name_en == NULL)
        return AREA_ENOMEM;
    st->lat = s->g->lat[v];
    st->lon = s->g->lon[v];
    st->x = s->g->x[v];
    st->y = s->g->y[v];
    st->node = v;
    st->snap_m = 0;
    st->far = 0;
    snprintf(st->kind, sizeof(st->kind), "%s", kind);
    return 0;
}

static int make_stops(synth *s)
{
    const net_graph *g = s->g;
    int n = s->sp->n_stops, n_pick = 0, *order = NULL, *count = NULL, rc = AREA_ENOMEM;
    stop_pick *pick = NULL;
    double gap, th, dr;
    area *a = s->a;
    int32_t depot;

    if (g->n_nodes < n) {
        snprintf(s->err, s->err_len, "synthetic town: %d road nodes, too few for %d stops",
                 g->n_nodes, n);
        return AREA_EEMPTY;
    }
    pick = malloc((size_t)n * sizeof(*pick));
    order = malloc((size_t)g->n_nodes * sizeof(*order));
    count = calloc((size_t)(s->n_dist * s->n_dist), sizeof(*count));
    a->stops = calloc((size_t)n, sizeof(*a->stops));
    if (pick == NULL || order == NULL || count == NULL || a->stops == NULL)
        goto out;
    /* Depot: on an arterial near the edge of town. */
    th = slv_rng_range(&s->t.r, 0, 2 * PI);
    dr = 0.8 * outline_r(&s->t, cos(th), sin(th));
    depot = nearest_node(s, dr * cos(th), dr * sin(th), 1);
    /* Greedy spread: a node is taken if no stop is closer than gap; the gap
     * shrinks by 8 % per pass until there are n stops. */
    for (int32_t v = 0; v < g->n_nodes; v++)
        order[v] = v;
    shuffle(&s->t.r, order, g->n_nodes);
    gap = 1.1 * sqrt(0.85 * 4 * s->t.half * s->t.half / n);
    pick[n_pick++].node = depot;
    while (n_pick < n) {
        for (int32_t k = 0; k < g->n_nodes && n_pick < n; k++) {
            int32_t v = order[k];
            int ok = 1;
            for (int p = 0; p < n_pick && ok; p++) {
                double dx = g->x[v] - g->x[pick[p].node], dy = g->y[v] - g->y[pick[p].node];
                ok = dx * dx + dy * dy >= gap * gap;
            }
            if (ok)
                pick[n_pick++].node = v;
        }
        gap *= 0.92;
    }
    for (int p = 0; p < n; p++) {
        int32_t v = pick[p].node;
        pick[p].district = district_of(s, s->lx[v], s->ly[v]);
        pick[p].band = (int)floor(-s->ly[v] / 150);
        pick[p].lx = s->lx[v];
    }
    qsort(pick + 1, (size_t)(n - 1), sizeof(*pick), cmp_pick);
    a->n_stops = n;
    {
        const place *tn = s->town_name;
        char name[128], name_en[160];
        snprintf(name, sizeof(name), "%s営業所", tn->ja);
        snprintf(name_en, sizeof(name_en), "%s Depot", tn->en);
        if ((rc = fill_stop(s, &a->stops[0], depot, "depot", name, name_en, "depot")) < 0)
            goto out;
    }
    for (int p = 1; p < n; p++) {
        int d = pick[p].district, k = count[d]++;
        const place *dn = &district_names[s->dist_name[d]];
        char id[16], name[128], name_en[160];
        snprintf(id, sizeof(id), "s%03d", p);
        if (k < N_STOP_SUFFIXES) {
            snprintf(name, sizeof(name), "%s%s", dn->ja, stop_suffixes[k].ja);
            snprintf(name_en, sizeof(name_en), "%s%s", dn->en, stop_suffixes[k].en);
        } else {
            snprintf(name, sizeof(name), "%s第%d", dn->ja, k + 1);
            snprintf(name_en, sizeof(name_en), "%s No. %d", dn->en, k + 1);
        }
        if ((rc = fill_stop(s, &a->stops[p], pick[p].node, id, name, name_en, "stop")) < 0)
            goto out;
    }
    rc = 0;
out:
    free(pick);
    free(order);
    free(count);
    return rc;
}

/* Nearest stop (not the depot) to a placed point. */
static int nearest_stop_xy(const area *a, double x, double y, double *dist_m)
{
    int best = -1;
    double bd = 0;

    for (int i = 0; i < a->n_stops; i++) {
        double d = hypot(a->stops[i].x - x, a->stops[i].y - y);
        if (strcmp(a->stops[i].kind, "depot") == 0)
            continue;
        if (best < 0 || d < bd) {
            best = i;
            bd = d;
        }
    }
    if (dist_m != NULL)
        *dist_m = bd;
    return best;
}

typedef struct poi_list {
    area_poi *p;
    int n, cap;
} poi_list;

/* A point of interest 20-35 m off the road node nearest local (lx, ly). */
static int add_poi(synth *s, poi_list *l, const char *kind, const char *name, const char *name_en,
                   double weight, double lx, double ly, int major_only)
{
    int32_t v = nearest_node(s, lx, ly, major_only);
    double th = slv_rng_range(&s->t.r, 0, 2 * PI), off = slv_rng_range(&s->t.r, 20, 35);
    double x = s->g->x[v] + off * cos(th), y = s->g->y[v] + off * sin(th);
    area_poi *p;

    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        area_poi *np = realloc(l->p, (size_t)cap * sizeof(*np));
        if (np == NULL)
            return AREA_ENOMEM;
        l->p = np;
        l->cap = cap;
    }
    p = &l->p[l->n];
    memset(p, 0, sizeof(*p));
    l->n++;
    p->name = xstrdup(name);
    p->name_en = xstrdup(name_en);
    if (p->name == NULL || p->name_en == NULL)
        return AREA_ENOMEM;
    snprintf(p->kind, sizeof(p->kind), "%s", kind);
    if (geo_inverse(s->geo, x, y, &p->lat, &p->lon) < 0) {
        snprintf(s->err, s->err_len, "synthetic town: EPSG:%d to WGS84 failed for %s", SYNTH_EPSG,
                 name_en);
        return AREA_EGEO;
    }
    p->weight = weight;
    p->stop = nearest_stop_xy(s->a, x, y, NULL);
    return 0;
}

/* Local point of district d (random), off-centre by up to a third of a cell. */
static void district_spot(synth *s, int d, double *lx, double *ly)
{
    double cell = 2 * s->t.half / s->n_dist;

    district_centre(s, d, lx, ly);
    *lx += slv_rng_range(&s->t.r, -cell / 3, cell / 3);
    *ly += slv_rng_range(&s->t.r, -cell / 3, cell / 3);
}

/* A district whose centre lies inside the outline, chosen at random. */
static int random_district(synth *s)
{
    int nd = s->n_dist * s->n_dist;

    for (int tries = 0; tries < 64; tries++) {
        int d = slv_rng_scaled(&s->t.r, nd);
        double x, y;
        district_centre(s, d, &x, &y);
        if (inside(&s->t, x, y))
            return d;
    }
    return district_of(s, 1, 1);
}

/* Renames the stop nearest a landmark "<landmark>前". */
static int name_stop_after(synth *s, const area_poi *p, const char *ja, const char *en)
{
    area_stop *st;
    char *n, *ne;

    if (p->stop < 0)
        return 0;
    st = &s->a->stops[p->stop];
    if (strncmp(st->id, "s", 1) != 0 || strstr(st->name, "前") != NULL)
        return 0;
    n = fmt_dup("%s前", ja);
    ne = xstrdup(en);
    if (n == NULL || ne == NULL) {
        free(n);
        free(ne);
        return AREA_ENOMEM;
    }
    free(st->name);
    free(st->name_en);
    st->name = n;
    st->name_en = ne;
    return 0;
}

static int make_pois(synth *s)
{
    const synth_spec *sp = s->sp;
    const place *tn = s->town_name;
    int small = sp == &specs[AREA_SYNTH_SMALL], rc, clinic_order[N_CLINIC_NAMES];
    double h = s->t.half, x, y;
    char ja[160], en[200];
    poi_list l;

    memset(&l, 0, sizeof(l));
    /* Stations: the main one near the centre, others east of it. */
    for (int k = 0; k < sp->stations; k++) {
        if (k == 0) {
            snprintf(ja, sizeof(ja), "%s駅", tn->ja);
            snprintf(en, sizeof(en), "%s Station", tn->en);
        } else {
            snprintf(ja, sizeof(ja), "%s%s駅", k == 1 ? "東" : "西", tn->ja);
            snprintf(en, sizeof(en), "%s-%s Station", k == 1 ? "Higashi" : "Nishi", tn->en);
        }
        x = (k == 0 ? 0.08 : k == 1 ? 0.55 : -0.55) * h + slv_rng_range(&s->t.r, -100, 100);
        y = 0.1 * h + slv_rng_range(&s->t.r, -100, 100);
        if ((rc = add_poi(s, &l, "station", ja, en, 8, x, y, 1)) < 0)
            goto out;
        if ((rc = name_stop_after(s, &l.p[l.n - 1], ja, en)) < 0)
            goto out;
    }
    snprintf(ja, sizeof(ja), "%s%s", tn->ja, small ? "町役場" : "市役所");
    snprintf(en, sizeof(en), "%s %s", tn->en, small ? "Town Office" : "City Hall");
    if ((rc = add_poi(s, &l, "city_hall", ja, en, 3, -0.1 * h, 0.05 * h, 1)) < 0 ||
        (rc = name_stop_after(s, &l.p[l.n - 1], ja, en)) < 0)
        goto out;
    {
        double th = slv_rng_range(&s->t.r, 0, 2 * PI), r = slv_rng_range(&s->t.r, 0.3, 0.5) * h;
        snprintf(ja, sizeof(ja), "%s総合病院", tn->ja);
        snprintf(en, sizeof(en), "%s General Hospital", tn->en);
        if ((rc = add_poi(s, &l, "hospital", ja, en, 6, r * cos(th), r * sin(th), 1)) < 0 ||
            (rc = name_stop_after(s, &l.p[l.n - 1], "総合病院", en)) < 0)
            goto out;
    }
    for (int i = 0; i < N_CLINIC_NAMES; i++)
        clinic_order[i] = i;
    shuffle(&s->t.r, clinic_order, N_CLINIC_NAMES);
    for (int k = 0; k < sp->clinics; k++) {
        const place *c = &clinic_names[clinic_order[k % N_CLINIC_NAMES]];
        district_spot(s, random_district(s), &x, &y);
        if ((rc = add_poi(s, &l, "clinic", c->ja, c->en, 2, x, y, 0)) < 0)
            goto out;
    }
    for (int k = 0; k < sp->supermarkets; k++) {
        int d = random_district(s);
        const place *c = &market_chains[k % 4], *dn = &district_names[s->dist_name[d]];
        snprintf(ja, sizeof(ja), "%s %s店", c->ja, dn->ja);
        snprintf(en, sizeof(en), "%s %s", c->en, dn->en);
        district_spot(s, d, &x, &y);
        if ((rc = add_poi(s, &l, "supermarket", ja, en, 4, x, y, 1)) < 0)
            goto out;
    }
    for (int k = 0; k < sp->halls; k++) {
        int d = random_district(s);
        const place *dn = &district_names[s->dist_name[d]];
        snprintf(ja, sizeof(ja), "%s公民館", dn->ja);
        snprintf(en, sizeof(en), "%s Community Hall", dn->en);
        district_spot(s, d, &x, &y);
        if ((rc = add_poi(s, &l, "community_hall", ja, en, 1.5, x, y, 0)) < 0)
            goto out;
    }
    for (int k = 0; k < sp->pharmacies; k++) {
        int d = random_district(s);
        const place *dn = &district_names[s->dist_name[d]];
        snprintf(ja, sizeof(ja), "%s薬局", dn->ja);
        snprintf(en, sizeof(en), "%s Pharmacy", dn->en);
        district_spot(s, d, &x, &y);
        if ((rc = add_poi(s, &l, "pharmacy", ja, en, 1, x, y, 0)) < 0)
            goto out;
    }
    for (int k = 0; k < sp->daycare; k++) {
        int d = random_district(s);
        const place *dn = &district_names[s->dist_name[d]];
        snprintf(ja, sizeof(ja), "デイサービス%s", dn->ja);
        snprintf(en, sizeof(en), "%s Day Care Centre", dn->en);
        district_spot(s, d, &x, &y);
        if ((rc = add_poi(s, &l, "elderly_care", ja, en, 2, x, y, 0)) < 0)
            goto out;
    }
    for (int k = 0; k < sp->post_offices; k++) {
        int d = k == 0 ? district_of(s, 1, 1) : random_district(s);
        const place *dn = &district_names[s->dist_name[d]];
        snprintf(ja, sizeof(ja), "%s郵便局", k == 0 ? tn->ja : dn->ja);
        snprintf(en, sizeof(en), "%s Post Office", k == 0 ? tn->en : dn->en);
        district_spot(s, d, &x, &y);
        if ((rc = add_poi(s, &l, "post_office", ja, en, 1, x, y, 0)) < 0)
            goto out;
    }
    snprintf(ja, sizeof(ja), "%s%s立図書館", tn->ja, small ? "町" : "市");
    snprintf(en, sizeof(en), "%s Library", tn->en);
    if ((rc = add_poi(s, &l, "library", ja, en, 1, 0.15 * h, -0.1 * h, 0)) < 0)
        goto out;
    rc = 0;
out:
    s->a->pois = l.p;
    s->a->n_pois = l.n;
    return rc;
}

static int add_zone(synth *s, int *cap, const char *name, const char *name_en, double lx, double ly,
                    double radius_m, double weight)
{
    area *a = s->a;
    area_zone *z;
    double x, y;

    if (a->n_zones == *cap) {
        int ncap = *cap ? 2 * *cap : 16;
        area_zone *nz = realloc(a->zones, (size_t)ncap * sizeof(*nz));
        if (nz == NULL)
            return AREA_ENOMEM;
        a->zones = nz;
        *cap = ncap;
    }
    z = &a->zones[a->n_zones];
    memset(z, 0, sizeof(*z));
    a->n_zones++;
    z->name = xstrdup(name);
    z->name_en = xstrdup(name_en);
    if (z->name == NULL || z->name_en == NULL)
        return AREA_ENOMEM;
    place_xy(&s->t, lx, ly, &x, &y);
    if (geo_inverse(s->geo, x, y, &z->lat, &z->lon) < 0) {
        snprintf(s->err, s->err_len, "synthetic town: EPSG:%d to WGS84 failed for zone %s",
                 SYNTH_EPSG, name_en);
        return AREA_EGEO;
    }
    z->radius_m = radius_m;
    z->weight = weight;
    return 0;
}

static int make_zones(synth *s)
{
    int nd = s->n_dist * s->n_dist, cap = 0, rc;
    double cell = 2 * s->t.half / s->n_dist, x, y;
    char ja[160], en[200];

    for (int d = 0; d < nd; d++) {
        const place *dn = &district_names[s->dist_name[d]];
        district_centre(s, d, &x, &y);
        if (!inside(&s->t, x, y))
            continue;
        /* Residents per district: denser near the centre, +-30 %. */
        double dens = exp(-hypot(x, y) / (0.9 * s->t.half)) * slv_rng_range(&s->t.r, 0.7, 1.3);
        double pop = 10 * round(3500 * cell / 1000 * cell / 1000 * dens / 10);
        if ((rc = add_zone(s, &cap, dn->ja, dn->en, x, y, 0.6 * cell, pop)) < 0)
            return rc;
    }
    for (int k = 0; k < s->sp->estates; k++) {
        int d = random_district(s);
        const place *dn = &district_names[s->dist_name[d]];
        snprintf(ja, sizeof(ja), "%s団地", dn->ja);
        snprintf(en, sizeof(en), "%s Danchi (housing estate)", dn->en);
        district_spot(s, d, &x, &y);
        if ((rc = add_zone(s, &cap, ja, en, x, y, 150, 10 * round(slv_rng_range(&s->t.r, 150, 300)))) <
            0)
            return rc;
    }
    return 0;
}

static void compute_bbox(area *a)
{
    const net_graph *g = a->graph;

    a->bbox[0] = a->bbox[2] = g->lon[0];
    a->bbox[1] = a->bbox[3] = g->lat[0];
    for (int32_t v = 0; v < g->n_nodes; v++) {
        a->bbox[0] = fmin(a->bbox[0], g->lon[v]);
        a->bbox[1] = fmin(a->bbox[1], g->lat[v]);
        a->bbox[2] = fmax(a->bbox[2], g->lon[v]);
        a->bbox[3] = fmax(a->bbox[3], g->lat[v]);
    }
    for (int i = 0; i < a->n_pois; i++) {
        a->bbox[0] = fmin(a->bbox[0], a->pois[i].lon);
        a->bbox[1] = fmin(a->bbox[1], a->pois[i].lat);
        a->bbox[2] = fmax(a->bbox[2], a->pois[i].lon);
        a->bbox[3] = fmax(a->bbox[3], a->pois[i].lat);
    }
}

static int make_matrix(synth *s)
{
    area *a = s->a;
    size_t nn = (size_t)a->n_stops * (size_t)a->n_stops;
    int32_t *nodes = malloc((size_t)a->n_stops * sizeof(*nodes));
    int rc;

    a->time_s = malloc(nn * sizeof(int32_t));
    a->dist_m = malloc(nn * sizeof(int32_t));
    if (nodes == NULL || a->time_s == NULL || a->dist_m == NULL) {
        free(nodes);
        return AREA_ENOMEM;
    }
    for (int i = 0; i < a->n_stops; i++)
        nodes[i] = a->stops[i].node;
    rc = net_matrix(a->graph, nodes, a->n_stops, 0, a->time_s, a->dist_m, NULL, NULL);
    free(nodes);
    if (rc < 0) {
        snprintf(s->err, s->err_len, "synthetic town: matrix: %s", net_strerror(rc));
        return rc == NET_ENOMEM ? AREA_ENOMEM : AREA_ENET;
    }
    return 0;
}

static int draw_town(synth *s)
{
    town *t = &s->t;

    t->half = s->sp->side_m / 2;
    t->b1 = slv_rng_range(&t->r, 0.04, 0.12);
    t->p1 = slv_rng_range(&t->r, 0, 2 * PI);
    t->b2 = slv_rng_range(&t->r, 0.03, 0.08);
    t->p2 = slv_rng_range(&t->r, 0, 2 * PI);
    t->river_ns = slv_rng_uniform(&t->r) < 0.5;
    t->river_off = slv_rng_range(&t->r, 0.25, 0.45) * t->half;
    if (slv_rng_uniform(&t->r) < 0.5)
        t->river_off = -t->river_off;
    t->river_amp = slv_rng_range(&t->r, 60, 160);
    t->river_wave = slv_rng_range(&t->r, 400, 900);
    t->river_phase = slv_rng_range(&t->r, 0, 2 * PI);
    t->rot = slv_rng_range(&t->r, -20, 20) * PI / 180;
    t->warp_p1 = slv_rng_range(&t->r, 0, 2 * PI);
    t->warp_p2 = slv_rng_range(&t->r, 0, 2 * PI);
    if (build_grid(t) < 0)
        return AREA_ENOMEM;
    remove_streets(t);
    if (s->sp->ring && add_ring(t, 0) < 0)
        return AREA_ENOMEM;
    for (int k = 0; k < s->sp->diagonals; k++)
        if (add_diagonal(t, 1 + k) < 0)
            return AREA_ENOMEM;
    return 0;
}

int area_synth(uint64_t seed, area_synth_size size, area **out, char *err, size_t err_len)
{
    char dummy[8], name[256], gerr[256];
    synth s;
    area *a = NULL;
    int rc;

    if (err == NULL) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    if (out != NULL)
        *out = NULL;
    if (out == NULL || size < AREA_SYNTH_SMALL || size > AREA_SYNTH_CITY) {
        snprintf(err, err_len, "synthetic town: invalid size");
        return AREA_EINVAL;
    }
    memset(&s, 0, sizeof(s));
    s.err = err;
    s.err_len = err_len;
    s.sp = s.t.sp = &specs[size];
    s.n_dist = s.sp->districts;
    slv_rng_seed(&s.t.r, seed);
    s.town_name = &town_names[slv_rng_scaled(&s.t.r, (int)(sizeof(town_names) / sizeof(town_names[0])))];
    if ((rc = geo_proj_create(SYNTH_EPSG, &s.geo, gerr, sizeof(gerr))) < 0) {
        snprintf(err, err_len, "synthetic town: %s", gerr);
        rc = rc == GEO_ENOMEM ? AREA_ENOMEM : AREA_EGEO;
        goto out;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        rc = AREA_ENOMEM;
        goto out;
    }
    s.a = a;
    if ((rc = draw_town(&s)) < 0)
        goto out;
    if ((rc = make_graph(&s.t, s.geo, &a->graph, err, err_len)) < 0)
        goto out;
    s.g = a->graph;
    if ((rc = node_locals(&s)) < 0 || (rc = name_districts(&s)) < 0 || (rc = make_stops(&s)) < 0 ||
        (rc = make_pois(&s)) < 0 || (rc = make_zones(&s)) < 0 || (rc = make_matrix(&s)) < 0)
        goto out;
    snprintf(name, sizeof(name), "%s%s (%s %s), synthetic, seed %llu", s.town_name->ja,
             size == AREA_SYNTH_SMALL ? "町" : "市", s.town_name->en,
             size == AREA_SYNTH_SMALL ? "Town" : "City", (unsigned long long)seed);
    a->name = xstrdup(name);
    a->attribution = fmt_dup("synthetic town generated by noriai (seed %llu, size %s); not a "
                             "real place",
                             (unsigned long long)seed, s.sp->name);
    a->license = xstrdup("CC0-1.0");
    if (a->name == NULL || a->attribution == NULL || a->license == NULL) {
        rc = AREA_ENOMEM;
        goto out;
    }
    a->epsg = SYNTH_EPSG;
    a->model = AREA_ROAD;
    net_crowfly_default(&a->crowfly);
    compute_bbox(a);
    *out = a;
    a = NULL;
    rc = 0;
out:
    if (rc == AREA_ENOMEM)
        snprintf(err, err_len, "synthetic town: out of memory");
    area_destroy(a);
    geo_proj_destroy(s.geo);
    free(s.t.pts);
    free(s.t.segs);
    free(s.lx);
    free(s.ly);
    free(s.major);
    free(s.dist_name);
    return rc;
}
