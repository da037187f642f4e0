//! Prometheus metrics. Counters and histograms only: no label ever carries personal data
//! (labels are fixed vocabularies: status, source, error kind).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, &'static str)>;

pub struct Metrics {
    registry: Registry,
    /// Subsidy checks answered, by `status` and `source`.
    pub checks: Family<Labels, Counter>,
    /// Requests refused before reaching the service, by `reason`.
    pub rejected: Family<Labels, Counter>,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub cache_entries: Gauge,
    /// Upstream calls, by `outcome` (`ok` or an error kind).
    pub upstream_calls: Family<Labels, Counter>,
    pub upstream_errors: Family<Labels, Counter>,
    pub upstream_latency: Histogram,
    /// 0 closed, 1 half-open, 2 open.
    pub breaker_state: Gauge,
    pub check_latency: Histogram,
    /// オン資 result files noticed in the terminal's folders, by `folder` (`face`, `res`).
    pub checkin_files_seen: Family<Labels, Counter>,
    /// Result files processed (prefetched), by `folder`.
    pub checkin_files_processed: Family<Labels, Counter>,
    /// Result files rejected, by `folder` and `reason` (`unreadable`, `partial`, `identity`,
    /// `my_number`, `no_person`, `other_institution`, `link`, `too_large`).
    pub checkin_files_rejected: Family<Labels, Counter>,
    /// Files removed from the processed and rejected folders past their retention.
    pub checkin_files_purged: Counter,
    /// Times a result file was read (more than processed + rejected when writers were slow).
    pub checkin_file_reads: Counter,
    /// Files that could not be moved or recorded after processing.
    pub checkin_disposal_failures: Counter,
    /// Files the store had recorded as processed already (read again after a crash, or by
    /// another replica): disposed of, not processed again.
    pub checkin_files_repeated: Counter,
    /// 1 while this replica holds the lease of the `face/` watcher.
    pub lease_held: Gauge,
    /// Changes of this replica's lease, by `change` (`taken`, `lost`, `fenced`, `released`).
    pub lease_changes: Family<Labels, Counter>,
    /// Full listings of the watched folders (the watcher's progress: a scan that ends after a
    /// file was handled has seen the folder without it).
    pub checkin_scans: Counter,
    /// Files noticed and not yet finished (waiting to settle, ready, or being read).
    pub checkin_files_outstanding: Gauge,
    /// Calls on the terminal's share given up at `onshi.share_timeout_ms` (a share that stopped
    /// answering).
    pub checkin_share_timeouts: Counter,
    /// When the PMH client certificate expires (Unix seconds); absent in terminal mode.
    pub client_certificate_expiry: Gauge,
    /// Open connections to the REST server.
    pub http_connections_open: Gauge,
    /// Connections refused at accept (`server.max_connections`, or its address's unauthenticated
    /// connections at `server.max_connections_per_address`).
    pub http_connections_refused: Counter,
    /// Connections closed before their first byte: idle past `server.first_byte_timeout_ms`, or
    /// their place taken by a newcomer at the cap.
    pub http_connections_idle_closed: Counter,
    /// Requests cut off at `server.request_timeout_ms`.
    pub http_request_timeouts: Counter,
    /// Refused callers, by `reason` (`missing`, `invalid`, `forbidden`, `blocked`, `host`).
    pub auth_failures: Family<Labels, Counter>,
    /// Records appended to the audit, by `outcome` (`ok`, `failed`).
    pub audit_records: Family<Labels, Counter>,
    /// Prefetches by the answer's `status`.
    pub prefetches: Family<Labels, Counter>,
    pub prefetch_latency: Histogram,
    /// From the file's last write to the answer being cached.
    pub arrival_to_cached: Histogram,
    /// The service's durable state (stale stand-ins, check-ins), by `item` (`stand_in`,
    /// `check_in`) and `op` (`kept`, `forgotten`, `loaded`, `failed`; `late`: not read by the
    /// check's deadline; `dropped`: a stand-in not written because the store was far behind).
    pub durable_state: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The folders the check-in counters are labelled with.
pub const CHECKIN_FOLDERS: [&str; 2] = ["face", "res"];

/// Every `reason` a rejected check-in file is counted under.
pub const REJECTION_REASONS: [&str; 8] = [
    "unreadable",
    "partial",
    "identity",
    "my_number",
    "no_person",
    "other_institution",
    "link",
    "too_large",
];

/// The check-in folder's counters as numbers (for the health page), per folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckinCounts {
    /// Per folder: (folder, seen, processed, rejected by reason (only the reasons counted)).
    pub folders: Vec<FolderCounts>,
    /// Files noticed and not yet finished.
    pub outstanding: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderCounts {
    pub folder: &'static str,
    pub seen: u64,
    pub processed: u64,
    pub rejected: Vec<(&'static str, u64)>,
}

impl Metrics {
    /// The check-in counters, read from the metrics themselves (folders with nothing seen,
    /// processed or rejected are left out).
    pub fn checkin_counts(&self) -> CheckinCounts {
        let read =
            |f: &Family<Labels, Counter>, labels: Labels| f.get(&labels).map_or(0, |c| c.get());
        let folders = CHECKIN_FOLDERS
            .iter()
            .map(|&folder| FolderCounts {
                folder,
                seen: read(&self.checkin_files_seen, vec![("folder", folder)]),
                processed: read(&self.checkin_files_processed, vec![("folder", folder)]),
                rejected: REJECTION_REASONS
                    .iter()
                    .map(|&reason| {
                        let labels = vec![("folder", folder), ("reason", reason)];
                        (reason, read(&self.checkin_files_rejected, labels))
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect(),
            })
            .filter(|c| c.seen + c.processed > 0 || !c.rejected.is_empty())
            .collect();
        CheckinCounts {
            folders,
            outstanding: self.checkin_files_outstanding.get(),
        }
    }

    /// Counts an audit record appended (`ok`) or not (`failed`).
    pub fn audit_record(&self, appended: bool) {
        let outcome = if appended { "ok" } else { "failed" };
        self.audit_records
            .get_or_create(&vec![("outcome", outcome)])
            .inc();
    }

    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pmh_gateway");
        let checks = Family::<Labels, Counter>::default();
        registry.register(
            "subsidy_checks",
            "Subsidy checks answered, by status and source",
            checks.clone(),
        );
        let rejected = Family::<Labels, Counter>::default();
        registry.register(
            "rejected_requests",
            "Requests refused as invalid, by reason",
            rejected.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Checks answered from a fresh cache entry",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "cache_misses",
            "Checks that needed the upstream",
            cache_misses.clone(),
        );
        let cache_entries = Gauge::default();
        registry.register(
            "cache_entries",
            "Answers held in the cache, by person and service date (counted after each miss)",
            cache_entries.clone(),
        );
        let upstream_calls = Family::<Labels, Counter>::default();
        registry.register(
            "upstream_calls",
            "Upstream eligibility queries, by outcome",
            upstream_calls.clone(),
        );
        let upstream_errors = Family::<Labels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Upstream failures, by kind",
            upstream_errors.clone(),
        );
        let upstream_latency = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "upstream_latency_seconds",
            "Upstream eligibility query latency",
            upstream_latency.clone(),
        );
        let breaker_state = Gauge::default();
        registry.register(
            "upstream_breaker_state",
            "Upstream circuit breaker: 0 closed, 1 half-open, 2 open",
            breaker_state.clone(),
        );
        let check_latency = Histogram::new(exponential_buckets(0.0001, 2.0, 18));
        registry.register(
            "subsidy_check_latency_seconds",
            "Time to answer a subsidy check inside the service",
            check_latency.clone(),
        );
        let family = |registry: &mut Registry, name: &str, help: &str| {
            let f = Family::<Labels, Counter>::default();
            registry.register(name, help, f.clone());
            f
        };
        let checkin_files_seen = family(
            &mut registry,
            "checkin_files_seen",
            "オン資 result files noticed in the terminal's folders, by folder",
        );
        let checkin_files_processed = family(
            &mut registry,
            "checkin_files_processed",
            "オン資 result files processed, by folder",
        );
        let checkin_files_rejected = family(
            &mut registry,
            "checkin_files_rejected",
            "オン資 result files rejected, by folder and reason",
        );
        let checkin_files_purged = Counter::default();
        registry.register(
            "checkin_files_purged",
            "Files removed from the processed and rejected folders past their retention",
            checkin_files_purged.clone(),
        );
        let checkin_file_reads = Counter::default();
        registry.register(
            "checkin_file_reads",
            "Times an オン資 result file was read",
            checkin_file_reads.clone(),
        );
        let checkin_disposal_failures = Counter::default();
        registry.register(
            "checkin_disposal_failures",
            "Result files that could not be moved or recorded after processing",
            checkin_disposal_failures.clone(),
        );
        let checkin_files_repeated = Counter::default();
        registry.register(
            "checkin_files_repeated",
            "Result files already recorded as processed (read again after a crash or by another replica), not processed again",
            checkin_files_repeated.clone(),
        );
        let lease_held = Gauge::default();
        registry.register(
            "lease_held",
            "1 while this replica holds the lease of the face/ watcher",
            lease_held.clone(),
        );
        let lease_changes = family(
            &mut registry,
            "lease_changes",
            "Changes of this replica's lease of the face/ watcher, by change (taken, lost, fenced, released)",
        );
        let checkin_scans = Counter::default();
        registry.register(
            "checkin_scans",
            "Full listings of the terminal's watched folders",
            checkin_scans.clone(),
        );
        let checkin_files_outstanding = Gauge::default();
        registry.register(
            "checkin_files_outstanding",
            "オン資 result files noticed and not yet processed or rejected",
            checkin_files_outstanding.clone(),
        );
        let checkin_share_timeouts = Counter::default();
        registry.register(
            "checkin_share_timeouts",
            "Calls on the terminal's share given up at onshi.share_timeout_ms",
            checkin_share_timeouts.clone(),
        );
        let http_connections_open = Gauge::default();
        registry.register(
            "http_connections_open",
            "Open connections to the REST server",
            http_connections_open.clone(),
        );
        let http_connections_refused = Counter::default();
        registry.register(
            "http_connections_refused",
            "Connections refused at accept (server.max_connections, or server.max_connections_per_address unauthenticated from one address)",
            http_connections_refused.clone(),
        );
        let http_connections_idle_closed = Counter::default();
        registry.register(
            "http_connections_idle_closed",
            "Connections closed before their first byte (idle past server.first_byte_timeout_ms, or displaced at the cap)",
            http_connections_idle_closed.clone(),
        );
        let http_request_timeouts = Counter::default();
        registry.register(
            "http_request_timeouts",
            "Requests cut off at server.request_timeout_ms",
            http_request_timeouts.clone(),
        );
        let client_certificate_expiry = Gauge::default();
        registry.register(
            "upstream_client_certificate_expiry_timestamp_seconds",
            "When the client certificate for PMH expires (Unix time)",
            client_certificate_expiry.clone(),
        );
        let auth_failures = family(
            &mut registry,
            "auth_failures",
            "Refused callers, by reason (missing, invalid, forbidden, blocked, host)",
        );
        let audit_records = family(
            &mut registry,
            "audit_records",
            "Audit records appended, by outcome (ok, failed)",
        );
        let prefetches = family(
            &mut registry,
            "prefetches",
            "Check-in prefetches, by answer status",
        );
        let prefetch_latency = Histogram::new(exponential_buckets(0.0001, 2.0, 18));
        registry.register(
            "prefetch_latency_seconds",
            "Time to prefetch one check-in's answer (block or upstream query)",
            prefetch_latency.clone(),
        );
        let arrival_to_cached = Histogram::new(exponential_buckets(0.0005, 2.0, 18));
        registry.register(
            "checkin_arrival_to_cached_seconds",
            "From a result file's last write to its answer being cached",
            arrival_to_cached.clone(),
        );
        let durable_state = family(
            &mut registry,
            "durable_state",
            "Stale stand-ins and check-ins written to or read from the store, by item and op (kept, forgotten, loaded, failed)",
        );
        Self {
            registry,
            durable_state,
            checks,
            rejected,
            cache_hits,
            cache_misses,
            cache_entries,
            upstream_calls,
            upstream_errors,
            upstream_latency,
            breaker_state,
            check_latency,
            checkin_files_seen,
            checkin_files_processed,
            checkin_files_rejected,
            checkin_files_purged,
            checkin_file_reads,
            checkin_disposal_failures,
            checkin_files_repeated,
            lease_held,
            lease_changes,
            checkin_scans,
            client_certificate_expiry,
            http_connections_open,
            http_connections_refused,
            http_connections_idle_closed,
            http_request_timeouts,
            auth_failures,
            audit_records,
            checkin_files_outstanding,
            checkin_share_timeouts,
            prefetches,
            prefetch_latency,
            arrival_to_cached,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
