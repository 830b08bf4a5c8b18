/*
 * test_csv.c - the strict CSV reader: BOM, quoting, embedded line breaks and
 * commas, "" escapes, CRLF, empty lines, line numbers, every refusal with its
 * line, the bounds (fields per row, file size), number and UTF-8 helpers, and
 * a round-trip property: random tables written with RFC 4180 quoting read
 * back field for field.  Random byte soup must end in a row count or an
 * error, never a crash (this program also runs under ASan+UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/csv/csv.h"

static char tmp_dir[256];

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_create(tmp_dir, sizeof(tmp_dir), "csv");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(tmp_dir);
    return 0;
}

static csv_reader *open_str(const char *text)
{
    csv_reader *r = NULL;
    char err[512] = "";

    if (csv_open_mem("t.csv", text, strlen(text), &r, err, sizeof(err)) != 0)
        fail_msg("open: %s", err);
    return r;
}

/* Expects the next row to be exactly the given fields, starting on line. */
static void expect_row(csv_reader *r, int line, int n, ...)
{
    char err[512] = "";
    va_list ap;
    int rc = csv_next(r, err, sizeof(err));

    if (rc != 1)
        fail_msg("expected a row at line %d, got %d (%s)", line, rc, err);
    assert_int_equal(csv_line(r), line);
    assert_int_equal(csv_n_fields(r), n);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(csv_field(r, i), va_arg(ap, const char *));
    va_end(ap);
    assert_null(csv_field(r, n));
    assert_null(csv_field(r, -1));
}

static void expect_end(csv_reader *r)
{
    char err[512] = "";

    assert_int_equal(csv_next(r, err, sizeof(err)), 0);
    assert_int_equal(csv_next(r, err, sizeof(err)), 0);
}

/* Reads every row; expects the error code and message fragments. */
static void expect_error(const char *text, int code, const char *frag1, const char *frag2)
{
    csv_reader *r = NULL;
    char err[512] = "";
    int rc;

    rc = csv_open_mem("bad.csv", text, strlen(text), &r, err, sizeof(err));
    if (rc == 0)
        while ((rc = csv_next(r, err, sizeof(err))) > 0)
            ;
    assert_int_equal(rc, code);
    if (strstr(err, frag1) == NULL || (frag2 != NULL && strstr(err, frag2) == NULL))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err, frag1, frag2 ? frag2 : "");
    if (r != NULL) {
        /* A reader that failed keeps failing. */
        assert_int_equal(csv_next(r, err, sizeof(err)), code);
        csv_destroy(r);
    }
}

static void test_basic_and_header(void **state)
{
    csv_reader *r = open_str("stop_id,stop_name, stop_lat ,stop_lon\n1,A,36.1,139.3\n");
    char err[256];

    (void)state;
    assert_int_equal(csv_read_header(r, err, sizeof(err)), 0);
    assert_int_equal(csv_n_cols(r), 4);
    assert_int_equal(csv_line(r), 1);
    assert_int_equal(csv_col(r, "stop_id"), 0);
    assert_int_equal(csv_col(r, "stop_lat"), 2); /* blanks around names ignored */
    assert_int_equal(csv_col(r, "stop_lon"), 3);
    assert_int_equal(csv_col(r, "location_type"), -1);
    assert_int_equal(csv_col(r, NULL), -1);
    assert_string_equal(csv_name(r), "t.csv");
    expect_row(r, 2, 4, "1", "A", "36.1", "139.3");
    expect_end(r);
    csv_destroy(r);
    csv_destroy(NULL);
}

static void test_bom(void **state)
{
    csv_reader *r = open_str("\xEF\xBB\xBF"
                             "feed_publisher_name,feed_lang\n熊谷市,ja\n");
    char err[256];

    (void)state;
    assert_int_equal(csv_read_header(r, err, sizeof(err)), 0);
    assert_int_equal(csv_col(r, "feed_publisher_name"), 0);
    expect_row(r, 2, 2, "熊谷市", "ja");
    expect_end(r);
    csv_destroy(r);
    /* A BOM alone is an empty file. */
    r = open_str("\xEF\xBB\xBF");
    assert_int_equal(csv_read_header(r, err, sizeof(err)), CSV_EHEADER);
    assert_non_null(strstr(err, "empty"));
    csv_destroy(r);
}

static void test_quoted(void **state)
{
    csv_reader *r = open_str("\"a,b\",\"he said \"\"hi\"\"\",plain,\"\",\"\"\"\"\n"
                             "\"two\nlines\",x,\"comma, and\r\nCRLF inside\",,\n"
                             "last,\"row\"");

    (void)state;
    expect_row(r, 1, 5, "a,b", "he said \"hi\"", "plain", "", "\"");
    expect_row(r, 2, 5, "two\nlines", "x", "comma, and\r\nCRLF inside", "", "");
    expect_row(r, 5, 2, "last", "row"); /* the quoted line breaks count */
    expect_end(r);
    csv_destroy(r);
}

static void test_line_ends_and_empty_lines(void **state)
{
    csv_reader *r = open_str("\r\na,b\r\n1,2\r\n\r\n\n3,\"4\"\r\n,\n");

    (void)state;
    expect_row(r, 2, 2, "a", "b");
    expect_row(r, 3, 2, "1", "2");
    expect_row(r, 6, 2, "3", "4");
    expect_row(r, 7, 2, "", "");
    expect_end(r);
    csv_destroy(r);
    r = open_str("");
    expect_end(r);
    csv_destroy(r);
    r = open_str("x"); /* no line end at all */
    expect_row(r, 1, 1, "x");
    expect_end(r);
    csv_destroy(r);
    r = open_str("a,\n,b,"); /* trailing commas give empty last fields */
    expect_row(r, 1, 2, "a", "");
    expect_row(r, 2, 3, "", "b", "");
    expect_end(r);
    csv_destroy(r);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("a,b\n1,\"abc\n2,3\n", CSV_EFORMAT, "bad.csv:2:", "not closed");
    expect_error("a,b\n1,2\n3,\"x\"\"", CSV_EFORMAT, "bad.csv:3:", "not closed");
    expect_error("a,b\n1,ab\"c\n", CSV_EFORMAT, "bad.csv:2:", "quote inside an unquoted");
    expect_error("a,b\n\n\"ab\"c,1\n", CSV_EFORMAT, "bad.csv:3:", "after the closing quote");
    expect_error("a,b\n\"x\" ,1\n", CSV_EFORMAT, "bad.csv:2:", "after the closing quote");
    expect_error("a,b\n1,2\r3,4\n", CSV_EFORMAT, "bad.csv:2:", "carriage return");
    expect_error("a,b\n1,\"multi\nline\"x\n", CSV_EFORMAT, "bad.csv:3:", "closing quote");
    {
        static const char nul[] = "a,b\n1,2\n3,\0004\n";
        csv_reader *r = NULL;
        char err[256];
        assert_int_equal(csv_open_mem("nul.csv", nul, sizeof(nul) - 1, &r, err, sizeof(err)),
                         CSV_EFORMAT);
        assert_null(r);
        assert_non_null(strstr(err, "nul.csv:3: NUL byte"));
    }
}

static void test_header_errors(void **state)
{
    const char *texts[] = {"a,b,a\n1,2,3\n", "a,,c\n", "a, \t ,c\n", ""};
    const char *frags[] = {"\"a\" twice", "column 2 has no name", "column 2 has no name", "empty"};

    (void)state;
    for (int i = 0; i < 4; i++) {
        csv_reader *r = open_str(texts[i]);
        char err[256] = "";
        assert_int_equal(csv_read_header(r, err, sizeof(err)), CSV_EHEADER);
        if (strstr(err, frags[i]) == NULL)
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", texts[i], err, frags[i]);
        csv_destroy(r);
    }
}

static void test_field_limit(void **state)
{
    size_t cap = (CSV_MAX_FIELDS + 2) * 2 + 16;
    char *text = malloc(cap), *p;

    (void)state;
    assert_non_null(text);
    /* exactly CSV_MAX_FIELDS fields: fine */
    p = text;
    for (int i = 0; i < CSV_MAX_FIELDS; i++) {
        *p++ = 'x';
        *p++ = i + 1 < CSV_MAX_FIELDS ? ',' : '\n';
    }
    *p = '\0';
    {
        csv_reader *r = open_str(text);
        char err[256];
        assert_int_equal(csv_next(r, err, sizeof(err)), 1);
        assert_int_equal(csv_n_fields(r), CSV_MAX_FIELDS);
        csv_destroy(r);
    }
    /* one more: refused on the row's line */
    memmove(text + 4, text, strlen(text) + 1);
    memcpy(text, "h\nx,", 4);
    expect_error(text, CSV_EFORMAT, "bad.csv:2:", "more than 4096 fields");
    free(text);
}

static void test_files(void **state)
{
    char path[512], err[512] = "";
    csv_reader *r = (csv_reader *)&r;
    FILE *f;
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/missing.csv", tmp_dir);
    assert_int_equal(csv_open_file(path, &r, err, sizeof(err)), CSV_EOPEN);
    assert_null(r);
    assert_non_null(strstr(err, "missing.csv: cannot open"));
    assert_int_equal(csv_open_file(tmp_dir, &r, err, sizeof(err)), CSV_EOPEN);
    assert_non_null(strstr(err, "folder"));

    snprintf(path, sizeof(path), "%s/ok.csv", tmp_dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("\xEF\xBB\xBFid,name\r\n1,\"籠原駅南口\"\r\n", f);
    fclose(f);
    assert_int_equal(csv_open_file(path, &r, err, sizeof(err)), 0);
    assert_int_equal(csv_read_header(r, err, sizeof(err)), 0);
    assert_string_equal(csv_name(r), path);
    expect_row(r, 2, 2, "1", "籠原駅南口");
    expect_end(r);
    csv_destroy(r);

    /* A sparse file just over the cap is refused before anything is read. */
    snprintf(path, sizeof(path), "%s/huge.csv", tmp_dir);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)CSV_MAX_FILE_BYTES + 1), 0);
    close(fd);
    assert_int_equal(csv_open_file(path, &r, err, sizeof(err)), CSV_ETOOBIG);
    assert_non_null(strstr(err, "huge.csv: file larger than"));
    unlink(path);
    assert_int_equal(csv_open_mem("m", "x", CSV_MAX_FILE_BYTES + 1, &r, err, sizeof(err)),
                     CSV_ETOOBIG);
    assert_int_equal(csv_open_mem(NULL, "x", 1, &r, err, sizeof(err)), CSV_EINVAL);
}

static void test_numbers(void **state)
{
    static const char *good_d[] = {"36.15", " -1.5e3 ", "+7", ".5", "5.", "0", "1E-3", "\t42\t"};
    static const double good_v[] = {36.15, -1500.0, 7.0, 0.5, 5.0, 0.0, 0.001, 42.0};
    static const char *bad_d[] = {"",    " ",   "abc",   "1e",  "nan", "inf", "0x10", "1.5.2",
                                  "1,5", "- 1", "1e400", "--1", ".",   "e5",  "1 2",  "91"};
    static const char *good_l[] = {"42", "-7", " 3 ", "+0"};
    static const long good_lv[] = {42, -7, 3, 0};
    static const char *bad_l[] = {"", "4.0", "1e2", "99999999999999999999", "x", "5", "-"};
    double d = -1;
    long l = -1;

    (void)state;
    for (size_t i = 0; i < sizeof(good_d) / sizeof(good_d[0]); i++) {
        assert_int_equal(csv_parse_double(good_d[i], -1e6, 1e6, &d), 0);
        assert_true(d == good_v[i]);
    }
    for (size_t i = 0; i < sizeof(bad_d) / sizeof(bad_d[0]); i++) {
        d = -12345;
        if (csv_parse_double(bad_d[i], -90, 90, &d) != CSV_EVALUE)
            fail_msg("\"%s\" accepted as a double", bad_d[i]);
        assert_true(d == -12345); /* untouched */
    }
    for (size_t i = 0; i < sizeof(good_l) / sizeof(good_l[0]); i++) {
        assert_int_equal(csv_parse_long(good_l[i], -100, 100, &l), 0);
        assert_int_equal(l, good_lv[i]);
    }
    for (size_t i = 0; i < sizeof(bad_l) / sizeof(bad_l[0]); i++)
        if (csv_parse_long(bad_l[i], -4, 4, &l) != CSV_EVALUE)
            fail_msg("\"%s\" accepted as a long in -4..4", bad_l[i]);
    assert_int_equal(csv_parse_double(NULL, 0, 1, &d), CSV_EVALUE);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(csv_utf8_valid(""));
    assert_true(csv_utf8_valid("plain ascii"));
    assert_true(csv_utf8_valid("籠原駅南口 Kagohara"));
    assert_true(csv_utf8_valid("\xF0\x9F\x9A\x8C")); /* U+1F68C bus */
    assert_false(csv_utf8_valid("\xFF"));
    assert_false(csv_utf8_valid("\xC0\xAF"));         /* overlong '/' */
    assert_false(csv_utf8_valid("\xE0\x80\xAF"));     /* overlong */
    assert_false(csv_utf8_valid("\xED\xA0\x80"));     /* surrogate */
    assert_false(csv_utf8_valid("\xF4\x90\x80\x80")); /* above U+10FFFF */
    assert_false(csv_utf8_valid("\xE7\xB1"));         /* cut short */
    assert_false(csv_utf8_valid("\x93\xfa\x96\x7b")); /* Shift_JIS 日本 */
    assert_false(csv_utf8_valid(NULL));
    assert_string_equal(csv_strerror(CSV_EFORMAT), "malformed CSV");
    assert_string_equal(csv_strerror(-100), "unknown error");
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Random tables with nasty fields, written with RFC 4180 quoting, read back. */
static void test_round_trip_property(void **state)
{
    static const char alphabet[] = {'a', 'b', ',',    '"',    '\n',  '\r',
                                    ' ', '1', '\xE7', '\xB1', '\xA0'};
    enum { ROWS = 12, MAXF = 6, MAXLEN = 8 };
    char fields[ROWS][MAXF][MAXLEN + 1];
    int n_fields[ROWS];
    char text[ROWS * MAXF * (2 * MAXLEN + 3) + 1];

    (void)state;
    for (int iter = 0; iter < 500; iter++) {
        char *p = text;
        csv_reader *r;
        int crlf = rnd(2);

        for (int i = 0; i < ROWS; i++) {
            n_fields[i] = 1 + rnd(MAXF);
            for (int j = 0; j < n_fields[i]; j++) {
                int len = rnd(MAXLEN + 1), quote = 0;
                for (int k = 0; k < len; k++) {
                    fields[i][j][k] = alphabet[rnd(sizeof(alphabet))];
                    quote |= strchr(",\"\n\r", fields[i][j][k]) != NULL;
                }
                fields[i][j][len] = '\0';
                /* A lone empty field would make an empty line: quote it. */
                quote |= rnd(4) == 0 || (n_fields[i] == 1 && len == 0);
                if (j > 0)
                    *p++ = ',';
                if (quote)
                    *p++ = '"';
                for (int k = 0; k < len; k++) {
                    if (fields[i][j][k] == '"')
                        *p++ = '"';
                    *p++ = fields[i][j][k];
                }
                if (quote)
                    *p++ = '"';
            }
            if (crlf)
                *p++ = '\r';
            *p++ = '\n';
        }
        *p = '\0';
        r = open_str(text);
        for (int i = 0; i < ROWS; i++) {
            char err[256] = "";
            assert_int_equal(csv_next(r, err, sizeof(err)), 1);
            assert_int_equal(csv_n_fields(r), n_fields[i]);
            for (int j = 0; j < n_fields[i]; j++)
                assert_string_equal(csv_field(r, j), fields[i][j]);
        }
        expect_end(r);
        csv_destroy(r);
    }
}

/* Byte soup: every input ends in rows or one error, never a crash. */
static void test_random_bytes(void **state)
{
    static const char alphabet[] = {'a', ',', '"', '\n', '\r', ' ', '\xEF', '\xBB', '\xBF'};
    char text[200];

    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        int len = rnd(sizeof(text));
        csv_reader *r = NULL;
        char err[256];
        int rc, rows = 0;

        for (int k = 0; k < len; k++)
            text[k] = alphabet[rnd(sizeof(alphabet))];
        assert_int_equal(csv_open_mem("soup", text, (size_t)len, &r, err, sizeof(err)), 0);
        while ((rc = csv_next(r, err, sizeof(err))) > 0) {
            assert_true(csv_n_fields(r) >= 1);
            rows++;
        }
        assert_true(rc == 0 || (rc == CSV_EFORMAT && strncmp(err, "soup:", 5) == 0));
        assert_true(rows <= len);
        csv_destroy(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_header),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_line_ends_and_empty_lines),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_round_trip_property),
        cmocka_unit_test(test_random_bytes),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
