/*
 * svc_int.h - private to the service layer's files (dispatcher/svc*.c).
 */
#ifndef NORIAI_SVC_INT_H
#define NORIAI_SVC_INT_H

#include "dispatcher/svc.h"

/* svc_commit.c: b's row is stored with the next commit. */
void svc_mark_row(svc *s, svc_bk *b);
/* svc_idem.c: e goes back into the queue of records to store; 0 or -1. */
int svc_idem_queue_record(svc *s, svc_idem *e);

/* svc.c: the depot stop of vehicle f (its own, the area's depot, stop 0). */
int svc_depot_of(const svc *s, const svc_vehicle_def *f);
/* Says msg through the log hook, if any. */
void svc_log(const svc *s, int level, const char *msg, const char *booking, const char *detail);

#endif
