//! The FHIR rendering: each active subsidy as an HL7 FHIR JP Core `Coverage` (HL7 FHIR JP Core implementation guide, `JP_Coverage`), in a
//! `collection` Bundle. Type `urn:oid:1.2.392.100495.20.2.61#8` (公費); the payer (公費負担者番号,
//! `urn:oid:1.2.392.100495.20.3.71`) as a contained Organization; the recipient number
//! (`urn:oid:1.2.392.100495.20.3.72`) as `subscriberId` and identifier; `order`; `period`;
//! `costToBeneficiary` for the rate, fixed amounts and caps of this visit's setting.
//!
//! Failure honesty: `none_found` is a Bundle with no Coverage and an OperationOutcome saying the
//! answer is unknown; `unavailable` is an OperationOutcome (HTTP 503); `stale` adds a warning;
//! certificates PMH holds that are not in force on the day are each an issue of that
//! OperationOutcome (never left out, never a Coverage that would read as one in force). No
//! empty array or string is written (FHIR JSON forbids them).

use serde_json::{Value, json};

use super::labels::warning_code;
use crate::mapping::{CopayRule, MappedSubsidy, ProgrammeKind};
use crate::masters::CopayMethod;
use crate::service::{CheckOutcome, Source, Status};

pub const PROFILE: &str = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Coverage";
const INSURANCE_TYPE: &str = "urn:oid:1.2.392.100495.20.2.61";
const PAYER_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.71";
const RECIPIENT_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.72";
const COPAY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/coverage-copay-type";
const WARNING_SYSTEM: &str = "urn:pmh-gateway:warning";

fn money(value: u64) -> Value {
    json!({"value": value, "currency": "JPY"})
}

fn cost(code: &str, text: &str, value: (&str, Value)) -> Value {
    let mut c = json!({
        "type": {"coding": [{"system": COPAY_TYPE, "code": code}], "text": text},
    });
    c[value.0] = value.1;
    c
}

fn costs(rule: &CopayRule) -> Vec<Value> {
    let mut out = Vec::new();
    match rule.method {
        Some(method @ (CopayMethod::Rate | CopayMethod::CopayRate)) => {
            if let Some(p) = rule.rate_percent {
                out.push(cost(
                    "copaypct",
                    if method == CopayMethod::Rate {
                        "負担割合"
                    } else {
                        "自己負担額に対する負担割合"
                    },
                    (
                        "valueQuantity",
                        json!({"value": p, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}),
                    ),
                ));
            }
        }
        Some(CopayMethod::Free) => out.push(cost("copay", "負担なし", ("valueMoney", money(0)))),
        Some(CopayMethod::PerVisit) => {
            if let Some(a) = rule.amount {
                out.push(cost("copay", "1回あたり定額", ("valueMoney", money(a.0))));
            }
        }
        Some(CopayMethod::PerDay) => {
            if let Some(a) = rule.amount {
                out.push(cost("copay", "1日あたり定額", ("valueMoney", money(a.0))));
            }
        }
        None => {}
    }
    if rule.method != Some(CopayMethod::Free) {
        for (cap, text) in [
            (rule.caps.per_visit, "1回上限額"),
            (rule.caps.per_day, "1日上限額"),
            (rule.caps.per_month, "月額上限額"),
        ] {
            if let Some(y) = cap {
                out.push(cost("maxoutofpocket", text, ("valueMoney", money(y.0))));
            }
        }
    }
    out
}

fn coverage(s: &MappedSubsidy) -> Value {
    let mut c = json!({
        "resourceType": "Coverage",
        "meta": {"profile": [PROFILE]},
        "contained": [{
            "resourceType": "Organization",
            "id": "payer",
            "identifier": [{"system": PAYER_SYSTEM, "value": s.payer_number}],
        }],
        "status": "active",
        "type": {"coding": [{"system": INSURANCE_TYPE, "code": "8", "display": "公費"}]},
        "beneficiary": {"display": "the patient of this subsidy check"},
        "payor": [{"reference": "#payer"}],
    });
    if let Some(name) = s.programme.name.as_ref().filter(|n| !n.is_empty()) {
        c["contained"][0]["name"] = json!(name);
    }
    if let Some(r) = s.recipient_number.as_ref().filter(|r| !r.is_empty()) {
        c["subscriberId"] = json!(r);
        c["identifier"] = json!([{"system": RECIPIENT_SYSTEM, "value": r}]);
    }
    if let Some(o) = s.order {
        c["order"] = json!(o);
    }
    if let Some(v) = s.validity {
        let mut period = serde_json::Map::new();
        if let Some(f) = v.from {
            period.insert("start".into(), json!(f.format("%Y-%m-%d").to_string()));
        }
        if let Some(t) = v.to {
            period.insert("end".into(), json!(t.format("%Y-%m-%d").to_string()));
        }
        c["period"] = Value::Object(period);
    }
    if let Some(l) = s.programme.law_code {
        let kind = match s.programme.kind {
            ProgrammeKind::National => "national",
            ProgrammeKind::Local => "local",
            ProgrammeKind::Unknown => "unknown",
        };
        c["class"] = json!([{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]},
            "value": l.to_string(),
            "name": s.programme.short_name.clone().unwrap_or_else(|| kind.to_owned()),
        }]);
    }
    let costs = costs(&s.copay);
    if !costs.is_empty() {
        c["costToBeneficiary"] = Value::Array(costs);
    }
    if !s.warnings.is_empty() {
        c["meta"]["tag"] = s
            .warnings
            .iter()
            .map(|w| json!({"system": WARNING_SYSTEM, "code": warning_code(w.code), "display": w.message}))
            .collect();
    }
    c
}

/// One issue of an OperationOutcome; `text` left out when empty (FHIR JSON has no empty strings).
fn issue(severity: &str, code: &str, text: &str) -> Value {
    let mut i = json!({"severity": severity, "code": code});
    if !text.is_empty() {
        i["diagnostics"] = json!(text);
    }
    i
}

fn outcome(issues: Vec<Value>) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// A certificate PMH holds that is not in force on the service date, said in words: it is not
/// coverage for this visit (a Coverage of it would read as one), and it is not left out either.
fn not_in_force(s: &MappedSubsidy) -> Value {
    use crate::mapping::SubsidyStatus;
    let why = match s.status {
        SubsidyStatus::Expired => "期限切れ / expired",
        SubsidyStatus::NotYetValid => "有効期間前 / not yet valid",
        _ => "有効期間不明 / validity unknown",
    };
    let day = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "?".to_owned(), |d| d.to_string());
    let (from, to) = s.validity.map_or((None, None), |v| (v.from, v.to));
    let name = s
        .programme
        .short_name
        .as_deref()
        .or(s.programme.name.as_deref())
        .unwrap_or("公費");
    issue(
        "warning",
        "informational",
        &format!(
            "{name} {}: {why} ({} – {}); not in force on the service date",
            s.payer_number,
            day(from),
            day(to)
        ),
    )
}

/// The FHIR body for an answer; for `unavailable` an OperationOutcome (sent with 503).
///
/// A Bundle has no empty `entry` (FHIR JSON forbids empty arrays): when no certificate is in
/// force it holds an OperationOutcome that says why — nothing found (unknown, never "no
/// coverage"), or each certificate PMH holds that is not in force on the day.
pub fn render(o: &CheckOutcome, advice: Option<&str>) -> Value {
    let advice = advice.unwrap_or_default();
    if o.status == Status::Unavailable {
        return outcome(vec![issue("error", "transient", advice)]);
    }
    let mut entries: Vec<Value> = o
        .mapped
        .active
        .iter()
        .map(|s| json!({"resource": coverage(s)}))
        .collect();
    let mut issues: Vec<Value> = Vec::new();
    match (o.status, o.source) {
        (Status::NoneFound, _) => issues.push(issue("warning", "not-found", advice)),
        (_, Some(Source::Stale)) => issues.push(issue("warning", "transient", advice)),
        _ => {}
    }
    issues.extend(o.mapped.inactive.iter().map(not_in_force));
    if o.status == Status::Confirmed && o.mapped.active.is_empty() && issues.is_empty() {
        issues.push(issue("warning", "informational", advice));
    }
    if !issues.is_empty() {
        entries.push(json!({"resource": outcome(issues)}));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "identifier": {"system": "urn:pmh-gateway:check-id", "value": o.check_id},
        "type": "collection",
        "timestamp": o.checked_at.with_timezone(&crate::domain::date::jst()).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}
