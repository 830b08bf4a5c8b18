/*
 * jtext.c - folding Japanese names and phone numbers for search.
 *
 * People type the same name many ways: ヤマダ in katakana, やまだ in
 * hiragana, ﾔﾏﾀﾞ from an old system's half-width export, "やまだ　はな"
 * with an ideographic space, "ＹＡＭＡＤＡ" in full-width letters.  A search
 * that compares bytes finds none of them from the others.  Folding maps all
 * of these to one form (hiragana, ASCII lower case, no spaces) and the
 * search compares the folded query with folded stored text by substring.
 *
 * The algorithm is one pass over the code points: decode one (strictly:
 * overlong forms, surrogates and truncated sequences are refused, so
 * garbage from outside never becomes searchable text), map it, and look at
 * the next one for a voicing mark.  Half-width katakana carry their
 * dakuten (ﾞ) and handakuten (ﾟ) as separate characters after the kana;
 * decomposed (NFD) text carries them as combining U+3099/U+309A.  Both
 * join the kana before them when a voiced form exists (ﾀﾞ -> だ); a mark
 * that has nothing to join is kept as the spacing mark ゛/゜ so that the
 * text stays visible.  The long-vowel mark ー stays on both sides: names
 * such as ユーコ / ゆうこ are spelled differently by people too, and
 * guessing the vowel would create false matches.
 *
 * Every mapping replaces a 3-byte character by a character of at most 3
 * bytes (or by nothing), so the output is never longer than the input.
 *
 * Phone numbers keep digits only, after checking that nothing but
 * separators came with them; the country code becomes the trunk 0 so that
 * +81 90-1234-5678 and 090-1234-5678 are one number.  "81" without a plus
 * is taken as the country code only when 9 or 10 digits follow it (a whole
 * Japanese national number without its 0): a domestic number always starts
 * with 0, so the two cannot be confused.
 *
 * Cost: linear in the input, no allocation.
 */
#include "data/text/jtext.h"

#include <stdint.h>
#include <string.h>

const char *jt_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "ok";
#define JT_CASE(name, val, msg)                                                                    \
    case name:                                                                                     \
        return msg;
        JT_ERRORS(JT_CASE)
#undef JT_CASE
    default:
        return "unknown jtext error";
    }
}

/* Decodes one code point at s (n bytes left); its length into *len.
 * -1 for invalid UTF-8. */
static int32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t c;
    size_t need;

    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 2;
        c = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 3;
        c = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 4;
        c = s[0] & 0x07;
    } else {
        return -1;
    }
    if (n < need)
        return -1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    /* overlong forms, surrogates and beyond U+10FFFF are refused */
    if ((need == 3 && c < 0x800) || (need == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *len = need;
    return (int32_t)c;
}

/* Appends c to out (cap bytes, *k used); -1 when it does not fit with
 * the terminating NUL. */
static int utf8_put(char *out, size_t cap, size_t *k, uint32_t c)
{
    unsigned char b[4];
    size_t n;

    if (c < 0x80) {
        b[0] = (unsigned char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (unsigned char)(0xC0 | (c >> 6));
        b[1] = (unsigned char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (c >> 12));
        b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (c >> 18));
        b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (c & 0x3F));
        n = 4;
    }
    if (*k + n + 1 > cap)
        return -1;
    memcpy(out + *k, b, n);
    *k += n;
    return 0;
}

/* Half-width katakana U+FF66..U+FF9D as full-width katakana (U+FF70, the
 * half-width long-vowel mark, becomes ー). */
static const uint16_t halfwidth_kana[] = {
    0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, /* ｦｧｨｩｪｫｬｭｮｯ */
    0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF, 0x30B1, /* ｰｱｲｳｴｵｶｷｸｹ */
    0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1, 0x30C4, 0x30C6, /* ｺｻｼｽｾｿﾀﾁﾂﾃ */
    0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, /* ﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍ */
    0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9, /* ﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗ */
    0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3, /* ﾘﾙﾚﾛﾜﾝ */
};

/* One code point, before voicing: its folded form, or 0 to drop it. */
static uint32_t fold_cp(uint32_t c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0x3000)
        return 0;
    if (c == 0x30FB || c == 0xFF65 || c == 0x00B7) /* middle dots */
        return 0;
    if (c >= 0xFF01 && c <= 0xFF5E) /* full-width ASCII */
        c -= 0xFEE0;
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xFF66 && c <= 0xFF9D)
        c = halfwidth_kana[c - 0xFF66];
    if (c >= 0x30A1 && c <= 0x30F6) /* katakana ァ..ヶ -> ぁ..ゖ */
        return c - 0x60;
    if (c == 0x30FD || c == 0x30FE) /* ヽ ヾ -> ゝ ゞ */
        return c - 0x60;
    return c;
}

/* The voiced (mark 1) or semi-voiced (mark 2) form of hiragana h, or 0. */
static uint32_t voiced(uint32_t h, int mark)
{
    if (mark == 1) {
        if (h >= 0x304B && h <= 0x3061 && (h & 1)) /* か..ち */
            return h + 1;
        if (h == 0x3064 || h == 0x3066 || h == 0x3068) /* つ て と */
            return h + 1;
        if (h == 0x3046) /* う -> ゔ */
            return 0x3094;
        if (h == 0x309D) /* ゝ -> ゞ */
            return 0x309E;
    }
    if (h >= 0x306F && h <= 0x307B && (h - 0x306F) % 3 == 0) /* は ひ ふ へ ほ */
        return h + (uint32_t)mark;
    return 0;
}

/* 1 dakuten, 2 handakuten (half-width, combining or spacing), else 0. */
static int voicing_mark(uint32_t c)
{
    if (c == 0xFF9E || c == 0x3099 || c == 0x309B)
        return 1;
    if (c == 0xFF9F || c == 0x309A || c == 0x309C)
        return 2;
    return 0;
}

/* Folds in into out at *k (out stays NUL-terminated at every step). */
static int fold_into(const char *in, char *out, size_t cap, size_t *k)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t n = strlen(in), i = 0, len;
    uint32_t prev = 0; /* the last emitted code point, if a voicing mark may join it */
    size_t prev_at = 0;

    while (i < n) {
        int32_t c = utf8_next(s + i, n - i, &len);
        if (c < 0)
            return JT_EUTF8;
        i += len;
        int mark = voicing_mark((uint32_t)c);
        if (mark != 0 && prev != 0 && voiced(prev, mark) != 0) {
            /* replace the kana just written by its voiced form (same width) */
            *k = prev_at;
            if (utf8_put(out, cap, k, voiced(prev, mark)) < 0)
                return JT_ENOSPC;
            out[*k] = '\0';
            prev = 0;
            continue;
        }
        uint32_t f = mark != 0 ? (mark == 1 ? 0x309B : 0x309C) : fold_cp((uint32_t)c);
        if (f == 0)
            continue; /* dropped; a following mark has nothing to join */
        prev_at = *k;
        if (utf8_put(out, cap, k, f) < 0)
            return JT_ENOSPC;
        out[*k] = '\0';
        prev = mark != 0 ? 0 : f;
    }
    return 0;
}

int jt_fold_name(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    int rc;

    if (cap == 0)
        return JT_ENOSPC;
    out[0] = '\0';
    rc = fold_into(in != NULL ? in : "", out, cap, &k);
    if (rc < 0)
        out[0] = '\0';
    return rc;
}

int jt_fold_rider(const char *name, const char *kana, char *out, size_t cap)
{
    size_t k = 0;
    int rc;

    if (cap == 0)
        return JT_ENOSPC;
    out[0] = '\0';
    rc = fold_into(name != NULL ? name : "", out, cap, &k);
    if (rc == 0 && k + 2 > cap)
        rc = JT_ENOSPC;
    if (rc == 0) {
        out[k++] = ' ';
        out[k] = '\0';
        rc = fold_into(kana != NULL ? kana : "", out, cap, &k);
    }
    if (rc < 0)
        out[0] = '\0';
    return rc;
}

/* 1 for the separators a phone number is written with. */
static int phone_separator(uint32_t c)
{
    switch (c) {
    case '-':
    case ' ':
    case '\t':
    case '.':
    case '(':
    case ')':
    case 0x2010: /* hyphen */
    case 0x2011: /* non-breaking hyphen */
    case 0x2012: /* figure dash */
    case 0x2013: /* en dash */
    case 0x2014: /* em dash */
    case 0x2015: /* horizontal bar */
    case 0x2212: /* minus sign */
    case 0x30FC: /* ー, typed for a hyphen in kana input */
    case 0xFF70: /* ｰ */
    case 0xFF0D: /* － */
    case 0xFF08: /* （ */
    case 0xFF09: /* ） */
    case 0xFF0E: /* ． */
    case 0x3000:
        return 1;
    default:
        return 0;
    }
}

int jt_fold_phone(const char *in, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)(in != NULL ? in : "");
    size_t n = strlen((const char *)s), i = 0, len, k = 0;
    int plus = 0, rc = 0;

    if (cap == 0)
        return JT_ENOSPC;
    out[0] = '\0';
    /* invalid UTF-8 is named as such wherever it is, before any other refusal */
    for (size_t j = 0; j < n; j += len)
        if (utf8_next(s + j, n - j, &len) < 0)
            return JT_EUTF8;
    while (i < n) {
        int32_t c = utf8_next(s + i, n - i, &len);
        if (c < 0) {
            rc = JT_EUTF8;
            goto out;
        }
        i += len;
        if (c >= 0xFF10 && c <= 0xFF19)
            c -= 0xFEE0;
        if (c == 0xFF0B)
            c = '+';
        if (c >= '0' && c <= '9') {
            if (k + 2 > cap) {
                rc = JT_ENOSPC;
                goto out;
            }
            out[k++] = (char)c;
            out[k] = '\0';
        } else if (c == '+' && k == 0 && !plus) {
            plus = 1;
        } else if (!phone_separator((uint32_t)c)) {
            rc = JT_EPHONE;
            goto out;
        }
    }
    if (plus && strncmp(out, "81", 2) != 0) {
        rc = JT_EPHONE; /* another country: not a number this service can call back */
        goto out;
    }
    if (strncmp(out, "81", 2) == 0 && (plus || k == 11 || k == 12)) {
        /* +81 (0)90...: the trunk 0 was written already */
        size_t skip = out[2] == '0' ? 2 : 1;
        memmove(out, out + skip, k - skip + 1);
        if (skip == 1)
            out[0] = '0';
    }
out:
    if (rc < 0)
        out[0] = '\0';
    return rc;
}
