/*
 * svc_replan.c - the re-plan decision: what to solve, and whether the
 * result is taken.
 *
 * A re-plan covers today: a snapshot of everything not yet committed is
 * taken on the owner's thread (svc_replan_prepare), solved anywhere - the
 * daemon hands svc_replan_solve to uv_queue_work, the simulator calls it in
 * line - and brought back on the owner's thread (svc_replan_finish), where
 * it is adopted only if the day it was made for is still open and the
 * result still fits the state (dsp_replan_adopt checks every plan version;
 * DSP_ESTALE otherwise).  What an adopted re-plan changed is committed at
 * once, rows that it moved to another van or time included, so listings
 * from the store agree with the live plan.
 *
 * The solver's budget is an iteration count and optionally a time limit
 * read from the caller's monotonic clock; the seed is the re-plan's number,
 * so a run is reproducible from the log.
 */
#include "dispatcher/svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

svc_replan_job *svc_replan_prepare(svc *s, double (*clock)(void *), void *clock_ctx)
{
    svc_day *d = svc_day_today(s, 0);
    svc_replan_job *j;

    if (d == NULL || (j = calloc(1, sizeof(*j))) == NULL)
        return NULL;
    j->day = (int)(d - s->days);
    memcpy(j->date, d->date, sizeof(j->date));
    if (dsp_replan_prepare(d->dsp, svc_day_now(s, d), &j->rp) < 0) {
        free(j);
        return NULL;
    }
    slv_params_init(&j->prm);
    j->prm.seed = (uint64_t)s->m.replans + 1;
    j->prm.max_iterations = s->cfg.replan_iterations;
    if (s->cfg.replan_time_limit_s > 0 && clock != NULL) {
        j->prm.time_limit_s = s->cfg.replan_time_limit_s;
        j->prm.clock = clock;
        j->prm.clock_ctx = clock_ctx;
    }
    s->m.replans++;
    return j;
}

void svc_replan_solve(svc_replan_job *j)
{
    j->rc = dsp_replan_solve(j->rp, &j->prm);
}

int svc_replan_finish(svc *s, svc_replan_job *j, int ran, int *improved)
{
    svc_day *d = &s->days[j->day];
    int rc = ran ? j->rc : DSP_ESTALE;

    *improved = 0;
    if (rc == 0 && d->used && strcmp(d->date, j->date) == 0) {
        snprintf(s->actor, sizeof(s->actor), "replan");
        rc = dsp_replan_adopt(d->dsp, svc_day_now(s, d), j->rp, improved);
        if (rc == 0) {
            s->m.replans_adopted += *improved != 0;
            svc_refresh_moved_rows(s, SVC_REFRESH_PER_TICK);
            if (svc_has_pending(s) && s->st.ops->ready(s->st.ctx))
                svc_commit(s, NULL, NULL, NULL);
        }
    } else if (rc == 0) {
        rc = DSP_ESTALE; /* its day is gone */
    }
    if (rc == DSP_ESTALE)
        s->m.replans_stale++;
    else if (rc < 0)
        s->m.replans_failed++;
    dsp_replan_destroy(j->rp);
    free(j);
    return rc;
}
