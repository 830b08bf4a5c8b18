/*
 * log.c - structured logs: one JSON object per line on stderr, so a log
 * shipper (journald, fluent-bit) can take them as they are.
 *
 *   {"ts":"2026-11-22T09:00:01.123Z","level":"info","msg":"listening","port":8080}
 *
 * The message is escaped here; the fields come preformatted from the caller
 * (keys and values it controls; strings from outside must go through
 * api_log_esc first).  One fprintf per line keeps lines whole.
 */
#include "api/server/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int log_level = API_LOG_INFO;

void api_log_set_level(int level)
{
    log_level = level;
}

const char *api_log_esc(const char *s, char *out, size_t len)
{
    size_t k = 0;

    for (; *s != '\0' && k + 7 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20) {
            k += (size_t)snprintf(out + k, len - k, "\\u%04x", c);
        } else {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
    return out;
}

void api_log(int level, const char *msg, const char *fields_fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char fields[2048] = "", emsg[512], ts[40];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (level > log_level)
        return;
    if (fields_fmt != NULL) {
        va_start(ap, fields_fmt);
        vsnprintf(fields, sizeof(fields), fields_fmt, ap);
        va_end(ap);
    }
    api_log_esc(msg, emsg, sizeof(emsg));
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"msg\":\"%s\"%s%s}\n", ts,
            (int)(tv.tv_usec / 1000), names[level < 0 ? 0 : level > 3 ? 3 : level], emsg,
            fields[0] ? "," : "", fields);
}
