//! The month-end receipt pre-check: a month's UKE file read (`uke`), each receipt checked from
//! itself and the masters (`claims::check`), its patient checked against PMH for the claim month
//! through the service (cache, one call per person at a time, deadline, breaker — one audit
//! record `receipt_precheck` per patient), its KOs compared with PMH's certificates
//! (`claims::against_pmh`) and with the 管理票 ledger's own month (`claims::against_ledger`).
//!
//! A check runs in the background: [`ReceiptChecks::start`] reads the file and answers at once
//! with the check's id; the patients are checked [`PATIENTS_AT_ONCE`] at a time, the progress
//! counted; the report is sealed in the store under a key derived from the id, expiring after
//! the answer retention unless kept ([`ReceiptChecks::keep`]). While it runs, the replica that
//! runs it holds its progress and the store says it is running. The report holds names and
//! findings: it is never logged, and its `Debug` leaves the patients out.
//!
//! An upstream failure is never a finding: the patient's receipts are "not checked". A stale
//! answer (PMH failing, an earlier answer standing in) is not checked either: findings come only
//! from what PMH said for this month.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::answers::Bodies;
use crate::claims::{self, ClaimMonth, Finding, LedgerMonth};
use crate::domain::{Care, Claim, InsuredIdentity, PayerNumber, Redacted};
use crate::service::{CheckRequest, Source, Status, SubsidyService, metric_source, metric_status};
use crate::store::{AuditRecord, Hasher, LedgerSource, Operation, Store, StoreError, StoredReport};
use crate::uke::{self, Receipt, ScoreTable, UkeFile};

/// The largest UKE file taken (a clinic's month is a few megabytes; a large hospital's tens).
pub const MAX_FILE_BYTES: usize = 64 << 20;
/// Patients checked against PMH at once, per file: enough to keep a few thousand within a
/// minute even at 100 ms a PMH call (5,000 patients: about 31 s), few enough to leave the
/// counter's own checks their share of the upstream and the store (benches/receipts.rs).
pub const PATIENTS_AT_ONCE: usize = 16;
/// Files checked at once per replica; another is refused until one ends.
pub const FILES_AT_ONCE: usize = 2;

/// Where a receipt's patient stands with PMH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PmhState {
    /// PMH answered for the month: the receipt was compared with its certificates.
    Checked,
    /// PMH holds no certificate for the patient (no consent, or none registered): nothing to
    /// compare — not "no 公費".
    NoneFound,
    /// PMH could not be asked or did not answer (or only an earlier answer stood in): not
    /// checked, never a finding.
    NotChecked,
    /// The receipt does not identify the patient (no HO, no birthdate): not looked up.
    NotIdentifiable,
}

impl PmhState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checked => "checked",
            Self::NoneFound => "none_found",
            Self::NotChecked => "not_checked",
            Self::NotIdentifiable => "not_identifiable",
        }
    }
    /// For the clerk.
    pub fn ja(self) -> &'static str {
        match self {
            Self::Checked => "PMHと照合済み",
            Self::NoneFound => "PMHに公費の登録なし（同意なし・未登録）",
            Self::NotChecked => "PMHに接続できず未照合",
            Self::NotIdentifiable => "被保険者を特定できず未照合",
        }
    }
}

/// Whether a check still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Done,
    /// Said to run, but by no replica for longer than any check takes (the replica that ran it
    /// stopped): post the file again.
    Interrupted,
}

/// A check said to run for longer than this was stopped with its replica: several thousand
/// receipts take well under a minute at PMH's usual latency (benches/receipts.rs).
pub const INTERRUPTED_AFTER: Duration = Duration::from_secs(30 * 60);

/// How many of the file's patients stand where with PMH.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PmhTally {
    pub checked: usize,
    pub none_found: usize,
    pub not_checked: usize,
    pub not_identifiable: usize,
}

/// A line of the file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProblem {
    pub line: usize,
    pub record: Option<String>,
    pub field: Option<String>,
    pub reason: String,
}

/// One finding as the report gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFinding {
    pub code: String,
    pub line: usize,
    pub ja: String,
    pub en: String,
}

/// A receipt the clerk should look at: one with findings, one not compared with PMH, or one
/// that claims 公費 PMH holds nothing for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportReceipt {
    /// レセプト番号 (順番号).
    pub number: u32,
    pub line: usize,
    /// 氏名 as the file gives it.
    pub name: String,
    pub kana: Option<String>,
    /// レセプト種別.
    pub kind: String,
    /// 診療年月, `YYYY-MM`.
    pub month: String,
    pub pmh: PmhState,
    pub findings: Vec<ReportFinding>,
}

impl std::fmt::Debug for ReportReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportReceipt")
            .field("number", &self.number)
            .field("line", &self.line)
            .field("name", &Redacted::Present)
            .field("kind", &self.kind)
            .field("month", &self.month)
            .field("pmh", &self.pmh)
            .field("findings", &self.findings)
            .finish()
    }
}

/// A check's report: while it runs, its progress; once done, the findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: String,
    /// The client that started it.
    pub owner: String,
    pub state: RunState,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the store removes it; `None` once kept.
    pub expires_at: Option<DateTime<Utc>>,
    /// The file's 医療機関コード (IR), when it has one.
    pub institution: Option<String>,
    /// 請求年月 (IR), `YYYY-MM`.
    pub billing_month: Option<String>,
    /// The 診療年月 the receipts claim, `YYYY-MM`, in order.
    pub months: Vec<String>,
    pub receipts: usize,
    /// Distinct patients identified (each checked against PMH once).
    pub patients: usize,
    /// Patients checked so far.
    pub patients_done: usize,
    pub pmh: PmhTally,
    /// Findings in all.
    pub findings: usize,
    /// Findings by code.
    pub by_code: BTreeMap<String, usize>,
    pub line_problems: Vec<LineProblem>,
    /// The receipts with findings, not compared with PMH, or claiming 公費 PMH holds nothing
    /// for, by レセプト番号.
    pub items: Vec<ReportReceipt>,
}

/// Why a check could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no receipt could be read from the file ({} line problems)", .0.len())]
    Unreadable(Vec<LineProblem>),
    #[error("{FILES_AT_ONCE} receipt checks are running on this replica; try again when one ends")]
    Busy,
    #[error("the check could not be written to the store: {0}")]
    Store(#[from] StoreError),
}

/// Why a report could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error("the check is not done (running, or interrupted); keep it when it is done")]
    Running,
    #[error("the report could not be read or written: {0}")]
    Store(#[from] StoreError),
}

/// A check in progress on this replica.
struct Job {
    report: Mutex<Report>,
    done: AtomicUsize,
}

impl Job {
    fn snapshot(&self) -> Report {
        let mut r = self
            .report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if r.state == RunState::Running {
            r.patients_done = self.done.load(Ordering::Relaxed);
        }
        r
    }
}

/// The receipt checks of this replica, and what they run on.
pub struct ReceiptChecks {
    service: Arc<SubsidyService>,
    store: Arc<dyn Store>,
    hasher: Arc<Hasher>,
    bodies: Arc<Bodies>,
    retention: Duration,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    files: Arc<tokio::sync::Semaphore>,
}

impl ReceiptChecks {
    pub fn new(
        service: Arc<SubsidyService>,
        store: Arc<dyn Store>,
        hasher: Arc<Hasher>,
        bodies: Arc<Bodies>,
        retention: Duration,
    ) -> Self {
        Self {
            service,
            store,
            hasher,
            bodies,
            retention,
            jobs: Mutex::default(),
            files: Arc::new(tokio::sync::Semaphore::new(FILES_AT_ONCE)),
        }
    }

    /// Reads `bytes` and starts checking them for `owner`; the running report (its id, the
    /// counts) once the store holds it.
    pub async fn start(self: &Arc<Self>, owner: &str, bytes: &[u8]) -> Result<Report, StartError> {
        let permit = Arc::clone(&self.files)
            .try_acquire_owned()
            .map_err(|_| StartError::Busy)?;
        let file = uke::read(bytes);
        let problems: Vec<LineProblem> = file
            .problems
            .iter()
            .map(|p| LineProblem {
                line: p.line,
                record: p.record.clone(),
                field: p.field.map(str::to_owned),
                reason: p.reason.clone(),
            })
            .collect();
        if file.receipts.is_empty() {
            return Err(StartError::Unreadable(problems));
        }
        let now = self.service.now();
        let patients = patients(&file.receipts);
        let mut months: Vec<String> = file.receipts.iter().map(Receipt::month_label).collect();
        months.sort();
        months.dedup();
        let report = Report {
            id: uuid::Uuid::new_v4().to_string(),
            owner: owner.to_owned(),
            state: RunState::Running,
            created_at: now,
            finished_at: None,
            expires_at: Some(now + chrono_dur(self.retention)),
            institution: file.institution.as_ref().map(|i| {
                let table = match i.table {
                    ScoreTable::Medical => 1,
                    ScoreTable::Dental => 3,
                    ScoreTable::Pharmacy => 4,
                };
                format!("{:02}{table}{}", i.prefecture, i.code)
            }),
            billing_month: file
                .institution
                .as_ref()
                .map(|i| i.billing_month.format("%Y-%m").to_string()),
            months,
            receipts: file.receipts.len(),
            patients: patients.len(),
            patients_done: 0,
            pmh: PmhTally::default(),
            findings: 0,
            by_code: BTreeMap::new(),
            line_problems: problems,
            items: Vec::new(),
        };
        self.put(&report).await?;
        let job = Arc::new(Job {
            report: Mutex::new(report.clone()),
            done: AtomicUsize::new(0),
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(report.id.clone(), Arc::clone(&job));
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let _permit = permit;
            this.run(job, file, patients).await;
        });
        Ok(report)
    }

    /// The report of check `id`: this replica's progress while it runs here, else the store's.
    pub async fn report(&self, id: &str) -> Result<Option<Report>, StoreError> {
        let job = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if let Some(job) = job {
            return Ok(Some(job.snapshot()));
        }
        let (key, sealer) = self.hasher.report(id);
        let now = self.service.now();
        let Some(stored) = self.store.report(key, now).await? else {
            return Ok(None);
        };
        let mut report: Option<Report> = sealer
            .open(&stored.sealed)
            .and_then(|plain| serde_json::from_slice(&plain).ok());
        if let Some(r) = report.as_mut()
            && r.state == RunState::Running
            && now - r.created_at > chrono_dur(INTERRUPTED_AFTER)
        {
            r.state = RunState::Interrupted;
        }
        Ok(report)
    }

    /// Keeps a finished report (as [`ReceiptChecks::report`] read it) past the retention.
    pub async fn keep(&self, mut report: Report) -> Result<Report, KeepError> {
        if report.state != RunState::Done {
            return Err(KeepError::Running);
        }
        report.expires_at = None;
        self.put(&report).await?;
        Ok(report)
    }

    async fn put(&self, report: &Report) -> Result<(), StoreError> {
        let (key, sealer) = self.hasher.report(&report.id);
        let plain = serde_json::to_vec(report).expect("a report serialises");
        self.store
            .put_report(StoredReport {
                key,
                owner: report.owner.clone(),
                created_at: report.created_at,
                expires_at: report.expires_at,
                sealed: sealer.seal(&plain),
            })
            .await
    }

    async fn run(&self, job: Arc<Job>, file: UkeFile, patients: Vec<Patient>) {
        let (id, owner) = {
            let r = job.report.lock().unwrap_or_else(|p| p.into_inner());
            (r.id.clone(), r.owner.clone())
        };
        let masters = self.service.masters();
        let table = file
            .institution
            .as_ref()
            .map_or(ScoreTable::Medical, |i| i.table);
        let offline = claims::check(&file.receipts, table, &masters);
        let mut found: Vec<Vec<Finding>> = vec![Vec::new(); file.receipts.len()];
        let index: HashMap<u32, usize> = file
            .receipts
            .iter()
            .enumerate()
            .map(|(i, r)| (r.number, i))
            .collect();
        for f in offline {
            if let Some(&i) = index.get(&f.receipt) {
                found[i].push(f);
            }
        }
        let mut state = vec![PmhState::NotIdentifiable; file.receipts.len()];
        let receipts = &file.receipts;
        let (found_ref, owner_ref, id_ref, job_ref) = (&found, &owner, &id, &job);
        let patients = &patients;
        let work = (0..patients.len()).map(|n| async move {
            let p = &patients[n];
            let out = self
                .patient(p, receipts, table, found_ref, owner_ref, id_ref)
                .await;
            job_ref.done.fetch_add(1, Ordering::Relaxed);
            out
        });
        let results: Vec<Vec<(usize, PmhState, Vec<Finding>)>> = futures::stream::iter(work)
            .buffer_unordered(PATIENTS_AT_ONCE)
            .collect()
            .await;
        let mut tally = PmhTally::default();
        for per_receipt in &results {
            // A patient's standing is their first receipt's (one PMH answer serves them all).
            match per_receipt.first().map(|(_, s, _)| *s) {
                Some(PmhState::Checked) => tally.checked += 1,
                Some(PmhState::NoneFound) => tally.none_found += 1,
                Some(PmhState::NotChecked) => tally.not_checked += 1,
                Some(PmhState::NotIdentifiable) | None => {}
            }
            for (i, s, more) in per_receipt {
                state[*i] = *s;
                found[*i].extend(more.iter().cloned());
            }
        }
        tally.not_identifiable = state
            .iter()
            .filter(|s| **s == PmhState::NotIdentifiable)
            .count();
        // The ledger's own month under each KO's certificate.
        for (i, r) in receipts.iter().enumerate() {
            let months = self.ledger_months(r).await;
            found[i].extend(claims::against_ledger(r, &months));
        }
        let mut by_code = BTreeMap::new();
        let mut items = Vec::new();
        let mut total = 0;
        for ((r, mut fs), s) in receipts.iter().zip(found).zip(&state) {
            fs.sort_by_key(|f| (f.line, f.code));
            total += fs.len();
            for f in &fs {
                *by_code.entry(f.code.as_str().to_owned()).or_insert(0) += 1;
            }
            // Nothing to look at: compared and clean, or PMH holds nothing for a receipt that
            // claims no 公費.
            let quiet = match s {
                PmhState::Checked => true,
                PmhState::NoneFound => r.subsidies.is_empty(),
                PmhState::NotChecked | PmhState::NotIdentifiable => false,
            };
            if fs.is_empty() && quiet {
                continue;
            }
            items.push(ReportReceipt {
                number: r.number,
                line: r.line,
                name: r.name.clone(),
                kana: r.kana.clone(),
                kind: r.kind.as_str().to_owned(),
                month: r.month_label(),
                pmh: *s,
                findings: fs
                    .into_iter()
                    .map(|f| ReportFinding {
                        code: f.code.as_str().to_owned(),
                        line: f.line,
                        ja: f.ja,
                        en: f.en,
                    })
                    .collect(),
            });
        }
        items.sort_by_key(|i| i.number);
        // Done once the store holds it: until then this replica answers `running`, so that a
        // keep (which writes the report) cannot be overwritten by this write.
        let mut finished = job.snapshot();
        finished.state = RunState::Done;
        finished.finished_at = Some(self.service.now());
        finished.pmh = tally;
        finished.findings = total;
        finished.by_code = by_code;
        finished.items = items;
        match self.put(&finished).await {
            Ok(()) => {
                self.jobs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
            }
            // Kept in memory: this replica answers for it until it restarts.
            Err(e) => {
                tracing::error!(error = %e, "cannot keep a receipt check's report");
                *job.report.lock().unwrap_or_else(|p| p.into_inner()) = finished;
            }
        }
    }

    /// One patient: checked with PMH once per claim month and setting of their receipts (the
    /// service's cache answers the second setting of a month), one audit record; their
    /// receipts compared with the answers.
    async fn patient(
        &self,
        p: &Patient,
        receipts: &[Receipt],
        table: ScoreTable,
        found: &[Vec<Finding>],
        owner: &str,
        id: &str,
    ) -> Vec<(usize, PmhState, Vec<Finding>)> {
        let claim = match table {
            ScoreTable::Pharmacy => Claim::Pharmacy,
            _ => Claim::Medical,
        };
        let today = self.service.today().date();
        let mut answers: HashMap<(NaiveDate, Care), crate::service::CheckOutcome> = HashMap::new();
        let mut recorded = None;
        let mut out = Vec::new();
        for &i in &p.receipts {
            let r = &receipts[i];
            let month = ClaimMonth::of(r.month);
            let care = if claim == Claim::Medical && r.kind.inpatient() {
                Care::Inpatient
            } else {
                Care::Outpatient
            };
            let key = (month.first, care);
            if let std::collections::hash_map::Entry::Vacant(slot) = answers.entry(key) {
                let checked = self
                    .service
                    .check_to_record(CheckRequest {
                        insured: p.insured.clone(),
                        service_date: Some(crate::domain::ServiceDate::new(month.asked_on(today))),
                        claim,
                        care,
                        insurance: None,
                    })
                    .await;
                let crate::service::Checked { outcome, stand_in } = checked;
                // One audit record per patient: the first check's (the one that asked PMH).
                if recorded.is_none() {
                    recorded = Some(self.record(p, owner, id, &outcome, stand_in).await);
                }
                slot.insert(outcome);
            }
            let outcome = &answers[&key];
            let state = match (outcome.status, outcome.source, recorded) {
                // An access that could not be audited is not used.
                (_, _, Some(false)) => PmhState::NotChecked,
                (Status::Confirmed, Some(Source::Stale), _) => PmhState::NotChecked,
                (Status::Confirmed, _, _) => PmhState::Checked,
                (Status::NoneFound, _, _) => PmhState::NoneFound,
                (Status::Unavailable, _, _) => PmhState::NotChecked,
            };
            let more = if state == PmhState::Checked {
                claims::against_pmh(r, month, &outcome.mapped, &found[i])
            } else {
                Vec::new()
            };
            out.push((i, state, more));
        }
        out
    }

    /// Writes the patient's audit record (and the stand-in the check's PMH call changed); whether
    /// it was committed.
    async fn record(
        &self,
        p: &Patient,
        owner: &str,
        id: &str,
        o: &crate::service::CheckOutcome,
        stand_in: Option<crate::service::StandInChange>,
    ) -> bool {
        let mut rec = AuditRecord::new(self.service.now(), owner, Operation::ReceiptPrecheck);
        rec.status = Some(metric_status(o.status).to_owned());
        rec.source = o.source.map(|s| metric_source(s).to_owned());
        rec.subsidies = Some(o.mapped.active.len() as u32);
        rec.check_id = Some(o.check_id.clone());
        rec.patient = Some(self.hasher.patient(&p.insured));
        rec.detail = Some(format!("receipt check {id}"));
        crate::answers::record(
            &*self.store,
            &self.hasher,
            &self.bodies,
            self.retention,
            rec,
            o,
            stand_in,
            self.service.now(),
        )
        .await
        .map_err(|e| tracing::error!(error = %e, "cannot record a receipt check's PMH check"))
        .is_ok()
    }

    /// What the ledger counted at this institution in the receipt's month under each KO's
    /// certificate (a store failure leaves that KO unchecked).
    async fn ledger_months(&self, r: &Receipt) -> Vec<LedgerMonth> {
        let mut out = Vec::new();
        for (i, ko) in r.subsidies.iter().enumerate() {
            let (Ok(payer), Some(recipient)) =
                (PayerNumber::parse(&ko.payer_number), &ko.recipient_number)
            else {
                continue;
            };
            let card = self.hasher.card(&payer, recipient);
            let Ok(rows) = self.store.ledger(card, r.month).await else {
                continue;
            };
            let own: Vec<_> = rows
                .iter()
                .filter(|row| row.source == LedgerSource::Own)
                .collect();
            out.push(LedgerMonth {
                ko: i,
                own_yen: own.iter().map(|row| row.amount.0).sum(),
                visits: u32::try_from(own.len()).unwrap_or(u32::MAX),
            });
        }
        out
    }
}

/// A patient of the file and their receipts (by index).
struct Patient {
    insured: InsuredIdentity,
    receipts: Vec<usize>,
}

/// The file's patients, each once, in the order of their first receipt: identified by the HO's
/// insurer, 記号, 番号 and the SN's 枝番 with the RE's birthdate.
fn patients(receipts: &[Receipt]) -> Vec<Patient> {
    let mut out: Vec<Patient> = Vec::new();
    let mut seen: HashMap<InsuredIdentity, usize> = HashMap::new();
    for (i, r) in receipts.iter().enumerate() {
        let Some(insured) = identity(r) else {
            continue;
        };
        match seen.get(&insured) {
            Some(&n) => out[n].receipts.push(i),
            None => {
                seen.insert(insured.clone(), out.len());
                out.push(Patient {
                    insured,
                    receipts: vec![i],
                });
            }
        }
    }
    out
}

fn identity(r: &Receipt) -> Option<InsuredIdentity> {
    let ho = r.insurance.as_ref()?;
    InsuredIdentity::new(
        &ho.insurer_number,
        ho.symbol.as_deref(),
        ho.number.as_deref()?,
        r.branch.as_deref(),
        r.birthdate?,
    )
    .ok()
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))
}
