// The official dossier code (mã hồ sơ) the phone gives at the door from a block the server reserved for it: the
// server's pattern (DOSSIER_CODE_PATTERN, Python format syntax, "{agency}-{yy}{mm}{dd}-{seq:04d}") applied as
// server/dossiers/codes.py format_code applies it. A module of its own, with no imports, so that the parity tests
// can run it under Node (tests/test_parity_codes.py) as well as in the browser.

/** The code of the `number`-th dossier of `agencyCode` on `day` ("YYYY-MM-DD") with the server's `pattern`. */
export function formatCode(pattern, agencyCode, day, number) {
  const [yyyy, mm, dd] = day.split("-");
  const values = { agency: agencyCode, yyyy, yy: yyyy.slice(2), mm, dd };
  return pattern.replace(/\{(\w+)(?::0?(\d+)d)?\}/g, (whole, name, width) => {
    if (name === "seq") return width ? String(number).padStart(Number(width), "0") : String(number);
    return name in values ? values[name] : whole;
  });
}
