//! Turning request input into the service's requests: a JSON body (every field error collected
//! with its path; a key naming a My Number refused before deserialisation), an オン資 result
//! posted as XML (through the service's one path for results), and the setting in a query string.

use std::collections::HashMap;

use serde_json::Value;

use super::dto::SubsidyCheckRequest;
use super::problem::{FieldError, Problem};
use crate::domain::date::{self, DateError};
use crate::domain::{
    Care, Claim, InsuredError, InsuredIdentity, MedicalInstitutionCode, ServiceDate,
};
use crate::service::{CheckRequest, ResultCheck, ResultError, ResultVisit, checks_from_result};

/// Keys that name a My Number (個人番号), compared without case, `_`, `-` or spaces.
const MY_NUMBER_KEYS: [&str; 6] = [
    "mynumber",
    "individualnumber",
    "kojinbango",
    "kojinbangou",
    "個人番号",
    "マイナンバー",
];

/// The JSON path of the first key that names a My Number, if any.
fn find_my_number(v: &Value, path: &str) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| {
            let norm: String = k
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | ' '))
                .flat_map(char::to_lowercase)
                .collect();
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if MY_NUMBER_KEYS.iter().any(|m| norm.contains(m)) {
                Some(here)
            } else {
                find_my_number(v, &here)
            }
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_my_number(v, &format!("{path}[{i}]"))),
        _ => None,
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
        | InsuredError::Invisible { field } => field,
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
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::invalid_field(
            "body",
            format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    if let Some(field) = find_my_number(&value, "") {
        return Err(Problem::my_number(field));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        let reason = without_values(&e.into_inner().to_string());
        Problem::invalid_field(field, reason)
    })
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
    let insured = birthdate.and_then(|bd| {
        InsuredIdentity::new(
            &req.insured.insurer_number,
            req.insured.symbol.as_deref(),
            &req.insured.number,
            req.insured.branch.as_deref(),
            bd,
        )
        .map_err(|e| errors.push(insured_field_error(e)))
        .ok()
    });
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
/// each defaults to the first.
pub fn setting_from_query(q: &HashMap<String, String>) -> Result<(Claim, Care), Problem> {
    let claim = choice(
        q,
        "claim",
        [("medical", Claim::Medical), ("pharmacy", Claim::Pharmacy)],
        "must be `medical` (医科) or `pharmacy` (調剤)",
    )?;
    let care = choice(
        q,
        "care",
        [
            ("outpatient", Care::Outpatient),
            ("inpatient", Care::Inpatient),
        ],
        "must be `outpatient` (外来) or `inpatient` (入院)",
    )?;
    Ok((claim, care))
}

/// The value of query parameter `key` among `options` (case-insensitive); the first when absent.
fn choice<T: Copy, const N: usize>(
    q: &HashMap<String, String>,
    key: &str,
    options: [(&str, T); N],
    reason: &str,
) -> Result<T, Problem> {
    let Some(given) = q.get(key) else {
        return Ok(options[0].1);
    };
    let given = given.trim().to_ascii_lowercase();
    options
        .iter()
        .find(|(name, _)| *name == given)
        .map(|(_, v)| *v)
        .ok_or_else(|| Problem::invalid_field(key, reason))
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
    let service_date = q
        .get("service_date")
        .map(|s| {
            date::parse_iso(s)
                .map(ServiceDate::new)
                .map_err(|e| Problem::invalid_field("service_date", e.to_string()))
        })
        .transpose()?;
    let (claim, care) = setting_from_query(q)?;
    let visit = ResultVisit {
        claim,
        care,
        service_date,
    };
    let mut checks = checks_from_result(body, visit, today, institution).map_err(|e| match e {
        ResultError::MyNumber(name) => Problem::my_number(format!("body/{name}")),
        ResultError::Identity { reason, .. } => {
            Problem::invalid_field("body/ResultOfQualificationConfirmation", reason)
        }
        ResultError::BornAfterServiceDate { .. } => Problem::invalid_field(
            "body/ResultOfQualificationConfirmation/Birthdate",
            "is after the service date",
        ),
        other => Problem::invalid_field("body", other.to_string()),
    })?;
    if checks.len() != 1 {
        return Err(Problem::invalid_field(
            "body",
            format!(
                "the result holds {} ResultOfQualificationConfirmation; post one person's result",
                checks.len()
            ),
        ));
    }
    Ok(checks.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let v: Value = serde_json::json!({"insured": {"number": "1", "My_Number": "123456789012"}});
        assert_eq!(find_my_number(&v, "").as_deref(), Some("insured.My_Number"));
        let v: Value = serde_json::json!({"x": [{"individualNumber": 1}]});
        assert_eq!(
            find_my_number(&v, "").as_deref(),
            Some("x[0].individualNumber")
        );
        let v: Value = serde_json::json!({"insured": {"number": "123456789012"}});
        assert_eq!(find_my_number(&v, ""), None);
    }
}
