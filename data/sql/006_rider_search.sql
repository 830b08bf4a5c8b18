-- 006_rider_search.sql - riders that can be found and de-duplicated.
--
-- name_fold is what a search by name compares: data/text/jtext.c's
-- jt_fold_rider(name, name_kana), i.e. fold(name) || ' ' || fold(kana),
-- where fold is katakana -> hiragana, half-width kana -> full, full-width
-- ASCII -> ASCII, ASCII lower case, spaces and middle dots removed.  The
-- daemon writes it for every rider it registers or edits; this file fills
-- it for the rows that exist, in SQL: NFKC (PostgreSQL 13+) joins
-- half-width kana with their voicing marks and narrows full-width ASCII,
-- translate() does the rest.  For kana, ASCII and spaces this equals the C
-- fold; NFKC also rewrites rarer compatibility characters (circled digits,
-- ㈱) that the C fold leaves alone - such a row is found again by the C
-- fold once it is edited.
--
-- phone_digits becomes the normalised number (jt_fold_phone): digits only,
-- the country code +81 (or 81 before a whole national number) as the
-- leading 0, so +81 90-1234-5678 and 090-1234-5678 are the same rider.
--
-- merged_into marks a rider merged into another (POST
-- /v1/riders/{id}/merge): the row stays (old bookings and tokens name it)
-- but searches and the duplicate check skip it.
ALTER TABLE riders ADD COLUMN name_fold text NOT NULL DEFAULT '';
ALTER TABLE riders ADD COLUMN merged_into text REFERENCES riders (id);
ALTER TABLE riders ADD COLUMN merged_at timestamptz;
ALTER TABLE riders ADD CONSTRAINT riders_not_merged_into_self CHECK (merged_into <> id);

UPDATE riders SET name_fold = translate(regexp_replace(normalize(name, NFKC), '[[:space:]\u3000\u30FB\u00B7]', '', 'g'),
        'ABCDEFGHIJKLMNOPQRSTUVWXYZァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロヮワヰヱヲンヴヵヶヽヾ',
        'abcdefghijklmnopqrstuvwxyzぁあぃいぅうぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねのはばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわゐゑをんゔゕゖゝゞ')
    || ' ' || translate(regexp_replace(normalize(name_kana, NFKC), '[[:space:]\u3000\u30FB\u00B7]', '', 'g'),
        'ABCDEFGHIJKLMNOPQRSTUVWXYZァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロヮワヰヱヲンヴヵヶヽヾ',
        'abcdefghijklmnopqrstuvwxyzぁあぃいぅうぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねのはばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわゐゑをんゔゕゖゝゞ');

UPDATE riders SET phone_digits = CASE
    WHEN d LIKE '+810%' THEN substr(d, 4)
    WHEN d LIKE '+81%' THEN '0' || substr(d, 4)
    WHEN d ~ '^810[0-9]{8,9}$' THEN substr(d, 3)
    WHEN d ~ '^81[0-9]{9,10}$' THEN '0' || substr(d, 3)
    ELSE replace(d, '+', '') END
FROM (SELECT id AS rid, regexp_replace(normalize(phone, NFKC), '[^0-9+]', '', 'g') AS d
      FROM riders) AS p
WHERE riders.id = p.rid;

-- The duplicate check at registration looks up one exact number among
-- riders not merged.  A search by name is a substring match (LIKE
-- '%...%'): a town has thousands of riders, not millions, so a scan of
-- name_fold costs a few milliseconds; no trigram index (pg_trgm is not
-- everywhere).
CREATE INDEX riders_phone_active ON riders (phone_digits) WHERE merged_into IS NULL;
