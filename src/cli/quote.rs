//! `pmh-gateway quote FILE.json`: what a visit costs at the window, with every step — for the
//! clerk who asks "why 83,430?". The file is the body of `POST /v1/charge-quotes` with the
//! subsidies typed in (`subsidies`); the masters are the embedded ones or `--masters DIR`. No
//! gateway, no ledger: amounts already paid elsewhere this month are not known here.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use pmh_gateway::api::dto::ChargeQuoteResponse;
use pmh_gateway::masters::MasterSource;

/// The most a request file may be.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

fn yen(v: u64) -> String {
    pmh_gateway::domain::Yen(v).to_string()
}

/// The text to print, or the reasons the file cannot be quoted.
pub async fn run(file: &Path, masters: Option<&Path>, json: bool) -> Result<String, String> {
    let source = match masters {
        Some(d) => MasterSource::Dir(d.to_path_buf()),
        None => MasterSource::Embedded,
    };
    let masters = pmh_gateway::masters::load(&source).map_err(|e| e.to_string())?;
    let bytes = pmh_gateway::files::read_limited(file, MAX_FILE_BYTES)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let answer = pmh_gateway::api::quote_offline(Arc::new(masters), &bytes)
        .await
        .map_err(|p| {
            let mut out = format!("cannot quote {}: {}", file.display(), p.detail);
            for e in &p.errors {
                let _ = write!(out, "\n  {}: {}", e.field, e.reason);
            }
            out
        })?;
    if json {
        return serde_json::to_string_pretty(&answer).map_err(|e| e.to_string());
    }
    Ok(render(&answer))
}

fn render(a: &ChargeQuoteResponse) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Window charge: {} (before rounding {}){}",
        yen(a.window_charge),
        yen(a.charge_before_rounding),
        if a.refund > 0 {
            format!("; due back {}", yen(a.refund))
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "Visit {} on {} ({})",
        a.visit_id.as_deref().unwrap_or("-"),
        a.date,
        a.setting
    );
    let r = &a.receipt;
    let _ = writeln!(
        out,
        "Receipt for the month: cost {}, insurance {}, 高額療養費 {}, patient {}",
        yen(r.cost),
        yen(r.insurance),
        yen(r.high_cost),
        yen(r.patient)
    );
    for ko in &r.subsidies {
        let s = a.subsidies.iter().find(|s| s.position == ko.position);
        let covered = ko
            .covered_copay_inpatient
            .map(|v| format!("公費給付対象入院一部負担金 {}", yen(v)))
            .or(ko
                .covered_copay_outpatient
                .map(|v| format!("公費給付対象外来一部負担金 {}", yen(v))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  第{}公費 {} ({}): 負担金額 {}, {covered}, pays {}",
            ko.receipt_order,
            s.map_or("", |s| s.short_name.as_str()),
            s.map_or("", |s| s.payer_number.as_str()),
            yen(ko.patient_share),
            yen(ko.pays)
        );
    }
    for p in &a.provisional {
        let _ = writeln!(out, "Provisional: {p}");
    }
    for w in &a.warnings {
        let _ = writeln!(out, "Warning: {}", w.message_ja);
        let _ = writeln!(out, "         {}", w.message);
    }
    let _ = writeln!(out, "How:");
    for line in &a.trace {
        let indent = "  ".repeat(usize::from(line.depth) + 1);
        let _ = writeln!(out, "{indent}{}", line.ja);
        let _ = writeln!(out, "{indent}  {}", line.en);
    }
    out
}
