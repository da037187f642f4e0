//! The ORCA rendering: the active subsidies as ORCA `PublicInsurance_Information` entries
//! (ORCA 日医標準レセプトソフト API, 患者公費情報), so an ORCA user can register them as they are. JSON (ORCA's `format=json`
//! style) or XML (`xmlio2`, ORCA's native API form).
//!
//! `Api_Result` follows ORCA's convention that `00` is success; the other values are this
//! gateway's own: `10` PMH returned nothing (unknown — ask for the paper certificate), `20` the
//! last confirmed answer while PMH fails (stale), `90` the upstream failed and nothing usable is
//! cached.
//!
//! ORCA's fields mean what ORCA's API documentation says (`Money_*` is 固定額, the fixed amount,
//! never a cap); the caps, the unit of the fixed amount and the 管理票 month are `Gateway_*`
//! fields of the gateway's own. README's "The ORCA answer, field by field" is the table.
//!
//! ORCA registers at most four subsidies (第1〜第4公費). When more are active, the first four in
//! order are rendered and the header says how many were left out (`Gateway_Omitted_Subsidies`,
//! `Gateway_Warning`), so that nothing is dropped silently.

use serde_json::{Map, Value};

use super::dto::MonthTotalsDto;
use super::labels::{source_label, status_label, warning_code};
use crate::domain::Care;
use crate::mapping::{CopayRule, MAX_SUBSIDIES, MappedSubsidy};
use crate::masters::CopayMethod;
use crate::service::{CheckOutcome, Status};

/// One answer in ORCA's terms; fields kept in ORCA's order.
pub struct OrcaAnswer {
    header: Vec<(&'static str, String)>,
    entries: Vec<Vec<(&'static str, OrcaValue)>>,
}

enum OrcaValue {
    Text(String),
    List(Vec<String>),
}

fn rate(rule: &CopayRule) -> String {
    match (rule.method, rule.rate_percent) {
        (Some(CopayMethod::Rate), Some(p)) => format!("{:.2}", f64::from(p) / 100.0),
        (Some(CopayMethod::Free), _) => "0.00".into(),
        _ => String::new(),
    }
}

/// ORCA's `Money_Admission` / `Money_Outpatient`, 入院ー固定額 / 外来ー固定額: the fixed amount
/// the patient pays, and only that — `0` for a programme without one (free, or a share), the
/// amount for one charged per visit or per day, empty when the rule is unknown. A cap is never
/// put here (ORCA's patient API has no field for one): it goes in `Gateway_*_Limit_*`.
fn money(rule: &CopayRule) -> String {
    match rule.method {
        Some(CopayMethod::Free | CopayMethod::Rate | CopayMethod::CopayRate) => "0".into(),
        Some(CopayMethod::PerVisit | CopayMethod::PerDay) => {
            rule.amount.map(|y| y.0.to_string()).unwrap_or_default()
        }
        None => String::new(),
    }
}

/// What the fixed amount is charged per: `visit`, `day`, or empty (no fixed amount).
fn money_per(rule: &CopayRule) -> &'static str {
    match rule.method {
        Some(CopayMethod::PerVisit) => "visit",
        Some(CopayMethod::PerDay) => "day",
        _ => "",
    }
}

fn yen_text(y: Option<crate::domain::Yen>) -> OrcaValue {
    OrcaValue::Text(y.map(|y| y.0.to_string()).unwrap_or_default())
}

/// The gateway's fields of one setting: the fixed amount's unit and the caps.
fn setting_fields(names: [&'static str; 4], rule: &CopayRule) -> [(&'static str, OrcaValue); 4] {
    let [per, visit, day, month] = names;
    [
        (per, OrcaValue::Text(money_per(rule).into())),
        (visit, yen_text(rule.caps.per_visit)),
        (day, yen_text(rule.caps.per_day)),
        (month, yen_text(rule.caps.per_month)),
    ]
}

fn entry(s: &MappedSubsidy, month: Option<&MonthTotalsDto>) -> Vec<(&'static str, OrcaValue)> {
    use OrcaValue::{List, Text};
    let inpatient = s.copay_for(Care::Inpatient);
    let outpatient = s.copay_for(Care::Outpatient);
    let date = |d: Option<chrono::NaiveDate>| {
        Text(
            d.map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        )
    };
    let mut fields = vec![
        (
            "PublicInsurance_Class",
            Text(s.programme.orca_class.clone().unwrap_or_default()),
        ),
        (
            "PublicInsurance_Name",
            Text(s.programme.short_name.clone().unwrap_or_default()),
        ),
        ("PublicInsurer_Number", Text(s.payer_number.clone())),
        (
            "PublicInsuredPerson_Number",
            Text(s.recipient_number.clone().unwrap_or_default()),
        ),
        ("Rate_Admission", Text(rate(inpatient))),
        ("Money_Admission", Text(money(inpatient))),
        ("Rate_Outpatient", Text(rate(outpatient))),
        ("Money_Outpatient", Text(money(outpatient))),
        (
            "Certificate_IssuedDate",
            date(s.validity.and_then(|v| v.from)),
        ),
        // ORCA writes an open-ended certificate's 終了年月日 as 9999-12-31.
        (
            "Certificate_ExpiredDate",
            match s.validity {
                Some(v) if v.to.is_none() => Text("9999-12-31".into()),
                v => date(v.and_then(|v| v.to)),
            },
        ),
        // The rest is the gateway's own (ORCA ignores fields it does not know).
        (
            "Gateway_Limit_Shared",
            Text(
                if inpatient.monthly_cap_shared || outpatient.monthly_cap_shared {
                    "True"
                } else {
                    "False"
                }
                .into(),
            ),
        ),
        (
            "Gateway_Order",
            Text(s.order.map(|o| o.to_string()).unwrap_or_default()),
        ),
        (
            "Gateway_Warnings",
            List(
                s.warnings
                    .iter()
                    .map(|w| warning_code(w.code).to_owned())
                    .collect(),
            ),
        ),
        // ORCA keeps the 上限額管理 (the month's amounts under a shared cap) on its own screen:
        // `PublicInsurance_Information` has no field for them, so they come as the gateway's.
        (
            "Gateway_Month",
            Text(month.map(|m| m.month.clone()).unwrap_or_default()),
        ),
        (
            "Gateway_Month_Own_Money",
            Text(month.map(|m| m.own.to_string()).unwrap_or_default()),
        ),
        (
            "Gateway_Month_Others_Money",
            Text(month.map(|m| m.others.to_string()).unwrap_or_default()),
        ),
        (
            "Gateway_Month_Remaining_Money",
            Text(
                month
                    .and_then(|m| m.remaining)
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
            ),
        ),
    ];
    // Each setting's fixed amount unit and caps, before the shared-cap flag.
    let at = fields
        .iter()
        .position(|(name, _)| *name == "Gateway_Limit_Shared")
        .expect("the entry has Gateway_Limit_Shared");
    fields.splice(
        at..at,
        setting_fields(
            [
                "Gateway_Admission_Money_Per",
                "Gateway_Admission_Limit_Visit",
                "Gateway_Admission_Limit_Day",
                "Gateway_Admission_Limit_Month",
            ],
            inpatient,
        )
        .into_iter()
        .chain(setting_fields(
            [
                "Gateway_Outpatient_Money_Per",
                "Gateway_Outpatient_Limit_Visit",
                "Gateway_Outpatient_Limit_Day",
                "Gateway_Outpatient_Limit_Month",
            ],
            outpatient,
        )),
    );
    fields
}

impl OrcaAnswer {
    /// `months`: per active subsidy, its shared cap's month from the ledger.
    pub fn new(o: &CheckOutcome, months: &[Option<MonthTotalsDto>]) -> Self {
        let (result, message) = match o.status {
            // The last confirmed answer while PMH fails: not the same as a fresh one.
            Status::Confirmed if o.source == Some(crate::service::Source::Stale) => (
                "20",
                "PMHに接続できないため、前回確認した情報です。疑わしいときは紙の受給者証を確認してください",
            ),
            Status::Confirmed => ("00", "処理終了"),
            Status::NoneFound => (
                "10",
                "PMHに医療費助成情報がありません（不明）。紙の受給者証を確認してください",
            ),
            Status::Unavailable => (
                "90",
                "医療費助成情報を確認できません（上流の障害）。紙の受給者証を確認してください",
            ),
        };
        let mut header = vec![
            ("Api_Result", result.to_owned()),
            ("Api_Result_Message", message.to_owned()),
            ("Gateway_Status", status_label(o.status).to_owned()),
            (
                "Gateway_Source",
                o.source.map(source_label).unwrap_or_default().to_owned(),
            ),
            ("Service_Date", o.service_date.to_string()),
            ("Check_Id", o.check_id.clone()),
        ];
        let omitted = o.mapped.active.len().saturating_sub(MAX_SUBSIDIES);
        if omitted > 0 {
            header.push(("Gateway_Omitted_Subsidies", omitted.to_string()));
            header.push((
                "Gateway_Warning",
                format!(
                    "有効な公費が{}件あり、ORCAに登録できる4件を超えています。第5公費以降の{omitted}件は含まれていません。受給者証を確認してください",
                    o.mapped.active.len()
                ),
            ));
        }
        let entries = o
            .mapped
            .active
            .iter()
            .take(MAX_SUBSIDIES)
            .enumerate()
            .map(|(i, s)| entry(s, months.get(i).and_then(Option::as_ref)))
            .collect();
        Self { header, entries }
    }

    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        for (k, v) in &self.header {
            root.insert((*k).into(), Value::String(v.clone()));
        }
        let entries = self
            .entries
            .iter()
            .map(|e| {
                let mut m = Map::new();
                for (k, v) in e {
                    let v = match v {
                        OrcaValue::Text(t) => Value::String(t.clone()),
                        OrcaValue::List(l) => l.iter().cloned().map(Value::String).collect(),
                    };
                    m.insert((*k).into(), v);
                }
                Value::Object(m)
            })
            .collect();
        root.insert("PublicInsurance_Information".into(), Value::Array(entries));
        let mut outer = Map::new();
        outer.insert("publicinsurance_infores".into(), Value::Object(root));
        Value::Object(outer)
    }

    /// ORCA's `xmlio2` form: typed elements, arrays as `…_child` records.
    pub fn to_xml(&self) -> String {
        use quick_xml::escape::escape;
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xmlio2>\n");
        x.push_str("  <publicinsurance_infores type=\"record\">\n");
        for (k, v) in &self.header {
            x.push_str(&format!(
                "    <{k} type=\"string\">{}</{k}>\n",
                escape(v.as_str())
            ));
        }
        x.push_str("    <PublicInsurance_Information type=\"array\">\n");
        for e in &self.entries {
            x.push_str("      <PublicInsurance_Information_child type=\"record\">\n");
            for (k, v) in e {
                match v {
                    OrcaValue::Text(t) => x.push_str(&format!(
                        "        <{k} type=\"string\">{}</{k}>\n",
                        escape(t.as_str())
                    )),
                    OrcaValue::List(l) => {
                        x.push_str(&format!("        <{k} type=\"array\">\n"));
                        for item in l {
                            x.push_str(&format!(
                                "          <{k}_child type=\"string\">{}</{k}_child>\n",
                                escape(item.as_str())
                            ));
                        }
                        x.push_str(&format!("        </{k}>\n"));
                    }
                }
            }
            x.push_str("      </PublicInsurance_Information_child>\n");
        }
        x.push_str("    </PublicInsurance_Information>\n  </publicinsurance_infores>\n</xmlio2>\n");
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_outcome as outcome;

    #[test]
    fn a_fifth_subsidy_is_left_out_and_said_so() {
        // 精神通院 21, 更生医療 15, 小慢 52, 難病 54, 肝炎 38: five national programmes.
        let five = outcome(&["2113601", "1513601", "5213601", "5413601", "3813601"]);
        assert_eq!(five.mapped.active.len(), 5);
        let orca = OrcaAnswer::new(&five, &[]).to_json();
        let res = &orca["publicinsurance_infores"];
        assert_eq!(
            res["PublicInsurance_Information"].as_array().unwrap().len(),
            4
        );
        assert_eq!(res["Gateway_Omitted_Subsidies"], "1");
        assert!(res["Gateway_Warning"].as_str().unwrap().contains("5件"));
        assert!(
            OrcaAnswer::new(&five, &[])
                .to_xml()
                .contains("<Gateway_Omitted_Subsidies type=\"string\">1<")
        );
        // Four: nothing left out, nothing said.
        let four = outcome(&["2113601", "1513601", "5213601", "5413601"]);
        let orca = OrcaAnswer::new(&four, &[]).to_json();
        assert!(orca["publicinsurance_infores"]["Gateway_Omitted_Subsidies"].is_null());
    }
}
