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

/**
 * How well a folded haystack answers the query, as a list of numbers compared in turn (higher is better); null
 * when some word of the query is missing.
 *
 * 1. where the whole phrase stands: at the start (4), at a word start (3), anywhere (2), not at all (1);
 * 2. how many query words are whole words of the text, then how many start a word (a prefix typed in a hurry);
 * 3. whether those words come in the query's order;
 * 4. how much of the text the query covers: of two names that both hold "tro cap huu tri", the one with fewer
 *    other words ("... trợ cấp hưu trí xã hội", the pension itself) is the closer match than the longer one that
 *    merely mentions it ("Hỗ trợ chi phí mai táng đối với đối tượng hưởng trợ cấp hưu trí xã hội").
 */
function score(terms, phrase, haystack) {
  if (!haystack || !terms.every((term) => haystack.includes(term))) return null;
  const words = haystack.split(" ");
  let place = 1;
  if (haystack.startsWith(phrase)) place = 4;
  else if (haystack.includes(` ${phrase}`)) place = 3;
  else if (haystack.includes(phrase)) place = 2;
  const whole = terms.filter((term) => words.includes(term)).length;
  const prefix = terms.filter((term) => words.some((word) => word.startsWith(term))).length;
  // In order: each term found as a word start after the previous one.
  let position = -1;
  let inOrder = 1;
  for (const term of terms) {
    const next = words.findIndex((word, index) => index > position && word.startsWith(term));
    if (next < 0) {
      inOrder = 0;
      break;
    }
    position = next;
  }
  return [place, whole, prefix, inOrder, Math.min(1, terms.length / words.length)];
}

/** Lexicographic order of two scores (see score()): negative when `a` is the better. */
function compareScores(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return b[i] - a[i];
  return 0;
}

/**
 * Items matching `query`, best first (see score(): the whole phrase at the start, then at a word start, then
 * anywhere; then whole words before prefixes, in order, and the name the query covers most); ties keep the items'
 * order. An empty query returns every item.
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
    const scores = keys.map((key) => score(terms, phrase, fold(item[key]))).filter(Boolean);
    if (!scores.length) return;
    const best = scores.sort(compareScores)[0];
    ranked.push({ item, index, best });
  });
  ranked.sort((a, b) => compareScores(a.best, b.best) || a.index - b.index);
  return ranked.slice(0, limit).map((entry) => entry.item);
}
