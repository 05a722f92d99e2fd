"""pwa/lib/search.js's fold under Node against server/dossiers/search_text.py's: the phone's search (procedures,
visits) and the desk's search of dossiers ignore diacritics, case and spaces the same way, so "tran thi binh" finds
"Trần Thị Bình" on both.

The two agree on everything Vietnamese and Latin text holds (tests/parity_cases.py's fold_texts). They differ
outside it, harmlessly for a Vietnamese search: a mark Unicode gives no combining class (a Devanagari vowel sign,
an enclosing circle, the invisible combining grapheme joiner U+034F) is dropped by the phone (every \\p{M}) and
kept by the server (unicodedata.combining), and U+0085 is a space to Python, U+FEFF to JavaScript.
"""

from __future__ import annotations

from server.dossiers.search_text import fold
from tests import parity_cases
from tests.js_bridge import evaluate
from tests.js_bridge import requires_node

pytestmark = requires_node


def test_fold_is_the_servers():
    texts = parity_cases.fold_texts()
    phone = evaluate("""async (texts) => {
        const { fold } = await import(pwa("lib/search.js"));
        return texts.map((text) => fold(text));
    }""", texts)
    mismatches = parity_cases.fold_mismatches(texts, phone, fold)
    assert mismatches == [], "\n".join(map(repr, mismatches[:40]))
