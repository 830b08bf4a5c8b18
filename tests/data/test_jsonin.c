/*
 * test_jsonin.c - the strict JSON input helper (data/json/jsonin.h):
 * UTF-8 counting against hand-made valid and invalid sequences, known
 * keys, ranges, lengths in characters, and messages that name the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/json/jsonin.h"

#include <string.h>

static void test_utf8(void **state)
{
    (void)state;
    assert_int_equal(jin_utf8_chars("", 0), 0);
    assert_int_equal(jin_utf8_chars("abc", 3), 3);
    assert_int_equal(jin_utf8_chars("\xe4\xb9\x97\xe5\x90\x88", 6), 2);     /* 乗合 */
    assert_int_equal(jin_utf8_chars("\xc3\xa9t\xc3\xa9", 5), 3);            /* été */
    assert_int_equal(jin_utf8_chars("\xf0\x9f\x9a\x8c", 4), 1);             /* U+1F68C */
    assert_int_equal(jin_utf8_chars("\xf4\x8f\xbf\xbf", 4), 1);             /* U+10FFFF */
    assert_int_equal(jin_utf8_chars("\xe4\xb9", 2), -1);                    /* cut short */
    assert_int_equal(jin_utf8_chars("\x80", 1), -1);                        /* lone continuation */
    assert_int_equal(jin_utf8_chars("\xc0\xaf", 2), -1);                    /* overlong '/' */
    assert_int_equal(jin_utf8_chars("\xe0\x80\xaf", 3), -1);                /* overlong */
    assert_int_equal(jin_utf8_chars("\xf0\x80\x80\xaf", 4), -1);            /* overlong */
    assert_int_equal(jin_utf8_chars("\xed\xa0\x80", 3), -1);                /* surrogate */
    assert_int_equal(jin_utf8_chars("\xf4\x90\x80\x80", 4), -1);            /* past U+10FFFF */
    assert_int_equal(jin_utf8_chars("\xe4\x41\x97", 3), -1);                /* bad continuation */
    assert_int_equal(jin_utf8_chars("a\0b", 3), 3);
}

static void test_object(void **state)
{
    static const char *const keys[] = {"seats", "id", NULL};
    json_t *o = json_pack("{s:i, s:s}", "seats", 4, "id", "van1");
    char err[256];

    (void)state;
    assert_int_equal(jin_object(o, "fleet", keys, 0, err, sizeof(err)), 0);
    json_object_set_new(o, "comment", json_string("x"));
    assert_int_equal(jin_object(o, "fleet", keys, 0, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "fleet: unknown field \"comment\" (known: seats, id)");
    assert_int_equal(jin_object(o, "fleet", keys, JIN_COMMENT, err, sizeof(err)), 0);
    json_object_set_new(o, "sets", json_integer(1));
    assert_int_equal(jin_object(o, NULL, keys, JIN_COMMENT, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "unknown field \"sets\" (known: seats, id, comment)");
    assert_int_equal(jin_object(json_array_get(NULL, 0), "x", keys, 0, NULL, 0), JIN_EINVAL);
    json_decref(o);
    o = json_array();
    assert_int_equal(jin_object(o, "x", keys, 0, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "x: expected an object, found an array");
    json_decref(o);
}

static void test_numbers(void **state)
{
    json_t *o = json_pack("{s:i, s:f, s:f, s:s, s:b, s:f}", "n", 5, "whole", 3.0, "half", 3.5, "s",
                          "7", "b", 1, "x", 0.25);
    char err[256];
    long long ll;
    double d = -1;
    int i = -1, b = -1;

    (void)state;
    assert_int_equal(jin_opt_int(o, "n", "svc", 1, 10, &i, err, sizeof(err)), 1);
    assert_int_equal(i, 5);
    assert_int_equal(jin_opt_int(o, "absent", "svc", 1, 10, &i, err, sizeof(err)), 0);
    assert_int_equal(i, 5);
    assert_int_equal(jin_opt_int(o, "n", "svc", 6, 10, &i, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "svc.n: must be an integer in [6, 10], found 5");
    assert_int_equal(jin_opt_int(o, "whole", "", 0, 10, &i, err, sizeof(err)), 1);
    assert_int_equal(i, 3);
    assert_int_equal(jin_int(json_object_get(o, "whole"), "w", 0, 10, JIN_STRICT_INT, &ll, err,
                             sizeof(err)),
                     JIN_EINVAL);
    assert_int_equal(jin_opt_int(o, "half", "", 0, 10, &i, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "half: must be an integer in [0, 10], found 3.5");
    assert_int_equal(jin_opt_int(o, "s", "a.b", 0, 10, &i, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "a.b.s: must be an integer in [0, 10], found a string");
    assert_int_equal(jin_opt_number(o, "x", "", 0, 1, &d, err, sizeof(err)), 1);
    assert_true(d == 0.25);
    assert_int_equal(jin_opt_number(o, "x", "", 0.5, 1, &d, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "x: must be a number in [0.5, 1], found 0.25");
    assert_int_equal(jin_opt_bool(o, "b", "", &b, err, sizeof(err)), 1);
    assert_int_equal(b, 1);
    assert_int_equal(jin_opt_bool(o, "n", "", &b, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "n: must be true or false, found a number");
    json_decref(o);
}

static void test_strings(void **state)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:n, s:s}", "name", "\xe4\xb9\x97\xe5\x90\x88", "empty",
                          "", "ctl", "a\x01", "nul", "tab", "a\tb");
    const char *s = NULL;
    char err[256];

    (void)state;
    /* two characters, six bytes: a limit of 2 characters lets it through */
    assert_int_equal(jin_opt_str(o, "name", "", 1, 2, 0, &s, err, sizeof(err)), 1);
    assert_string_equal(s, "\xe4\xb9\x97\xe5\x90\x88");
    assert_int_equal(jin_opt_str(o, "name", "", 1, 1, 0, &s, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "name: is longer than 1 characters");
    assert_int_equal(jin_opt_str(o, "empty", "v", 1, 10, 0, &s, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "v.empty: must not be empty");
    assert_int_equal(jin_opt_str(o, "empty", "v", 0, 10, 0, &s, err, sizeof(err)), 1);
    assert_int_equal(jin_opt_str(o, "ctl", "", 0, 10, 0, &s, err, sizeof(err)), 1);
    assert_int_equal(jin_opt_str(o, "ctl", "", 0, 10, JIN_TEXT, &s, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "ctl: holds control characters");
    assert_int_equal(jin_opt_str(o, "tab", "", 0, 10, JIN_TEXT, &s, err, sizeof(err)), 1);
    assert_int_equal(jin_opt_str(o, "nul", "", 0, 10, JIN_NULL_ABSENT, &s, err, sizeof(err)), 0);
    assert_int_equal(jin_opt_str(o, "nul", "", 0, 10, 0, &s, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "nul: must be a string, found null");
    json_decref(o);
    /* a NUL inside, and invalid UTF-8 built by hand */
    o = json_stringn("a\0b", 3);
    assert_int_equal(jin_str(o, "k", 0, 10, 0, &s, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "k: must not contain NUL characters");
    json_decref(o);
    o = json_stringn_nocheck("\xed\xa0\x80", 3);
    assert_int_equal(jin_str(o, "k", 0, 10, 0, &s, err, sizeof(err)), JIN_EINVAL);
    assert_string_equal(err, "k: is not valid UTF-8 text");
    /* a small buffer still ends in NUL */
    assert_int_equal(jin_str(o, "k", 0, 10, 0, &s, err, 6), JIN_EINVAL);
    assert_string_equal(err, "k: is");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
