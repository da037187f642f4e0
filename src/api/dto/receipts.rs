//! The month-end receipt check's JSON (`/v1/receipt-checks`).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::date::jst_rfc3339;
use crate::receipts::{Report, ReportReceipt, RunState};

/// A receipt check: while it runs, its progress; once done, its findings by receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptCheckDto {
    /// The check's id: the only way to its report (keep it).
    #[schema(format = "uuid")]
    pub id: String,
    /// `running`, then `done`; `interrupted` when the replica that ran it stopped (post the file
    /// again).
    #[schema(value_type = String, pattern = "^(running|done|interrupted)$")]
    pub state: &'static str,
    /// When the file was accepted (JST).
    pub created_at: String,
    /// When the check finished.
    pub finished_at: Option<String>,
    /// When the report is removed (`audit.answer_retention_hours` after the check); `null` once
    /// kept (`POST /v1/receipt-checks/{id}/keep`).
    pub expires_at: Option<String>,
    /// The file's 医療機関コード (IR: 都道府県 + 点数表 + 医療機関コード).
    pub institution: Option<String>,
    /// 請求年月 (IR), `YYYY-MM`.
    pub billing_month: Option<String>,
    /// The 診療年月 the receipts claim, `YYYY-MM`.
    pub months: Vec<String>,
    /// Receipts read.
    pub receipts: usize,
    /// Distinct patients identified (HO 保険者番号・記号・番号・枝番 and the birthdate): one PMH check each.
    pub patients: usize,
    /// Patients checked so far (the progress while `running`).
    pub patients_done: usize,
    pub pmh: PmhTallyDto,
    /// Findings in all.
    pub findings: usize,
    /// Findings by code.
    pub by_code: BTreeMap<String, usize>,
    /// Lines of the file that could not be read (their receipts are checked as far as read).
    pub line_problems: Vec<LineProblemDto>,
    /// The receipts to look at, by レセプト番号 (empty while running): those with findings, those
    /// not compared with PMH, and those claiming 公費 PMH holds nothing for.
    pub receipts_to_review: Vec<ReviewReceiptDto>,
}

/// How many patients stand where with PMH.
#[derive(Debug, Serialize, ToSchema)]
pub struct PmhTallyDto {
    /// PMH answered for the month; the receipts were compared with its certificates.
    pub checked: usize,
    /// PMH holds no certificate (no consent, or none registered): nothing compared — not "no 公費".
    pub none_found: usize,
    /// PMH could not be asked or did not answer: not checked, never a finding.
    pub not_checked: usize,
    /// Receipts that do not identify their patient (no HO, no birthdate).
    pub not_identifiable: usize,
}

/// A line that could not be read.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineProblemDto {
    pub line: usize,
    /// The record (`RE`, `KO` …).
    pub record: Option<String>,
    /// The field, by its name in the 記録条件仕様.
    pub field: Option<String>,
    pub reason: String,
}

/// A receipt to look at.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewReceiptDto {
    /// レセプト番号 (順番号).
    pub number: u32,
    /// The RE record's line.
    pub line: usize,
    /// 氏名 as the file gives it.
    pub name: String,
    /// カタカナ氏名, when the file gives it.
    pub kana: Option<String>,
    /// レセプト種別.
    pub kind: String,
    /// 診療年月, `YYYY-MM`.
    pub month: String,
    /// `checked`, `none_found`, `not_checked` or `not_identifiable`.
    #[schema(value_type = String, pattern = "^(checked|none_found|not_checked|not_identifiable)$")]
    pub pmh: &'static str,
    /// The same for the clerk.
    pub pmh_ja: &'static str,
    pub findings: Vec<ReceiptFindingDto>,
}

/// One finding.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptFindingDto {
    /// A stable code (its words may improve; the code does not change).
    pub code: String,
    /// The line it is about (the KO's, the HO's or the RE's).
    pub line: usize,
    /// For the clerk.
    pub message_ja: String,
    /// The same in English.
    pub message: String,
}

impl From<&Report> for ReceiptCheckDto {
    fn from(r: &Report) -> Self {
        Self {
            id: r.id.clone(),
            state: match r.state {
                RunState::Running => "running",
                RunState::Done => "done",
                RunState::Interrupted => "interrupted",
            },
            created_at: jst_rfc3339(r.created_at),
            finished_at: r.finished_at.map(jst_rfc3339),
            expires_at: r.expires_at.map(jst_rfc3339),
            institution: r.institution.clone(),
            billing_month: r.billing_month.clone(),
            months: r.months.clone(),
            receipts: r.receipts,
            patients: r.patients,
            patients_done: r.patients_done,
            pmh: PmhTallyDto {
                checked: r.pmh.checked,
                none_found: r.pmh.none_found,
                not_checked: r.pmh.not_checked,
                not_identifiable: r.pmh.not_identifiable,
            },
            findings: r.findings,
            by_code: r.by_code.clone(),
            line_problems: r
                .line_problems
                .iter()
                .map(|p| LineProblemDto {
                    line: p.line,
                    record: p.record.clone(),
                    field: p.field.clone(),
                    reason: p.reason.clone(),
                })
                .collect(),
            receipts_to_review: r.items.iter().map(ReviewReceiptDto::from).collect(),
        }
    }
}

impl From<&ReportReceipt> for ReviewReceiptDto {
    fn from(i: &ReportReceipt) -> Self {
        Self {
            number: i.number,
            line: i.line,
            name: i.name.clone(),
            kana: i.kana.clone(),
            kind: i.kind.clone(),
            month: i.month.clone(),
            pmh: i.pmh.as_str(),
            pmh_ja: i.pmh.ja(),
            findings: i
                .findings
                .iter()
                .map(|f| ReceiptFindingDto {
                    code: f.code.clone(),
                    line: f.line,
                    message_ja: f.ja.clone(),
                    message: f.en.clone(),
                })
                .collect(),
        }
    }
}

/// The report as CSV: a row per finding, and one per receipt not compared with PMH; a cell a
/// spreadsheet would take for a formula starts with `'`.
pub fn to_csv(r: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "receipt",
        "re_line",
        "name",
        "kana",
        "receipt_kind",
        "month",
        "pmh",
        "code",
        "line",
        "message_ja",
        "message",
    ]);
    for i in &r.items {
        let head = [
            i.number.to_string(),
            i.line.to_string(),
            cell(&i.name),
            cell(i.kana.as_deref().unwrap_or("")),
            i.kind.clone(),
            i.month.clone(),
            i.pmh.as_str().to_owned(),
        ];
        if i.findings.is_empty() {
            let row: Vec<String> = head
                .iter()
                .cloned()
                .chain([
                    String::new(),
                    String::new(),
                    cell(i.pmh.ja()),
                    String::new(),
                ])
                .collect();
            let _ = w.write_record(&row);
        }
        for f in &i.findings {
            let row: Vec<String> = head
                .iter()
                .cloned()
                .chain([f.code.clone(), f.line.to_string(), cell(&f.ja), cell(&f.en)])
                .collect();
            let _ = w.write_record(&row);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first — a name in the file could be `=HYPERLINK(…)`) is written after a `'`, which
/// spreadsheets show as text (OWASP's advice on CSV injection). Full-width signs too: a
/// spreadsheet may fold them.
fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::{PmhState, PmhTally, ReportFinding};

    #[test]
    fn a_name_that_looks_like_a_formula_is_written_as_text() {
        let r = Report {
            id: "x".into(),
            owner: "c".into(),
            state: RunState::Done,
            created_at: chrono::DateTime::UNIX_EPOCH,
            finished_at: None,
            expires_at: None,
            institution: None,
            billing_month: None,
            months: vec![],
            receipts: 1,
            patients: 1,
            patients_done: 1,
            pmh: PmhTally::default(),
            findings: 1,
            by_code: BTreeMap::new(),
            line_problems: vec![],
            items: vec![ReportReceipt {
                number: 1,
                line: 3,
                name: "=HYPERLINK(\"http://x\")".into(),
                kana: Some("＋ア".into()),
                kind: "1122".into(),
                month: "2026-10".into(),
                pmh: PmhState::NotChecked,
                findings: vec![ReportFinding {
                    code: "ko_order".into(),
                    line: 5,
                    ja: "-1".into(),
                    en: "@x".into(),
                }],
            }],
        };
        let csv = to_csv(&r);
        let row = csv.lines().nth(1).unwrap();
        assert!(row.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{row}");
        assert!(row.contains(",'＋ア,") && row.contains(",'-1,'@x"), "{row}");
    }
}
