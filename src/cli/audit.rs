//! `pmh-gateway audit`: search the audit of a gateway's state folder by client, time,
//! operation or patient (hashed here with the store's secret), and export it.

use pmh_gateway::domain::{InsuredIdentity, date};
use pmh_gateway::store::{AuditQuery, Hasher, Operation, SqliteStore, Store, export, key_path};

/// What to look for (all optional, all must match).
#[derive(clap::Args)]
pub struct Criteria {
    #[arg(long)]
    pub client: Option<String>,
    /// check, check_with_result, check_by_reference, earlier_check, prefetch,
    /// masters_reload, audit_search, operations
    #[arg(long)]
    pub operation: Option<String>,
    /// Inclusive: RFC 3339 or YYYY-MM-DD (JST midnight).
    #[arg(long)]
    pub from: Option<String>,
    /// Exclusive: RFC 3339 or YYYY-MM-DD (JST midnight).
    #[arg(long)]
    pub to: Option<String>,
    /// The patient's 保険者番号 (with --number and --birthdate).
    #[arg(long)]
    pub insurer_number: Option<String>,
    /// 記号.
    #[arg(long)]
    pub symbol: Option<String>,
    /// 番号.
    #[arg(long)]
    pub number: Option<String>,
    /// 枝番.
    #[arg(long)]
    pub branch: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    pub birthdate: Option<String>,
    /// 照会番号.
    #[arg(long)]
    pub reference: Option<String>,
    #[arg(long, default_value_t = 10_000)]
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
