/*
 * errf.h - one way to write an error message into a caller's buffer.
 *
 * Most fallible calls in noriai take `char *err, size_t err_len` beside
 * their return code, and fill the buffer with a message a person can act
 * on.  This is the one formatter they all use (it sits in the bottom layer
 * so that the solver, data/ and the simulator may share it).
 */
#ifndef NORIAI_SOLVER_ERRF_H
#define NORIAI_SOLVER_ERRF_H

#include <stdarg.h>
#include <stddef.h>

/* printf-style message into err (cut to err_len - 1 bytes, always
 * terminated); err may be NULL or err_len 0 for "no message wanted".
 * Returns code, so that `return slv_errf(err, err_len, X_EINVAL, ...)`
 * reports and fails in one statement. */
int slv_errf(char *err, size_t err_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int slv_verrf(char *err, size_t err_len, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
