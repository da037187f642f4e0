//! `pmh-gateway audit`: search the audit of a gateway's state folder by client, time,
//! operation or patient (hashed here with the store's secret), and export it.

use pmh_gateway::app::{StoreUse, open_store};
use pmh_gateway::store::{StoreConfig, export};

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
    #[arg(long, requires_all = ["number", "birthdate"])]
    pub insurer_number: Option<String>,
    /// 記号.
    #[arg(long, requires = "insurer_number")]
    pub symbol: Option<String>,
    /// 番号.
    #[arg(long, requires_all = ["insurer_number", "birthdate"])]
    pub number: Option<String>,
    /// 枝番.
    #[arg(long, requires = "insurer_number")]
    pub branch: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long, requires_all = ["insurer_number", "number"])]
    pub birthdate: Option<String>,
    /// 照会番号.
    #[arg(long)]
    pub reference: Option<String>,
    #[arg(long, default_value_t = 10_000)]
    pub limit: usize,
}

impl From<Criteria> for export::Criteria {
    fn from(c: Criteria) -> Self {
        Self {
            client: c.client,
            operation: c.operation,
            from: c.from,
            to: c.to,
            // clap requires the three together.
            patient: match (c.insurer_number, c.number, c.birthdate) {
                (Some(insurer_number), Some(number), Some(birthdate)) => {
                    Some(export::PatientCriteria {
                        insurer_number,
                        symbol: c.symbol,
                        number,
                        branch: c.branch,
                        birthdate,
                    })
                }
                _ => None,
            },
            reference: c.reference,
            limit: c.limit,
        }
    }
}

/// The records as `format` (`csv`, `jsonl`, `json`), from the store `serve` uses with this
/// configuration (SQLite in `store.dir`, or PostgreSQL at `store.url`, with `store.key_file`),
/// opened as `serve` opens it; the store and its secret must exist and match (a wrong folder or
/// secret is an error, never an empty answer).
pub async fn search(store: &StoreConfig, c: Criteria, format: &str) -> Result<String, String> {
    let (store, hasher) = open_store(store, StoreUse::Inspect)
        .await
        .map_err(|e| pmh_gateway::errors::report(&e))?;
    let q = export::Criteria::from(c)
        .to_query(&hasher)
        .map_err(|e| format!("--{}: {}", e.field.replace('_', "-"), e.reason))?;
    let records = store.search(q).await.map_err(|e| e.to_string())?;
    Ok(match format {
        "csv" => export::to_csv(&records),
        "jsonl" => export::to_jsonl(&records),
        _ => serde_json::to_string_pretty(&records).map_err(|e| e.to_string())? + "\n",
    })
}
