/*
 * jtext.h - folding Japanese text for search: names (kana, widths, case,
 * spaces) and phone numbers (digits, country prefix).  Pure functions over
 * the caller's buffers: no allocation, no locale, no globals.
 *
 * A search folds both sides the same way and compares by substring, so
 * ヤマダ, やまだ, ﾔﾏﾀﾞ and "やまだ はな" all find a rider stored as
 * "山田 花子 / やまだ はなこ".
 *
 * Errors: 0, or a negative JT_E* code; jt_strerror names it.  On error the
 * output holds "" (when cap > 0).
 */
#ifndef NORIAI_JTEXT_H
#define NORIAI_JTEXT_H

#include <stddef.h>

#define JT_ERRORS(X)                                                                               \
    X(JT_EUTF8, -1, "the text is not valid UTF-8")                                                 \
    X(JT_ENOSPC, -2, "the output buffer is too small")                                             \
    X(JT_EPHONE, -3, "not a phone number (digits, hyphens, spaces, parentheses, a leading +)")

enum {
#define JT_ENUM(name, val, msg) name = val,
    JT_ERRORS(JT_ENUM)
#undef JT_ENUM
};

const char *jt_strerror(int rc);

/*
 * Name folding, UTF-8 in, UTF-8 out (NUL-terminated):
 *   katakana (full and half width) -> hiragana; a half-width or combining
 *     dakuten/handakuten joins the kana before it (ﾀﾞ -> だ, ﾊﾟ -> ぱ);
 *   full-width ASCII -> ASCII; ASCII letters lower-cased;
 *   spaces (ASCII whitespace, U+3000) and middle dots (・ ･ ·) removed;
 *   the long-vowel mark ー (and half-width ｰ as ー) kept;
 *   everything else (kanji, hiragana, punctuation) copied.
 * The output is never longer than the input: cap = strlen(in) + 1 always
 * suffices.  JT_EUTF8 for invalid UTF-8 (overlong, surrogates, truncated),
 * JT_ENOSPC when cap is short.
 */
int jt_fold_name(const char *in, char *out, size_t cap);

/*
 * A rider's searchable text: fold(name) + " " + fold(kana).  The space
 * never occurs inside folded text, so a folded query cannot match across
 * the two.  cap = strlen(name) + strlen(kana) + 2 always suffices.
 */
int jt_fold_rider(const char *name, const char *kana, char *out, size_t cap);

/*
 * Phone folding to the digits a Japanese number is dialled with at home:
 * full-width digits -> ASCII; hyphens (- ‐ − － ー ｰ and dashes), spaces,
 * dots and parentheses (ASCII and full-width) dropped; a country code
 * "+81" (or "81" when what follows is a whole national number of 9-10
 * digits, or "+81 (0)") becomes the leading 0.  "" in gives "".
 * JT_EPHONE for any other character (letters, "+" not at the start),
 * JT_EUTF8, JT_ENOSPC.
 */
int jt_fold_phone(const char *in, char *out, size_t cap);

#endif
