//! Turning request input into the service's requests: a JSON body (every field error collected
//! with its path; a key naming a My Number refused before deserialisation), an オン資 result
//! posted as XML (through the service's one path for results), and the setting in a query string.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};

use super::dto::SubsidyCheckRequest;
use super::negotiate::{BodyKind, body_kind};
use super::problem::{FieldError, Problem};
use crate::domain::date::{self, DateError};
use crate::domain::{
    Care, Claim, InsuredError, InsuredIdentity, MedicalInstitutionCode, ServiceDate,
};
use crate::service::{CheckRequest, ResultCheck, ResultError, ResultVisit, checks_from_result};

/// A request body as axum read it: the bytes, or the refusal — 413 past `limit` bytes, 400
/// otherwise.
pub fn body_bytes(limit: usize, body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    match body {
        Ok(b) => Ok(b),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Problem::too_large(limit)),
        Err(e) => Err(Problem::invalid_field("body", e.body_text())),
    }
}

/// A body that must be JSON (`Content-Type: application/json` or `+json`; 415 otherwise), read
/// as [`body_bytes`] reads it.
pub fn json_body(
    limit: usize,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, Problem> {
    if body_kind(headers)? != BodyKind::Json {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return Err(Problem::unsupported_media_type(ct));
    }
    body_bytes(limit, body)
}

/// Keys that name a My Number (個人番号), compared without case, `_`, `-` or spaces.
const MY_NUMBER_KEYS: [&str; 6] = [
    "mynumber",
    "individualnumber",
    "kojinbango",
    "kojinbangou",
    "個人番号",
    "マイナンバー",
];

/// Whether a JSON key names a My Number: compared without case, `_`, `-` or spaces.
fn names_my_number(key: &str) -> bool {
    // The usual key (short, ASCII) folded on the stack: only the ASCII names can be in it.
    const SHORT: usize = 64;
    if key.is_ascii() && key.len() <= SHORT {
        let mut buf = [0u8; SHORT];
        let mut n = 0;
        for b in key.bytes().filter(|b| !matches!(b, b'_' | b'-' | b' ')) {
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
        let norm = &buf[..n];
        return MY_NUMBER_KEYS
            .iter()
            .filter(|m| m.is_ascii())
            .any(|m| norm.windows(m.len()).any(|w| w == m.as_bytes()));
    }
    let norm: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    MY_NUMBER_KEYS.iter().any(|m| norm.contains(m))
}

/// What one walk over a body's bytes finds, each the JSON path of the first (in document order):
/// a key that names a My Number, and an array where the body's type has an object or a single
/// value (the top level, a key not among its lists, an array's element). Nothing of the document
/// is built, and a path is written only for a find.
#[derive(Default)]
struct Finds {
    my_number: Option<String>,
    misplaced_array: Option<String>,
}

impl Finds {
    /// Keeps the first of each: `self` (found earlier) before `below` (reached by `step`).
    fn then(&mut self, step: &str, below: Finds) {
        if self.my_number.is_none() {
            self.my_number = below.my_number.map(|b| joined(step, &b));
        }
        if self.misplaced_array.is_none() {
            self.misplaced_array = below.misplaced_array.map(|b| joined(step, &b));
        }
    }
}

/// Walks `body` once for what [`Finds`] holds, `arrays` being the keys whose values are lists.
/// `Err` when `body` is not JSON.
fn scan(body: &[u8], arrays: &'static [&'static str]) -> Result<Finds, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = Scan {
        arrays,
        list_here: false,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// One JSON value, walked for [`Finds`]; `list_here`: this value's key holds a list.
#[derive(Clone, Copy)]
struct Scan {
    arrays: &'static [&'static str],
    list_here: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for Scan {
    type Value = Finds;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A path below a value joined to the step that leads to it (`insured` + `My_Number`,
/// `x` + `[0].id`).
fn joined(step: &str, below: &str) -> String {
    if below.is_empty() || below.starts_with('[') {
        format!("{step}{below}")
    } else {
        format!("{step}.{below}")
    }
}

/// A key as it came: borrowed from the body unless it had escapes.
struct Key;

impl<'de> serde::de::DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.to_owned().into())
    }
}

impl<'de> serde::de::Visitor<'de> for Scan {
    type Value = Finds;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Finds::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Finds::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Finds::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Finds::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Finds::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Finds::default())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = Finds {
            my_number: None,
            misplaced_array: (!self.list_here).then(String::new),
        };
        let element = Scan {
            list_here: false,
            ..self
        };
        let mut i = 0usize;
        while let Some(below) = seq.next_element_seed(element)? {
            found.then(&format!("[{i}]"), below);
            i += 1;
        }
        Ok(found)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Finds::default();
        // The whole map is read even after a find: the walk also checks that the body is JSON.
        while let Some(key) = map.next_key_seed(Key)? {
            let list_here = self.arrays.contains(&key.as_ref());
            let below = map.next_value_seed(Scan { list_here, ..self })?;
            if found.my_number.is_none() && names_my_number(&key) {
                found.my_number = Some(key.clone().into_owned());
            }
            found.then(&key, below);
        }
        Ok(found)
    }
}

/// serde's message without the value it quotes (`invalid type: integer `19990909`, expected a
/// string` → `invalid type: integer, expected a string`): a problem never echoes what was sent,
/// which may be a patient's number. Field names and the expectations that follow (`expected one
/// of `medical`, `pharmacy``) are the schema's words and stay.
fn without_values(msg: &str) -> String {
    let quotes_a_value = ["invalid type:", "invalid value:", "unknown variant"]
        .iter()
        .any(|p| msg.starts_with(p));
    if !quotes_a_value {
        return msg.to_owned();
    }
    let (head, rest) = msg.split_once(", expected").unwrap_or((msg, ""));
    let head = head.split(['`', '"']).next().unwrap_or_default().trim_end();
    if rest.is_empty() {
        head.to_owned()
    } else {
        format!("{head}, expected{rest}")
    }
}

fn insured_field_error(e: InsuredError) -> FieldError {
    let field = match &e {
        InsuredError::Insurer(_) => "insurer_number",
        InsuredError::Empty { field }
        | InsuredError::TooLong { field, .. }
        | InsuredError::Control { field }
        | InsuredError::Invisible { field }
        | InsuredError::Separator { field } => field,
        InsuredError::Branch => "branch",
    };
    let reason = match e {
        InsuredError::Insurer(n) => format!("保険者番号 {n}"),
        other => other.to_string(),
    };
    FieldError {
        field: format!("insured.{field}"),
        reason,
    }
}

fn date_field(
    field: &str,
    r: Result<chrono::NaiveDate, DateError>,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::NaiveDate> {
    r.map_err(|e| {
        errors.push(FieldError {
            field: field.into(),
            reason: e.to_string(),
        })
    })
    .ok()
}

/// Turns a JSON body (the caller has checked `body_kind`) into a domain request, collecting every
/// field error.
/// A JSON body into `T`: not JSON, a key naming a My Number (refused before deserialising), or
/// the first field that does not fit — each a problem naming the field, never its value.
pub fn parse_json<T: super::dto::RequestBody>(body: &[u8]) -> Result<T, Problem> {
    let not_json = |e: serde_json::Error| {
        Problem::invalid_field(
            "body",
            format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    };
    let found = scan(body, T::ARRAYS).map_err(not_json)?;
    if let Some(field) = found.my_number {
        return Err(Problem::my_number(field));
    }
    if let Some(path) = found.misplaced_array {
        let field = if path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        return Err(Problem::invalid_field(
            field,
            "is a list where the schema has an object or a single value",
        ));
    }
    // Straight from the bytes; only a body that does not fit is read again: with whole numbers
    // written as decimals (`1520.0`, `1e3`) made integers — JSON Schema's `integer` admits them —
    // and, when it still does not fit, for the path of the field that does not.
    serde_json::from_slice(body).or_else(|_| {
        let mut value: serde_json::Value = serde_json::from_slice(body).map_err(not_json)?;
        integral_floats_as_integers(&mut value);
        serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body".to_owned() } else { path };
            let reason = without_values(&without_position(e.into_inner()));
            Problem::invalid_field(field, reason)
        })
    })
}

/// Every number of `v` written with a fraction of zero (`3.0`, `2e2`) as the integer it is.
fn integral_floats_as_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Exactly representable in an i64 or u64 (2^63 and 2^64 as bounds).
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..1.844_674_407_370_955_2e19).contains(&f)
            {
                *v = if f < 0.0 {
                    Value::from(f as i64)
                } else {
                    Value::from(f as u64)
                };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// serde_json's message without the position it appends (` at line 1 column 40`): the field's
/// path says where.
fn without_position(e: serde_json::Error) -> String {
    let msg = e.to_string();
    if e.line() == 0 {
        return msg;
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    msg.strip_suffix(&suffix).map(str::to_owned).unwrap_or(msg)
}

/// The parts of an insurance identity exactly as the document's patterns state them (the
/// identity itself is lenient with what a card or a file may carry: spaces, full-width digits):
/// 保険者番号 6 or 8 digits, 記号 and 番号 1–20 digits, letters, kana, kanji or `-`, 枝番 two
/// digits. Each part that does not fit is named under `prefix`.
pub fn identity_errors(
    prefix: &str,
    insurer_number: &str,
    symbol: Option<&str>,
    number: &str,
    branch: Option<&str>,
) -> Vec<FieldError> {
    // Full-width digits, letters and hyphen are the same characters typed from paper (the
    // identity folds them); the patterns say so too.
    let digit = |c: char| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c);
    let digits = |v: &str, n: &[usize]| n.contains(&v.chars().count()) && v.chars().all(digit);
    let part = |v: &str| {
        (1..=20).contains(&v.chars().count())
            && v.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || digit(c)
                    || ('\u{FF21}'..='\u{FF3A}').contains(&c)
                    || ('\u{FF41}'..='\u{FF5A}').contains(&c)
                    || c == '-'
                    || c == '\u{FF0D}'
                    || ('\u{3041}'..='\u{3096}').contains(&c)
                    || ('\u{30A1}'..='\u{30FA}').contains(&c)
                    || ('\u{4E00}'..='\u{9FFF}').contains(&c)
            })
    };
    let mut errors = Vec::new();
    let mut bad = |field: &str, reason: &str| {
        errors.push(FieldError {
            field: format!("{prefix}{field}"),
            reason: reason.into(),
        })
    };
    let part_reason =
        "is 1–20 digits, letters, kana, kanji or `-` (leave 記号 out when the card has none)";
    if !digits(insurer_number, &[6, 8]) {
        bad("insurer_number", "保険者番号 is 6 or 8 digits");
    }
    if symbol.is_some_and(|s| !part(s)) {
        bad("symbol", part_reason);
    }
    if !part(number) {
        bad("number", part_reason);
    }
    if branch.is_some_and(|b| !digits(b, &[2])) {
        bad(
            "branch",
            "枝番 is two digits (leave it out when the card has none)",
        );
    }
    errors
}

pub fn parse_check_request(body: &[u8], today: ServiceDate) -> Result<CheckRequest, Problem> {
    let req: SubsidyCheckRequest = parse_json(body)?;

    let mut errors = Vec::new();
    let birthdate = date_field(
        "insured.birthdate",
        date::parse_iso(&req.insured.birthdate),
        &mut errors,
    );
    // `None` when absent (the service decides "today") or unreadable (an error is recorded).
    let service_date = req.service_date.as_deref().and_then(|s| {
        date_field("service_date", date::parse_iso(s), &mut errors).map(ServiceDate::new)
    });
    // The numbers are read whether or not the birthdate is (every error at once): with an
    // unreadable birthdate, against a stand-in date that no number depends on.
    let stand_in = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    let insured = InsuredIdentity::new(
        &req.insured.insurer_number,
        req.insured.symbol.as_deref(),
        &req.insured.number,
        req.insured.branch.as_deref(),
        birthdate.unwrap_or(stand_in),
    )
    .map_err(|e| errors.push(insured_field_error(e)))
    .ok()
    .filter(|_| birthdate.is_some());
    // What the identity reads but the document's patterns do not allow (an empty 記号, a
    // space), for each field not already named by the identity's own, more specific reason.
    let named: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
    errors.extend(
        identity_errors(
            "insured.",
            &req.insured.insurer_number,
            req.insured.symbol.as_deref(),
            &req.insured.number,
            req.insured.branch.as_deref(),
        )
        .into_iter()
        .filter(|e| !named.contains(&e.field)),
    );
    // Compared with the date the check is for; skipped when that date is itself unreadable.
    let reference = match req.service_date {
        None => Some(today),
        Some(_) => service_date,
    };
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    if let (Some(bd), Some(day)) = (birthdate, reference)
        && bd > day.date()
    {
        return Err(Problem::inconsistent(vec![FieldError {
            field: "insured.birthdate".into(),
            reason: "is after the service date".into(),
        }]));
    }
    let setting = req.setting.unwrap_or_default();
    Ok(CheckRequest {
        insured: insured.expect("no errors"),
        service_date,
        claim: setting.claim.map(Into::into).unwrap_or_default(),
        care: setting.care.map(Into::into).unwrap_or_default(),
        insurance: req.insurance.map(Into::into),
    })
}

/// `claim` (`medical`, `pharmacy`) and `care` (`outpatient`, `inpatient`) from the query string;
/// each defaults to the first. Both are read before either is refused: the problem lists each.
pub fn setting_from_query(q: &HashMap<String, String>) -> Result<(Claim, Care), Problem> {
    let mut errors = Vec::new();
    let claim = choice(
        q,
        "claim",
        [("medical", Claim::Medical), ("pharmacy", Claim::Pharmacy)],
        "must be `medical` (医科) or `pharmacy` (調剤)",
    )
    .map_err(|e| errors.push(e))
    .ok();
    let care = choice(
        q,
        "care",
        [
            ("outpatient", Care::Outpatient),
            ("inpatient", Care::Inpatient),
        ],
        "must be `outpatient` (外来) or `inpatient` (入院)",
    )
    .map_err(|e| errors.push(e))
    .ok();
    match (claim, care) {
        (Some(claim), Some(care)) => Ok((claim, care)),
        _ => Err(Problem::invalid(errors)),
    }
}

/// The query of `POST /v1/subsidy-checks`: `service_date`, `claim` and `care` (used with an XML
/// body) are refused when malformed whatever the body, as the document says; every malformed
/// one is listed.
pub fn check_query(
    q: &HashMap<String, String>,
) -> Result<(Option<ServiceDate>, Claim, Care), Problem> {
    let mut errors = Vec::new();
    let service_date = q.get("service_date").and_then(|s| {
        date::parse_iso(s)
            .map(ServiceDate::new)
            .map_err(|e| {
                errors.push(FieldError {
                    field: "service_date".into(),
                    reason: e.to_string(),
                })
            })
            .ok()
    });
    match setting_from_query(q) {
        Ok((claim, care)) if errors.is_empty() => Ok((service_date, claim, care)),
        Ok(_) => Err(Problem::invalid(errors)),
        Err(p) => {
            errors.extend(p.errors);
            Err(Problem::invalid(errors))
        }
    }
}

/// The value of query parameter `key` among `options` (case-insensitive); the first when absent.
fn choice<T: Copy, const N: usize>(
    q: &HashMap<String, String>,
    key: &str,
    options: [(&str, T); N],
    reason: &str,
) -> Result<T, FieldError> {
    let Some(given) = q.get(key) else {
        return Ok(options[0].1);
    };
    let given = given.trim().to_ascii_lowercase();
    options
        .iter()
        .find(|(name, _)| *name == given)
        .map(|(_, v)| *v)
        .ok_or_else(|| FieldError {
            field: key.into(),
            reason: reason.into(),
        })
}

/// A check from a posted オン資 result: one person's, with the setting from the query and the
/// service date from the query or the result. The same function reads a result from the
/// terminal's folder (`service::checks_from_result`); here a result must hold exactly one person.
pub fn parse_result_body(
    body: &[u8],
    q: &HashMap<String, String>,
    today: ServiceDate,
    institution: Option<&MedicalInstitutionCode>,
) -> Result<ResultCheck, Problem> {
    let (service_date, claim, care) = check_query(q)?;
    let visit = ResultVisit {
        claim,
        care,
        service_date,
    };
    let mut checks = checks_from_result(body, visit, today, institution).map_err(|e| match e {
        ResultError::MyNumber(name) => Problem::my_number(format!("body/{name}")),
        ResultError::Identity { reason, .. } => {
            Problem::unreadable_result("body/ResultOfQualificationConfirmation", reason)
        }
        ResultError::BornAfterServiceDate { .. } => Problem::unreadable_result(
            "body/ResultOfQualificationConfirmation/Birthdate",
            "is after the service date",
        ),
        other => Problem::unreadable_result("body", other.to_string()),
    })?;
    if checks.len() != 1 {
        return Err(Problem::unreadable_result(
            "body",
            format!(
                "the result holds {} ResultOfQualificationConfirmation; post one person's result",
                checks.len()
            ),
        ));
    }
    Ok(checks.remove(0))
}

/// A check id as the gateway gives it: a hyphenated UUID (either case; lowercase after), the
/// one form the OpenAPI document names. Anything else is `None`.
pub(super) fn check_id(value: &str) -> Option<String> {
    let v = value.trim();
    let ok = v.len() == 36
        && v.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    ok.then(|| v.to_ascii_lowercase())
}

/// A 受給者番号 (公費受給者番号) as typed from a paper certificate or 管理票, by the document's
/// pattern [`RECIPIENT_PATTERN`]: 1–30 digits, Latin letters or hyphens, half- or full-width.
/// Answered NFKC-folded (full-width digits as ASCII), the form the ledger is keyed by.
pub fn recipient_number(field: &str, raw: &str) -> Result<String, FieldError> {
    let ok = (1..=30).contains(&raw.chars().count())
        && raw.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || c == '-'
                || ('０'..='９').contains(&c)
                || ('Ａ'..='Ｚ').contains(&c)
                || ('ａ'..='ｚ').contains(&c)
        });
    if ok {
        Ok(crate::domain::text::nfkc(raw))
    } else {
        Err(FieldError {
            field: field.into(),
            reason: "is the certificate's 受給者番号: 1–30 digits, letters or hyphens".into(),
        })
    }
}

/// The pattern of a 受給者番号 in the OpenAPI document; [`recipient_number`] accepts exactly it.
pub const RECIPIENT_PATTERN: &str = "^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ-]{1,30}$";

/// A 照会番号 as the document's pattern states it (`^[!-~]([ -~]{0,48}[!-~])?$`): 1–50 printable
/// ASCII characters, no space at either end.
pub fn reference_ok(r: &str) -> bool {
    let b = r.as_bytes();
    (1..=50).contains(&b.len())
        && b.iter().all(|c| (b' '..=b'~').contains(c))
        && b[0] != b' '
        && b[b.len() - 1] != b' '
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The My Number find alone.
    fn find_my_number(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
        scan(body, &[]).map(|f| f.my_number)
    }
    use serde_json::Value;

    #[test]
    fn whole_numbers_written_as_decimals_are_integers() {
        let mut v: Value =
            serde_json::from_str(r#"{"a": 1520.0, "b": [2e2, -3.0, 0.5], "c": 1e300}"#).unwrap();
        integral_floats_as_integers(&mut v);
        assert_eq!(v["a"], Value::from(1520_u64));
        assert_eq!(v["b"], serde_json::json!([200, -3, 0.5]));
        assert!(
            v["c"].is_f64(),
            "beyond 64 bits it stays a decimal (and is refused by type)"
        );
    }

    #[test]
    fn serde_messages_lose_the_values_they_quote() {
        assert_eq!(
            without_values("invalid type: integer `19990909`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_values("unknown variant `山田`, expected `medical` or `pharmacy`"),
            "unknown variant, expected `medical` or `pharmacy`"
        );
        assert_eq!(
            without_values("invalid length 3, expected fewer elements"),
            "invalid length 3, expected fewer elements"
        );
        assert_eq!(
            without_values("invalid value: string \"山田\", expected a date"),
            "invalid value: string, expected a date"
        );
        assert_eq!(
            without_values("missing field `insured`"),
            "missing field `insured`"
        );
    }

    #[test]
    fn my_number_keys_are_found_anywhere() {
        let found = |v: Value| find_my_number(v.to_string().as_bytes()).unwrap();
        let v = serde_json::json!({"insured": {"number": "1", "My_Number": "123456789012"}});
        assert_eq!(found(v).as_deref(), Some("insured.My_Number"));
        let v = serde_json::json!({"x": [{"individualNumber": 1}]});
        assert_eq!(found(v).as_deref(), Some("x[0].individualNumber"));
        let v = serde_json::json!([[1, {"a": {"kojin-bangou": null}}]]);
        assert_eq!(found(v).as_deref(), Some("[0][1].a.kojin-bangou"));
        // An escaped key is read as its text.
        let escaped = br#"{"insured": {"\u30de\u30a4\u30ca\u30f3\u30d0\u30fc": "1"}}"#;
        assert_eq!(
            find_my_number(escaped).unwrap().as_deref(),
            Some("insured.マイナンバー")
        );
        let v = serde_json::json!({"insured": {"number": "123456789012"}});
        assert_eq!(found(v), None);
        for key in [
            "MyNumber",
            "my-number",
            "patient_my_number",
            "Individual Number",
            "KOJIN_BANGOU",
            "個人番号",
            "x_マイナンバー",
        ] {
            assert!(names_my_number(key), "{key}");
        }
        let long = format!("{}my_number", "a".repeat(80));
        assert!(names_my_number(&long));
        for key in ["number", "insurer_number", "birthdate", "mynumbe", "個人"] {
            assert!(!names_my_number(key), "{key}");
        }
        // Not JSON: an error, whatever keys came before.
        assert!(find_my_number(br#"{"my_number": 1"#).is_err());
        assert!(find_my_number(br#"{"a": 1} x"#).is_err());
    }

    #[test]
    fn a_field_that_does_not_fit_is_named_without_its_value_or_position() {
        let p = parse_json::<SubsidyCheckRequest>(
            br#"{"insured": {"insurer_number": 6132013, "number": "1", "birthdate": "1990-01-01"}}"#,
        )
        .unwrap_err();
        assert_eq!(p.errors[0].field, "insured.insurer_number");
        assert_eq!(
            p.errors[0].reason,
            "invalid type: integer, expected a string"
        );
    }
}
