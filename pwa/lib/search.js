// Search that ignores Vietnamese diacritics and case: "tro cap" finds "Trợ cấp xã hội hàng tháng", "d" finds "đ".
// Officers type fast on small keyboards, often without the Vietnamese input method; citizens' names and procedure
// titles are written with full diacritics.

const COMBINING_MARKS = /\p{M}+/gu;
const SPACES = /\s+/gu;

/**
 * The searchable form of `text`: decomposed (NFD) so that tone and vowel marks become separate characters that are
 * then dropped ("ợ" → "o"), "đ"/"Đ" (a letter of its own, with no decomposition) mapped to "d", lower-cased, with
 * runs of spaces made one.
 */
export function fold(text) {
  return String(text ?? "")
    .normalize("NFD")
    .replace(COMBINING_MARKS, "")
    .replace(/[đĐ]/gu, "d")
    .toLowerCase()
    .replace(SPACES, " ")
    .trim();
}

/** The words of a query, folded. */
export function queryTerms(query) {
  const folded = fold(query);
  return folded ? folded.split(" ") : [];
}

/** True when every word of `query` occurs in `text` (in any order, as a prefix or inside a word). */
export function matches(query, text) {
  const haystack = fold(text);
  return queryTerms(query).every((term) => haystack.includes(term));
}

/** How well a folded haystack answers the query: higher is better, 0 means no match. */
function score(terms, phrase, haystack) {
  if (!terms.every((term) => haystack.includes(term))) return 0;
  if (haystack.startsWith(phrase)) return 4;
  if (haystack.includes(` ${phrase}`)) return 3;
  if (haystack.includes(phrase)) return 2;
  return 1;
}

/**
 * Items matching `query`, best first (the whole phrase at the start, then at a word start, then anywhere, then the
 * words in any order); ties keep the items' order. An empty query returns every item.
 *
 * @param items objects to search.
 * @param keys the fields to look in (for example ["name_vi", "national_code"]); the best field counts.
 * @param options `limit`: at most this many results.
 */
export function search(items, query, keys, options = {}) {
  const terms = queryTerms(query);
  const limit = options.limit ?? Infinity;
  if (!terms.length) return items.slice(0, limit);
  const phrase = terms.join(" ");
  const ranked = [];
  items.forEach((item, index) => {
    const best = Math.max(...keys.map((key) => score(terms, phrase, fold(item[key]))));
    if (best > 0) ranked.push({ item, index, best });
  });
  ranked.sort((a, b) => b.best - a.best || a.index - b.index);
  return ranked.slice(0, limit).map((entry) => entry.item);
}
