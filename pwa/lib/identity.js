// Personal ID and phone checks on the phone: the rules of server/people/identity.py, with the same codes and the
// same Vietnamese and English messages, so that what the officer is told at the door is what the server will say.
//
// The data is the server's own, never a copy typed into this file: the place-code table is
// server/people/data/id_place_codes.json and the phone rules are libphonenumber's metadata for Viet Nam, both served
// under /pwa-data/ (server/pwa_routes.py) and cached by the service worker. `loadIdentityData()` fetches them.
//
// A check never throws on what a person typed: it returns `{..., findings, ok, codes}`, where `findings` are
// `{field, code, severity, vi, en}`. "error" findings block saving; "warning" findings are shown but accepted.
// The personal ID number has no checksum, so none is checked.

export const ERROR = "error";
export const WARNING = "warning";
export const PERSONAL_ID_FIELD = "personal_id";
export const PHONE_FIELD = "phone";

const PERSONAL_ID_LENGTH = 12;
const LEGACY_ID_LENGTH = 9;
const MALE = "male";
const FEMALE = "female";
const GENDER_VI = { [MALE]: "nam", [FEMALE]: "nữ" };

// Officers copy numbers from cards and paper, where they are grouped with spaces, dots or dashes.
const ID_SEPARATORS = /[\s.-]+/g;
const ASCII_DIGITS = /^[0-9]+$/;

// libphonenumber's limits (phonenumberutil): shortest and longest national significant numbers.
const MIN_NSN_LENGTH = 2;
const MAX_NSN_LENGTH = 17;
const MAX_COUNTRY_CODE_LENGTH = 3;

/** Fetch the place-code table and the phone rules (answered by the service worker's cache when offline). */
export async function loadIdentityData(fetchFn = globalThis.fetch) {
  const get = async (url) => {
    const response = await fetchFn(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.json();
  };
  const [placeCodes, phoneRules] = await Promise.all([
    get("/pwa-data/id_place_codes.json"),
    get("/pwa-data/phone_vn.json"),
  ]);
  return { placeCodes, phoneRules };
}

/** The message of a finding in `locale` ("vi", "en", "en_US", "en-GB"…); any other locale gets Vietnamese. */
export function message(finding, locale) {
  if (locale && String(locale).trim().toLowerCase().split(/[-_]/)[0] === "en") return finding.en;
  return finding.vi;
}

function result(fields, findings) {
  return { ...fields, findings, ok: !findings.some((f) => f.severity === ERROR), codes: findings.map((f) => f.code) };
}

// --- place codes ---

/** Name of a birth-registration place code: a legacy province (001–096) or a country (101–295); null if unknown. */
export function placeName(code, data, locale = "vi") {
  const table = data.placeCodes;
  if (Object.hasOwn(table.provinces, code)) return table.provinces[code];
  const english = Boolean(locale) && String(locale).toLowerCase().startsWith("en");
  const names = table[english ? "countries_en" : "countries"];
  return Object.hasOwn(names, code) ? names[code] : null;
}

// --- personal ID ---

function idFinding(code, severity, vi, en) {
  return { field: PERSONAL_ID_FIELD, code: `personal_id.${code}`, severity, vi, en };
}

function idResult(findings, value = null, kind = null) {
  return result(
    { value, kind, place_code: null, place_name: null, born_abroad: false, birth_year: null, gender: null },
    findings,
  );
}

function normaliseGender(gender) {
  const value = gender !== null && typeof gender === "object" && "value" in gender ? gender.value : gender;
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "string" && [MALE, FEMALE].includes(value.trim().toLowerCase())) {
    return value.trim().toLowerCase();
  }
  throw new RangeError(`gender must be "${MALE}", "${FEMALE}" or null, not ${JSON.stringify(gender)}`);
}

function yearOf(value) {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return value.getFullYear();
  const match = /^(\d{4})-\d{2}-\d{2}$/.exec(String(value));
  if (!match) throw new RangeError(`a date is YYYY-MM-DD, not ${value}`);
  return Number(match[1]);
}

/** This year in Viet Nam (UTC+7), whatever the phone's time zone. */
function currentYear() {
  return new Date(Date.now() + 7 * 3600 * 1000).getUTCFullYear();
}

/**
 * Check a personal identification number (số định danh cá nhân) `PPP G YY NNNNNN`.
 *
 * @param raw what was typed; spaces, dots and dashes are ignored.
 * @param data from loadIdentityData().
 * @param options `dateOfBirth` ("YYYY-MM-DD": a different year gives a warning), `gender` ("male"/"female": a
 *   different gender gives a warning), `today` ("YYYY-MM-DD", for the "born in the future" rule), `allowLegacy`
 *   (accept a 9-digit CMND number as a legacy reference, with a warning).
 */
export function checkPersonalId(raw, data, options = {}) {
  const statedGender = normaliseGender(options.gender);
  const thisYear = options.today ? yearOf(options.today) : currentYear();
  const findings = [];

  const digits = String(raw ?? "").replace(ID_SEPARATORS, "");
  if (!digits) {
    return idResult([
      idFinding(
        "required",
        ERROR,
        "Vui lòng nhập số định danh cá nhân.",
        "Please enter the personal identification number.",
      ),
    ]);
  }
  if (!ASCII_DIGITS.test(digits)) {
    return idResult([
      idFinding(
        "not_digits",
        ERROR,
        "Số định danh cá nhân chỉ được gồm chữ số.",
        "The personal identification number may contain digits only.",
      ),
    ]);
  }
  if (digits.length === LEGACY_ID_LENGTH) {
    if (!options.allowLegacy) {
      return idResult([
        idFinding(
          "legacy_number",
          ERROR,
          "Đây là số CMND 9 chữ số cũ. Vui lòng nhập số định danh cá nhân 12 chữ số.",
          "This is an old 9-digit ID card (CMND) number. Please enter the 12-digit personal identification number.",
        ),
      ]);
    }
    return idResult(
      [
        idFinding(
          "legacy_reference",
          WARNING,
          "Số CMND 9 chữ số chỉ được lưu để đối chiếu với giấy tờ cũ.",
          "The 9-digit CMND number is kept only for cross-reference with old documents.",
        ),
      ],
      digits,
      "legacy_id",
    );
  }
  if (digits.length !== PERSONAL_ID_LENGTH) {
    return idResult([
      idFinding(
        "length",
        ERROR,
        "Số định danh cá nhân phải gồm đúng 12 chữ số.",
        "The personal identification number must have exactly 12 digits.",
      ),
    ]);
  }

  const placeCode = digits.slice(0, 3);
  const centuryGender = Number(digits[3]);
  const yy = Number(digits.slice(4, 6));
  const table = data.placeCodes;
  const bornAbroad = Object.hasOwn(table.countries, placeCode);
  const name =
    (Object.hasOwn(table.provinces, placeCode) && table.provinces[placeCode]) ||
    (bornAbroad && table.countries[placeCode]) ||
    null;
  if (name === null) {
    findings.push(
      idFinding(
        "place",
        ERROR,
        `Ba chữ số đầu (${placeCode}) không phải mã nơi đăng ký khai sinh hợp lệ.`,
        `The first three digits (${placeCode}) are not a valid birth-registration place code.`,
      ),
    );
  }

  // Even digits are male, odd are female; each pair of G values is one century starting with 1900 (G = 0/1).
  const birthYear = (Math.floor(centuryGender / 2) + 19) * 100 + yy;
  const idGender = centuryGender % 2 ? FEMALE : MALE;

  // When the stated date of birth has the same two-digit year, the century digit is the likely typo: a warning,
  // not a "future" error.
  const dobYear = yearOf(options.dateOfBirth);
  const centuryOnly = dobYear !== null && dobYear !== birthYear && dobYear % 100 === yy;
  if (birthYear > thisYear && !centuryOnly) {
    findings.push(
      idFinding(
        "future_birth_year",
        ERROR,
        `Năm sinh theo số định danh (${birthYear}) là năm trong tương lai.`,
        `The birth year encoded in the number (${birthYear}) is in the future.`,
      ),
    );
  }
  if (dobYear !== null && dobYear !== birthYear) {
    if (centuryOnly) {
      findings.push(
        idFinding(
          "century_mismatch",
          WARNING,
          `Số định danh ghi năm sinh ${birthYear} nhưng ngày sinh đã khai là năm ${dobYear}: ` +
            "chữ số thứ tư (thế kỷ, giới tính) có thể sai.",
          `The number gives birth year ${birthYear} but the stated date of birth is in ` +
            `${dobYear}: the fourth digit (century and gender) may be wrong.`,
        ),
      );
    } else {
      findings.push(
        idFinding(
          "birth_year_mismatch",
          WARNING,
          `Năm sinh theo số định danh (${birthYear}) khác năm sinh đã khai (${dobYear}).`,
          `The birth year in the number (${birthYear}) differs from the stated date of birth (${dobYear}).`,
        ),
      );
    }
  }
  if (statedGender !== null && statedGender !== idGender) {
    findings.push(
      idFinding(
        "gender_mismatch",
        WARNING,
        `Giới tính theo số định danh (${GENDER_VI[idGender]}) khác giới tính đã khai (${GENDER_VI[statedGender]}).`,
        `The gender in the number (${idGender}) differs from the stated gender (${statedGender}).`,
      ),
    );
  }

  return result(
    {
      value: digits,
      kind: "personal_id",
      place_code: placeCode,
      place_name: name,
      born_abroad: bornAbroad,
      birth_year: birthYear,
      gender: idGender,
    },
    findings,
  );
}

// --- phone ---

function phoneFinding(code, vi, en, severity = ERROR) {
  return { field: PHONE_FIELD, code: `phone.${code}`, severity, vi, en };
}

function phoneResult(findings, e164 = null) {
  return result({ e164, national: null, kind: null, sms_capable: false, carrier_prefix: null }, findings);
}

function invalidPhone() {
  return phoneFinding("invalid", "Số điện thoại không hợp lệ.", "This phone number is not valid.");
}

/** Compiled regular expressions of the served rules, made once per rules object. */
const compiled = new WeakMap();

function compile(rules) {
  let found = compiled.get(rules);
  if (!found) {
    const full = (pattern) => new RegExp(`^(?:${pattern})$`);
    const types = {};
    for (const [name, desc] of Object.entries(rules.types)) {
      types[name] = { full: full(desc.pattern), lengths: desc.lengths };
    }
    found = {
      shape: full(rules.accepted_shape),
      legacy: full(rules.legacy_mobile_nsn),
      nationalPrefix: rules.national_prefix_for_parsing ? new RegExp(`^(?:${rules.national_prefix_for_parsing})`) : null,
      idd: new RegExp(`^(?:${rules.international_prefix})`),
      countryCodes: new Set(rules.country_codes.map(String)),
      types,
      formats: rules.formats.map((format) => ({
        leading: format.leading_digits ? new RegExp(`^(?:${format.leading_digits})`) : null,
        full: full(format.pattern),
        prefix: format.national_prefix,
      })),
    };
    compiled.set(rules, found);
  }
  return found;
}

// What follows mirrors the part of libphonenumber's parse() and getNumberType() that a Vietnamese default region
// and the accepted characters can reach; the names follow phonenumberutil so the two can be compared.

/** Length test against the general description (testNumberLength with type UNKNOWN). */
function lengthResult(number, plan) {
  const lengths = plan.types.general.lengths;
  const length = number.length;
  if (length === lengths[0]) return "possible";
  if (length < lengths[0]) return "too_short";
  if (length > lengths[lengths.length - 1]) return "too_long";
  return lengths.includes(length) ? "possible" : "invalid_length";
}

function matchesPattern(number, plan, type) {
  return Boolean(plan.types[type]) && plan.types[type].full.test(number);
}

/** maybeStripNationalPrefixAndCarrierCode: drop the trunk "0" unless that turns a valid-looking number invalid. */
function stripNationalPrefix(number, plan) {
  if (!number || !plan.nationalPrefix) return number;
  const match = plan.nationalPrefix.exec(number);
  if (!match) return number;
  const rest = number.slice(match[0].length);
  if (matchesPattern(number, plan, "general") && !matchesPattern(rest, plan, "general")) return number;
  return rest;
}

/**
 * The country code and national significant number of `text` read with Viet Nam as the default region, or null
 * where libphonenumber would throw (not a number, unknown country code, too short, too long).
 */
function parseNumber(text, rules, plan) {
  // extractPossibleNumber: from the first "+" or digit; trailing non-digits (a closing bracket) dropped.
  const start = text.search(/[+0-9]/);
  if (start < 0) return null;
  const possible = text.slice(start).replace(/[^0-9]+$/, "");
  // isViablePhoneNumber: two digits, or a "+" and at least three digits among the punctuation.
  const digits = possible.replace(/[^0-9]/g, "");
  if (!(/^[0-9]{2}$/.test(possible) || digits.length >= 3)) return null;

  let countryCode = null;
  let national = digits;
  let international = false;
  if (possible.startsWith("+")) {
    international = true;
  } else if (plan.idd.test(digits)) {
    const rest = digits.slice(digits.match(plan.idd)[0].length);
    // A "0" right after the international prefix cannot start a country code: the prefix was not one.
    if (!rest.startsWith("0")) {
      international = true;
      national = rest;
    }
  }
  if (international) {
    if (national.length <= MIN_NSN_LENGTH) return null;
    if (national.startsWith("0")) return null;
    for (let size = 1; size <= MAX_COUNTRY_CODE_LENGTH && countryCode === null; size += 1) {
      if (plan.countryCodes.has(national.slice(0, size))) {
        countryCode = Number(national.slice(0, size));
        national = national.slice(size);
      }
    }
    if (countryCode === null) return null;
  } else {
    const ownCode = String(rules.country_code);
    if (national.startsWith(ownCode)) {
      // "84912345678" without "+": the country code typed without the plus, when that reading is the better one.
      const potential = stripNationalPrefix(national.slice(ownCode.length), plan);
      if (
        (!matchesPattern(national, plan, "general") && matchesPattern(potential, plan, "general")) ||
        lengthResult(national, plan) === "too_long"
      ) {
        countryCode = rules.country_code;
        national = potential;
      }
    }
    if (countryCode === null) countryCode = rules.country_code;
  }
  if (national.length < MIN_NSN_LENGTH) return null;
  if (countryCode === rules.country_code) {
    const stripped = stripNationalPrefix(national, plan);
    if (lengthResult(stripped, plan) === "possible" || lengthResult(stripped, plan) === "too_long") national = stripped;
  }
  if (national.length < MIN_NSN_LENGTH || national.length > MAX_NSN_LENGTH) return null;
  return { countryCode, national };
}

function matchesType(number, plan, type) {
  const desc = plan.types[type];
  if (!desc) return false;
  if (desc.lengths.length && !desc.lengths.includes(number.length)) return false;
  return desc.full.test(number);
}

/** getNumberType for a Vietnamese national significant number; "unknown" when it is not a valid number. */
function numberType(number, rules, plan) {
  if (!matchesType(number, plan, "general")) return "unknown";
  for (const type of ["premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail"]) {
    if (matchesType(number, plan, type)) return type;
  }
  if (matchesType(number, plan, "fixed_line")) {
    if (rules.same_mobile_and_fixed_line_pattern || matchesType(number, plan, "mobile")) return "fixed_line_or_mobile";
    return "fixed_line";
  }
  if (!rules.same_mobile_and_fixed_line_pattern && matchesType(number, plan, "mobile")) return "mobile";
  return "unknown";
}

/** The national form as digits: the trunk "0" only where the national format dials it (not for 1800/1900). */
function nationalDigits(number, plan) {
  for (const format of plan.formats) {
    if ((format.leading === null || format.leading.test(number)) && format.full.test(number)) {
      return format.prefix + number;
    }
  }
  return number;
}

/**
 * Check and normalise a Vietnamese phone number: "0912 345 678", "+84 912 345 678", "84912345678", "0084…", with
 * spaces, dots, dashes or brackets. Foreign numbers are refused with the server's code and message.
 *
 * One deliberate difference: for a foreign number `e164` is always null here, where the server fills it in when
 * the number is valid in its own country. Validating it would need every country's numbering plan on the phone,
 * for a number that is refused either way.
 *
 * @returns `{e164, national, kind, sms_capable, carrier_prefix, findings, ok, codes}`.
 */
export function checkPhone(raw, data) {
  const rules = data.phoneRules;
  const plan = compile(rules);
  const text = String(raw ?? "").trim();
  if (!text) return phoneResult([phoneFinding("required", "Vui lòng nhập số điện thoại.", "Please enter a phone number.")]);
  if (!plan.shape.test(text) || !/[0-9]/.test(text)) {
    return phoneResult([
      phoneFinding(
        "characters",
        "Số điện thoại chỉ được gồm chữ số, dấu +, dấu cách, dấu chấm hoặc gạch ngang.",
        "A phone number may contain only digits, '+', spaces, dots or dashes.",
      ),
    ]);
  }

  const parsed = parseNumber(text, rules, plan);
  if (parsed === null) return phoneResult([invalidPhone()]);
  if (parsed.countryCode !== rules.country_code) {
    return phoneResult([
      phoneFinding("not_vietnamese", "Chỉ nhận số điện thoại Việt Nam.", "Only Vietnamese phone numbers are accepted."),
    ]);
  }

  const nsn = parsed.national;
  const type = numberType(nsn, rules, plan);
  if (type === "unknown") {
    if (plan.legacy.test(nsn)) {
      return phoneResult([
        phoneFinding(
          "legacy_mobile",
          "Số di động 11 số (đầu 01…) đã được chuyển sang 10 số từ năm 2018. Vui lòng nhập số mới.",
          "11-digit mobile numbers (starting 01…) were changed to 10 digits in 2018. Please enter the new number.",
        ),
      ]);
    }
    return phoneResult([invalidPhone()]);
  }

  const national = nationalDigits(nsn, plan);
  const kind = rules.kinds[type] ?? null;
  const smsCapable = kind === "mobile";
  const findings = [];
  if (rules.service_kinds.includes(kind)) {
    findings.push(
      phoneFinding(
        "service_number",
        "Đây là số tổng đài dịch vụ, không phải số liên lạc của người dân.",
        "This is a service or hotline number, not a personal contact number.",
      ),
    );
  } else if (!smsCapable) {
    // Accepted, but notifications must go to someone else's mobile (often a relative's).
    findings.push(
      phoneFinding(
        "not_sms_capable",
        "Số này không nhận được tin nhắn SMS; nên thêm số di động của người thân.",
        "This number cannot receive SMS; consider adding a relative's mobile number.",
        WARNING,
      ),
    );
  }
  return result(
    {
      e164: `+${rules.country_code}${nsn}`,
      national,
      kind,
      sms_capable: smsCapable,
      carrier_prefix: kind === "mobile" ? national.slice(0, 3) : null,
    },
    findings,
  );
}

// --- full name and date of birth ---

export const FULL_NAME_FIELD = "full_name";
export const DATE_OF_BIRTH_FIELD = "date_of_birth";
const MAX_NAME_LENGTH = 200;

// Characters that show nothing or reorder what is shown: controls, format characters (zero-width spaces and joiners,
// bidi embeddings, overrides, isolates and marks, the byte-order mark), private-use and unassigned code points, lone
// surrogates, line and paragraph separators. Tab, line feed and carriage return only count as spaces.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/u;
const LETTER = /\p{L}/u;

function nameError(code, vi, en) {
  return { field: FULL_NAME_FIELD, code: `full_name.${code}`, severity: ERROR, vi, en };
}

/**
 * Check a person's full name: not blank, no invisible or direction-changing characters, at most 200 characters.
 * The value is in NFC with runs of spaces collapsed, or null when refused.
 */
export function checkFullName(raw) {
  const text = String(raw ?? "").normalize("NFC");
  if (HIDDEN.test(text.replace(/[\t\n\r]/g, " "))) {
    return result({ value: null }, [nameError(
      "invisible_characters",
      "Họ và tên chứa ký tự ẩn hoặc ký tự đổi chiều văn bản; vui lòng nhập lại.",
      "The full name contains hidden or text-direction characters; please type it again.",
    )]);
  }
  const value = text.split(/\s+/).filter(Boolean).join(" ");
  if (!value) return result({ value: null }, [nameError("required", "Vui lòng nhập họ và tên.", "Please enter the full name.")]);
  if (!LETTER.test(value)) {
    return result({ value: null }, [nameError("no_letters", "Họ và tên phải có chữ cái.", "The full name must contain letters.")]);
  }
  if ([...value].length > MAX_NAME_LENGTH) {
    return result({ value: null }, [nameError(
      "too_long",
      `Họ và tên dài quá ${MAX_NAME_LENGTH} ký tự.`,
      `The full name is longer than ${MAX_NAME_LENGTH} characters.`,
    )]);
  }
  return result({ value }, []);
}

/** Today in Viet Nam (UTC+7) as "YYYY-MM-DD", whatever the phone's time zone. */
function todayInVietNam() {
  return new Date(Date.now() + 7 * 3600 * 1000).toISOString().slice(0, 10);
}

/** Errors for a stated date of birth ("YYYY-MM-DD"): none when absent or not after `today` (default: today). */
export function checkDateOfBirth(dateOfBirth, options = {}) {
  if (!dateOfBirth) return [];
  if (!/^\d{4}-\d{2}-\d{2}$/.test(String(dateOfBirth))) throw new RangeError(`a date is YYYY-MM-DD, not ${dateOfBirth}`);
  if (String(dateOfBirth) <= (options.today || todayInVietNam())) return [];
  return [{
    field: DATE_OF_BIRTH_FIELD, code: "date_of_birth.future", severity: ERROR,
    vi: "Ngày sinh không được ở trong tương lai.", en: "The date of birth cannot be in the future.",
  }];
}
