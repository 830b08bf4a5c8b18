/*
 * test_errf.c - the shared error formatter (solver/errf.h): the message,
 * the code passed through, truncation that still terminates, and the "no
 * buffer" cases that must not write anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "solver/errf.h"

#include <string.h>

static int via_va(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = slv_verrf(err, err_len, -9, fmt, ap);
    va_end(ap);
    return rc;
}

static void test_errf(void **state)
{
    char buf[16];

    (void)state;
    assert_int_equal(slv_errf(buf, sizeof(buf), -3, "%s %d", "line", 12), -3);
    assert_string_equal(buf, "line 12");
    assert_int_equal(slv_errf(buf, sizeof(buf), 0, "%s", "a message much longer than 16"), 0);
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    assert_string_equal(buf, "a message much ");
    /* no buffer, or no room: only the code */
    assert_int_equal(slv_errf(NULL, 100, -4, "x"), -4);
    memcpy(buf, "untouched", 10);
    assert_int_equal(slv_errf(buf, 0, -5, "x"), -5);
    assert_string_equal(buf, "untouched");
    assert_int_equal(slv_errf(buf, 1, -6, "x"), -6);
    assert_string_equal(buf, "");
    assert_int_equal(via_va(buf, sizeof(buf), "%c%c", 'o', 'k'), -9);
    assert_string_equal(buf, "ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errf),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
