//! The オン資 terminal as the upstream, for clinics that reach PMH only through it: a query is
//! a request file `req/OQSsiquc01req_<id>.xml`; the answer is `res/OQSsiquc01res_<id>.xml` (its
//! PMH block) or `<request name>.err` (refused), within the deadline.
//!
//! The gateway's request ids start with [`OWN_PREFIX`]; the check-in watcher leaves results with
//! that prefix alone, and this module removes them once read (they hold personal data the
//! gateway does not keep). A request not answered by the deadline is withdrawn, and a late answer
//! is removed when it arrives.
//!
//! The share is not trusted: requests are written owner-only and never through a link; answers
//! are read up to [`MAX_ANSWER_BYTES`] and never through a link; a `.err` file's content never
//! reaches a caller (a fixed description and the file's name do; at most [`ERR_LOG_BYTES`] of it
//! go to the log, escaped).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::{Answer, BoxFuture, MAX_ANSWER_BYTES, Query, Upstream, UpstreamError};
use crate::domain::MedicalInstitutionCode;
use crate::files::{self, ReadError};
use crate::onshi::{Charset, OnshiError, OnshiResult, QualificationRequest};

/// The start of the gateway's own request ids (12 characters in all).
pub const OWN_PREFIX: &str = "PMHG";

/// How much of a `.err` file goes to the log.
pub const ERR_LOG_BYTES: u64 = 4096;

/// How long a late answer to a withdrawn request is waited for, to be removed.
const LATE_ANSWER_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalUpstreamOptions {
    pub req_dir: PathBuf,
    pub res_dir: PathBuf,
    /// The encoding requests are written in.
    pub charset: Charset,
    /// How often the `res` folder is looked at while waiting.
    pub poll: Duration,
}

pub struct TerminalUpstream {
    opts: TerminalUpstreamOptions,
    institution: MedicalInstitutionCode,
}

impl TerminalUpstream {
    pub fn new(opts: TerminalUpstreamOptions, institution: MedicalInstitutionCode) -> Self {
        Self { opts, institution }
    }

    /// The files that may answer request `req_name`.
    fn answer_paths(&self, req: &QualificationRequest) -> (PathBuf, [PathBuf; 2]) {
        let err = format!("{}.err", req.file_name());
        (
            self.opts.res_dir.join(req.result_file_name()),
            [self.opts.res_dir.join(&err), self.opts.req_dir.join(&err)],
        )
    }

    async fn ask(&self, q: &Query, deadline: Instant) -> Result<Answer, UpstreamError> {
        let started = Instant::now();
        let id = format!(
            "{OWN_PREFIX}{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase()
        );
        let req = QualificationRequest {
            confirmation_date: q.date,
            institution: self.institution.clone(),
            arbitrary_file_identifier: id,
            insured: q.insured.clone(),
            limit_consent: false,
        };
        let bytes = req
            .to_xml(self.opts.charset)
            .map_err(|e| UpstreamError::Other(format!("cannot write the request: {e}")))?;
        let req_path = self.opts.req_dir.join(req.file_name());
        let (res_path, err_paths) = self.answer_paths(&req);
        // Written without an await (a small file), and the guard made before the next one: from
        // here the request is withdrawn however this ends — answered, timed out, or the caller
        // gone (this future dropped at the service's deadline or a closed connection).
        write_atomically(&self.opts.req_dir, &req_path, &bytes).map_err(|e| {
            UpstreamError::Connect(format!(
                "cannot write into the terminal's req folder {}: {e}",
                self.opts.req_dir.display()
            ))
        })?;
        let mut pending = Pending::new(
            req_path,
            res_path.clone(),
            err_paths.clone(),
            self.opts.poll,
        );
        loop {
            if let Some(answer) = self.look(&res_path, &err_paths, q).await {
                pending.answered();
                return answer;
            }
            if Instant::now() + self.opts.poll >= deadline {
                break;
            }
            tokio::time::sleep(self.opts.poll).await;
        }
        drop(pending);
        Err(UpstreamError::Timeout(started.elapsed().as_millis() as u64))
    }

    /// `Some` once the terminal has answered (the answer files are then removed).
    async fn look(
        &self,
        res_path: &Path,
        err_paths: &[PathBuf],
        q: &Query,
    ) -> Option<Result<Answer, UpstreamError>> {
        for err in err_paths {
            let owned = err.clone();
            let head =
                tokio::task::spawn_blocking(move || files::head_escaped(&owned, ERR_LOG_BYTES))
                    .await
                    .ok()?;
            if matches!(&head, Err(e) if e.is_not_found()) {
                continue;
            }
            // Only once there is a refusal (not on every poll): its name, escaped.
            let name = files::escape_name(
                &err.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
            .into_owned();
            match head {
                Err(e) => {
                    let _ = tokio::fs::remove_file(err).await;
                    return Some(Err(UpstreamError::Protocol(format!(
                        "the terminal's refusal {name} cannot be read: {e}"
                    ))));
                }
                Ok(text) => {
                    let _ = tokio::fs::remove_file(err).await;
                    // The terminal's words may echo the request: the log only, never the caller.
                    tracing::warn!(file = %name, content = %text, "the オン資 terminal refused a request");
                    return Some(Err(UpstreamError::Rejected {
                        code: "err-file".into(),
                        message: format!(
                            "the オン資 terminal refused the request ({name}; its reason is in the gateway's log)"
                        ),
                    }));
                }
            }
        }
        let owned = res_path.to_path_buf();
        let read = tokio::task::spawn_blocking(move || {
            files::read_limited(&owned, MAX_ANSWER_BYTES as u64)
        })
        .await
        .ok()?;
        let bytes = match read {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return None,
            Err(ReadError::Io(_)) => return None,
            Err(e) => {
                let _ = tokio::fs::remove_file(res_path).await;
                return Some(Err(UpstreamError::Protocol(format!(
                    "the terminal's result cannot be read: {e}"
                ))));
            }
        };
        match OnshiResult::parse(&bytes) {
            // Still being written: look again.
            Err(e) if e.could_be_partial() => None,
            parsed => {
                let _ = tokio::fs::remove_file(res_path).await;
                Some(answer_from(parsed, q))
            }
        }
    }
}

fn answer_from(
    parsed: Result<OnshiResult, OnshiError>,
    q: &Query,
) -> Result<Answer, UpstreamError> {
    let r = match parsed {
        Ok(r) => r,
        Err(OnshiError::ResultError { code }) => {
            return Err(UpstreamError::Rejected {
                code,
                message: "the terminal reported an error (SegmentOfResult 9)".into(),
            });
        }
        Err(e) => {
            return Err(UpstreamError::Protocol(format!(
                "the terminal's result is not readable: {e}"
            )));
        }
    };
    if r.processing_result_status == "2" {
        return Err(UpstreamError::Rejected {
            code: r.processing_result_code.unwrap_or_default(),
            message: r.processing_result_message.unwrap_or_default(),
        });
    }
    let person = r
        .results
        .iter()
        .find(|x| x.insured.as_ref().is_ok_and(|i| *i == q.insured))
        .ok_or_else(|| {
            UpstreamError::Protocol(format!(
                "the terminal's result holds no result for the person asked about (QualificationValidity {})",
                r.qualification_validity.as_deref().unwrap_or("absent")
            ))
        })?;
    // No block says nothing about subsidies: unknown, never "none".
    let certificates = person.certificates().ok_or_else(|| {
        UpstreamError::Protocol(
            "the terminal's result carries no PMH block (MedicalSubsidyResultList): subsidies unknown"
                .into(),
        )
    })?;
    Ok(Answer {
        certificates,
        processed_at: r.header.process_execution_time,
    })
}

/// A request in the terminal's `req` folder that this gateway is waiting on. Dropped before it
/// was answered, it withdraws the request file and has a late answer removed when it arrives
/// (within a minute): no personal data is left behind in the share. Answered, it removes the
/// request file.
struct Pending {
    req_path: PathBuf,
    late: Vec<PathBuf>,
    poll: Duration,
    answered: bool,
}

impl Pending {
    fn new(req_path: PathBuf, res_path: PathBuf, err_paths: [PathBuf; 2], poll: Duration) -> Self {
        let mut late = vec![res_path];
        late.extend(err_paths);
        Self {
            req_path,
            late,
            poll,
            answered: false,
        }
    }

    fn answered(&mut self) {
        self.answered = true;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // A small synchronous removal: it must happen even when no runtime polls us any more.
        let _ = std::fs::remove_file(&self.req_path);
        if !self.answered
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(remove_when_they_appear(
                std::mem::take(&mut self.late),
                self.poll,
            ));
        }
    }
}

/// Writes under a temporary name the terminal ignores, then renames, so the terminal never reads
/// half a request; owner-only, never through a link, into a folder that is not a link.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    files::check_real_dir(dir)?;
    files::replace_atomically(path, bytes, false)
}

async fn remove_when_they_appear(paths: Vec<PathBuf>, poll: Duration) {
    let end = Instant::now() + LATE_ANSWER_WINDOW;
    while Instant::now() < end {
        for p in &paths {
            if tokio::fs::remove_file(p).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(poll.max(Duration::from_millis(200))).await;
    }
}

impl Upstream for TerminalUpstream {
    fn query<'a>(
        &'a self,
        q: &'a Query,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Answer, UpstreamError>> {
        Box::pin(self.ask(q, deadline))
    }
}
