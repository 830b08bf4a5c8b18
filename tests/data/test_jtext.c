/*
 * test_jtext.c - folding names and phone numbers for search: every way a
 * person writes a Japanese name (katakana, hiragana, half-width kana with
 * separate voicing marks, NFD combining marks, full-width letters, spaces,
 * middle dots) folds to one form; phone numbers in their usual forms fold
 * to the same digits; invalid UTF-8 and non-phone text are refused with
 * the output left empty; short buffers are refused, never overrun; random
 * bytes never crash (this program also runs under ASan+UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text/jtext.h"

static void expect_name(const char *in, const char *want)
{
    char out[256];
    int rc = jt_fold_name(in, out, sizeof(out));

    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("fold_name(\"%s\") = %d \"%s\", want \"%s\"", in, rc, out, want);
}

static void expect_phone(const char *in, const char *want)
{
    char out[64];
    int rc = jt_fold_phone(in, out, sizeof(out));

    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("fold_phone(\"%s\") = %d \"%s\", want \"%s\"", in, rc, out, want);
}

static void test_names_kana(void **state)
{
    (void)state;
    expect_name("ヤマダ", "やまだ");
    expect_name("やまだ", "やまだ");
    expect_name("ﾔﾏﾀﾞ", "やまだ");
    expect_name("ﾊﾟﾝﾀﾞ", "ぱんだ");
    expect_name("ﾎﾞｰﾙ", "ぼーる");
    expect_name("ｳﾞｧｲｵﾘﾝ", "ゔぁいおりん");
    expect_name("ヴァイオリン", "ゔぁいおりん");
    expect_name("ガギグゲゴ", "がぎぐげご");
    expect_name("パピプペポ", "ぱぴぷぺぽ");
    expect_name("ヅヂ", "づぢ");
    expect_name("ｯｬｭｮｧ", "っゃゅょぁ");
    expect_name("ｦﾝ", "をん");
    expect_name("ヵヶ", "ゕゖ");
    expect_name("ヽヾ", "ゝゞ");
    /* NFD: a combining mark joins the kana before it */
    expect_name("タ\xe3\x82\x99", "だ");
    expect_name("は\xe3\x82\x9a", "ぱ");
    expect_name("ｶ\xe3\x82\x99", "が");
    /* a mark with nothing to join stays visible as the spacing mark */
    expect_name("ﾞ", "゛");
    expect_name("アﾞ", "あ゛");
    expect_name("ﾟﾟ", "゜゜");
    expect_name("ﾀﾞﾞ", "だ゛");
    expect_name(" ﾞ", "゛");
    /* the long-vowel mark is kept on both sides, not guessed */
    expect_name("ユーコ", "ゆーこ");
    expect_name("ゆうこ", "ゆうこ");
    expect_name("ｽｰﾊﾟｰ", "すーぱー");
    expect_name("スーパー", "すーぱー");
}

static void test_names_width_space(void **state)
{
    (void)state;
    expect_name("やまだ はな", "やまだはな");
    expect_name("やまだ　はな", "やまだはな");
    expect_name(" やまだ\tはな \n", "やまだはな");
    expect_name("ジョン・スミス", "じょんすみす");
    expect_name("ｼﾞｮﾝ･ｽﾐｽ", "じょんすみす");
    expect_name("John·Smith", "johnsmith");
    expect_name("ＹＡＭＡＤＡ Ｈａｎａ", "yamadahana");
    expect_name("Yamada Hana", "yamadahana");
    expect_name("０９０１２", "09012");
    expect_name("山田　花子", "山田花子");
    expect_name("山田 はなこ（ﾔﾏﾀﾞ）", "山田はなこ(やまだ)");
    expect_name("100% ok_", "100%ok_");
    expect_name("", "");
    expect_name("   ", "");
    expect_name("Ä é 😀", "Äé😀");
}

static void test_names_match(void **state)
{
    /* the examples: each query folds to a substring of the stored fold */
    static const char *const queries[] = {"ヤマダ",      "やまだ",  "ﾔﾏﾀﾞ",   "やまだはな",
                                          "やまだ はな", "ﾔﾏﾀﾞ ﾊﾅ", "ハナコ", "山田"};
    char stored[128], q[128];

    (void)state;
    assert_int_equal(jt_fold_rider("山田 花子", "やまだ はなこ", stored, sizeof(stored)), 0);
    assert_string_equal(stored, "山田花子 やまだはなこ");
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        assert_int_equal(jt_fold_name(queries[i], q, sizeof(q)), 0);
        if (strstr(stored, q) == NULL)
            fail_msg("\"%s\" (folded \"%s\") does not find \"%s\"", queries[i], q, stored);
    }
    /* no match across the name/kana boundary */
    assert_int_equal(jt_fold_name("花子やま", q, sizeof(q)), 0);
    assert_null(strstr(stored, q));
    assert_int_equal(jt_fold_name("すずき", q, sizeof(q)), 0);
    assert_null(strstr(stored, q));
    assert_int_equal(jt_fold_rider(NULL, NULL, stored, sizeof(stored)), 0);
    assert_string_equal(stored, " ");
}

static void test_names_refused(void **state)
{
    static const char *const bad[] = {
        "\xff",             /* never valid */
        "\xc0\xaf",         /* overlong / */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "\xe3\x82",         /* truncated */
        "やま\x80",         /* stray continuation byte */
        "ﾔﾏ\xe3",           /* truncated at the end */
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(out, "junk", 5);
        assert_int_equal(jt_fold_name(bad[i], out, sizeof(out)), JT_EUTF8);
        assert_string_equal(out, "");
        memcpy(out, "junk", 5);
        assert_int_equal(jt_fold_phone(bad[i], out, sizeof(out)), JT_EUTF8);
        assert_string_equal(out, "");
        assert_int_equal(jt_fold_rider("a", bad[i], out, sizeof(out)), JT_EUTF8);
        assert_string_equal(out, "");
    }
    assert_string_equal(jt_strerror(JT_EUTF8), "the text is not valid UTF-8");
    assert_non_null(strstr(jt_strerror(JT_EPHONE), "phone"));
    assert_string_equal(jt_strerror(-99), "unknown jtext error");
}

static void test_names_buffer(void **state)
{
    char out[16];

    (void)state;
    /* strlen + 1 always suffices; one byte less is refused */
    assert_int_equal(jt_fold_name("ヤマダ", out, strlen("ヤマダ") + 1), 0);
    assert_string_equal(out, "やまだ");
    assert_int_equal(jt_fold_name("ヤマダ", out, 9), JT_ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(jt_fold_name("a", out, 0), JT_ENOSPC);
    assert_int_equal(jt_fold_name("a", out, 1), JT_ENOSPC);
    assert_int_equal(jt_fold_name("", out, 1), 0);
    assert_int_equal(jt_fold_rider("ab", "cd", out, 6), 0);
    assert_string_equal(out, "ab cd");
    assert_int_equal(jt_fold_rider("ab", "cd", out, 5), JT_ENOSPC);
    assert_int_equal(jt_fold_rider("ab", "", out, 3), JT_ENOSPC);
    assert_int_equal(jt_fold_phone("090-1234-5678", out, 11), JT_ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(jt_fold_phone("090-1234-5678", out, 12), 0);
    assert_int_equal(jt_fold_phone("+81 90-1234-5678", out, 13), 0);
    assert_string_equal(out, "09012345678");
}

static void test_phone_forms(void **state)
{
    static const char *const same[] = {
        "090-1234-5678",
        "09012345678",
        "090 1234 5678",
        "(090) 1234-5678",
        "０９０－１２３４－５６７８",
        "０９０ー１２３４ー５６７８",
        "+81 90-1234-5678",
        "+819012345678",
        "+81 (0)90-1234-5678",
        "81 90 1234 5678",
        "８１９０１２３４５６７８",
        "＋８１　９０　１２３４　５６７８",
        "090.1234.5678",
        "090‐1234‐5678",
        "090−1234−5678",
        "（090）1234–5678",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        expect_phone(same[i], "09012345678");
    expect_phone("03-1234-5678", "0312345678");
    expect_phone("+81 3-1234-5678", "0312345678");
    expect_phone("81312345678", "0312345678");
    expect_phone("0120-000-000", "0120000000");
    /* partial numbers as typed into a search stay as they are */
    expect_phone("5678", "5678");
    expect_phone("1234-5678", "12345678");
    expect_phone("81", "81");
    expect_phone("8112", "8112");
    expect_phone("", "");
    expect_phone(NULL, "");
    expect_phone(" - ", "");
}

static void test_phone_refused(void **state)
{
    static const char *const bad[] = {"090-1234-5678 自宅", "abc", "090+1234",   "++81 90",
                                      "+1 555 0100",        "+",   "tel:0901234"};
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(out, "junk", 5);
        if (jt_fold_phone(bad[i], out, sizeof(out)) != JT_EPHONE)
            fail_msg("\"%s\" was not refused", bad[i]);
        assert_string_equal(out, "");
    }
}

/* Random bytes: an answer and a terminated output, never longer than the
 * input, never a crash. */
static void test_random_bytes(void **state)
{
    unsigned char in[64];
    char out[80];
    uint64_t x = 0x9E3779B97F4A7C15ull;

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 63);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* bias toward the kana blocks' lead and continuation bytes */
            in[i] = (unsigned char)((x & 3) == 0   ? 0xEF
                                    : (x & 3) == 1 ? 0xBD + (x >> 8) % 3
                                                   : x >> 16);
            if (in[i] == 0)
                in[i] = 'a';
        }
        in[n] = '\0';
        int rc = jt_fold_name((const char *)in, out, n + 1);
        assert_true(rc == 0 || rc == JT_EUTF8);
        assert_true(strlen(out) <= n);
        rc = jt_fold_phone((const char *)in, out, sizeof(out));
        assert_true(rc == 0 || rc == JT_EUTF8 || rc == JT_EPHONE);
        assert_true(strlen(out) < sizeof(out));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_kana),    cmocka_unit_test(test_names_width_space),
        cmocka_unit_test(test_names_match),   cmocka_unit_test(test_names_refused),
        cmocka_unit_test(test_names_buffer),  cmocka_unit_test(test_phone_forms),
        cmocka_unit_test(test_phone_refused), cmocka_unit_test(test_random_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
