/*
 * errf.c - the shared error formatter (errf.h).
 *
 * A dozen files used to carry the same four-line vsnprintf wrapper; this is
 * it, once.  vsnprintf truncates and terminates, so a long message is cut
 * short rather than overrunning the caller's buffer; a NULL buffer or a
 * zero length means the caller wants only the code.
 */
#include "solver/errf.h"

#include <stdio.h>

int slv_verrf(char *err, size_t err_len, int code, const char *fmt, va_list ap)
{
    if (err != NULL && err_len > 0)
        vsnprintf(err, err_len, fmt, ap);
    return code;
}

int slv_errf(char *err, size_t err_len, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    slv_verrf(err, err_len, code, fmt, ap);
    va_end(ap);
    return code;
}
