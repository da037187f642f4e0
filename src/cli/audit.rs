//! `pmh-gateway audit`: search the audit of a gateway's state folder by client, time,
//! operation or patient (hashed here with the store's secret), and export it.

use pmh_gateway::domain::{InsuredIdentity, date};
use pmh_gateway::store::{AuditQuery, Hasher, Operation, SqliteStore, Store, export, key_path};

/// What to look for (all optional, all must match).
pub struct Criteria {
    pub client: Option<String>,
    pub operation: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub insurer_number: Option<String>,
    pub symbol: Option<String>,
    pub number: Option<String>,
    pub branch: Option<String>,
    pub birthdate: Option<String>,
    pub reference: Option<String>,
    pub limit: usize,
}

/// The records as `format` (`csv`, `jsonl`, `json`).
pub async fn search(
    state_dir: &std::path::Path,
    c: Criteria,
    format: &str,
) -> Result<String, String> {
    let store = SqliteStore::open(state_dir, false).map_err(|e| e.to_string())?;
    let hasher = Hasher::open_or_create(&key_path(state_dir)).map_err(|e| e.to_string())?;
    let time = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|t| {
                export::parse_time(t)
                    .ok_or_else(|| format!("{flag}: must be RFC 3339 or YYYY-MM-DD"))
            })
            .transpose()
    };
    let patient = match (&c.insurer_number, &c.number, &c.birthdate) {
        (None, None, None) => None,
        (Some(insurer), Some(number), Some(birthdate)) => {
            let bd = date::parse_iso(birthdate).map_err(|e| format!("--birthdate {e}"))?;
            let insured = InsuredIdentity::new(
                insurer,
                c.symbol.as_deref(),
                number,
                c.branch.as_deref(),
                bd,
            )
            .map_err(|e| format!("--insured: {e}"))?;
            Some(hasher.patient(&insured))
        }
        _ => {
            return Err(
                "a patient needs --insurer-number, --number and --birthdate (and --symbol, --branch when the card has them)"
                    .into(),
            );
        }
    };
    let q = AuditQuery {
        client: c.client,
        operation: c
            .operation
            .as_deref()
            .map(|o| {
                Operation::parse(o).ok_or_else(|| {
                    format!(
                        "--operation: one of {}",
                        Operation::ALL.map(Operation::as_str).join(", ")
                    )
                })
            })
            .transpose()?,
        from: time("--from", &c.from)?,
        to: time("--to", &c.to)?,
        patient,
        reference: c.reference.as_deref().map(|r| hasher.reference(r)),
        limit: c.limit,
    };
    let records = store.search(q).await.map_err(|e| e.to_string())?;
    Ok(match format {
        "csv" => export::to_csv(&records),
        "jsonl" => export::to_jsonl(&records),
        _ => serde_json::to_string_pretty(&records).map_err(|e| e.to_string())? + "\n",
    })
}
