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
//! are read up to [`MAX_ANSWER_BYTES`] and never through a link; the folders are used only as
//! found at start (`files::ShareDir`), and every call on them runs off the runtime by a deadline
//! (`files::ShareIo`); a `.err` file's content never reaches a caller or the log (its name, size
//! and a hash do), since the terminal's words may echo the request.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use futures::future::BoxFuture;

use super::{Answer, MAX_ANSWER_BYTES, Query, Upstream, UpstreamError};
use crate::domain::MedicalInstitutionCode;
use crate::files::{ReadError, ShareDir, ShareError, ShareIo};
use crate::onshi::{Charset, OnshiError, OnshiResult, QualificationRequest};

/// The start of the gateway's own request ids (12 characters in all).
pub const OWN_PREFIX: &str = "PMHG";

/// How much of a `.err` file is read (to log its size and a hash of it, never its words).
pub const ERR_READ_BYTES: u64 = 64 * 1024;

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
    /// A call on the share is given up after this long (and always at the query's deadline).
    pub share_timeout: Duration,
}

pub struct TerminalUpstream {
    opts: TerminalUpstreamOptions,
    institution: MedicalInstitutionCode,
    folders: Arc<Folders>,
}

/// The terminal's folders as found at start, and the runner of calls on them.
struct Folders {
    req: ShareDir,
    res: ShareDir,
    share: ShareIo,
}

impl Folders {
    /// Runs a call on the share off the runtime, by the share's deadline and the query's.
    async fn run<T: Send + 'static>(
        &self,
        name: &str,
        deadline: Instant,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ShareError> {
        tokio::time::timeout_at(deadline, self.share.run(name, f))
            .await
            .unwrap_or(Err(ShareError::NotAnswering(self.share.deadline())))
    }

    fn dir(&self, at: In) -> ShareDir {
        match at {
            In::Req => self.req.clone(),
            In::Res => self.res.clone(),
        }
    }

    /// Removes `name` from a folder, off the runtime, by the deadline; whether it did.
    async fn remove(&self, at: In, name: &str, deadline: Instant) -> bool {
        let dir = self.dir(at);
        let owned = name.to_owned();
        matches!(
            self.run(name, deadline, move || dir.remove(&owned)).await,
            Ok(Ok(()))
        )
    }
}

/// Which folder an answer file is in.
#[derive(Debug, Clone, Copy)]
enum In {
    Req,
    Res,
}

impl TerminalUpstream {
    /// The terminal as the upstream on its `req` and `res` folders, which must be real folders
    /// (never links) now; they are then used only as they are now (`files::ShareDir`).
    pub fn new(
        opts: TerminalUpstreamOptions,
        institution: MedicalInstitutionCode,
    ) -> std::io::Result<Self> {
        Self::on_share(
            ShareIo::new(ShareIo::CONCURRENCY, opts.share_timeout),
            opts,
            institution,
        )
    }

    /// [`TerminalUpstream::new`] with the runner of calls on the share given (a test's share
    /// that stops answering).
    pub fn on_share(
        share: ShareIo,
        opts: TerminalUpstreamOptions,
        institution: MedicalInstitutionCode,
    ) -> std::io::Result<Self> {
        let folders = Arc::new(Folders {
            req: ShareDir::open(&opts.req_dir)?,
            res: ShareDir::open(&opts.res_dir)?,
            share,
        });
        Ok(Self {
            opts,
            institution,
            folders,
        })
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
        let req_name = req.file_name();
        let res_name = req.result_file_name();
        let err_name = format!("{req_name}.err");
        // The guard is made before the request is written: from here the request is withdrawn
        // however this ends — answered, timed out, or the caller gone (this future dropped at
        // the service's deadline or a closed connection).
        let mut pending = Pending {
            folders: self.folders.clone(),
            req_name: req_name.clone(),
            late: vec![
                (In::Res, res_name.clone()),
                (In::Res, err_name.clone()),
                (In::Req, err_name.clone()),
            ],
            poll: self.opts.poll,
            answered: false,
        };
        // Written under a temporary name the terminal ignores, then renamed, so the terminal
        // never reads half a request; owner-only, never through a link.
        let dir = self.folders.req.clone();
        let written = self
            .folders
            .run(&req_name.clone(), deadline, move || {
                dir.replace(&req_name, &bytes)
            })
            .await;
        let write_failed = |e: String| {
            UpstreamError::Connect(format!(
                "cannot write into the terminal's req folder {}: {e}",
                self.opts.req_dir.display()
            ))
        };
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(write_failed(e.to_string())),
            Err(e) => return Err(write_failed(e.to_string())),
        }
        loop {
            if let Some(answer) = self.look(&res_name, &err_name, q, deadline).await {
                pending.answered = true;
                return answer;
            }
            if Instant::now() + self.opts.poll >= deadline {
                break;
            }
            tokio::time::sleep(self.opts.poll).await;
        }
        // Withdrawn before the caller hears of the timeout (the share's own deadline bounds it);
        // a late answer is still removed when it arrives, after.
        pending.withdraw_request().await;
        drop(pending);
        Err(UpstreamError::Timeout(started.elapsed().as_millis() as u64))
    }

    /// `Some` once the terminal has answered (the answer files are then removed).
    async fn look(
        &self,
        res_name: &str,
        err_name: &str,
        q: &Query,
        deadline: Instant,
    ) -> Option<Result<Answer, UpstreamError>> {
        for at in [In::Res, In::Req] {
            let dir = self.folders.dir(at);
            let owned = err_name.to_owned();
            let read = self
                .folders
                .run(err_name, deadline, move || {
                    dir.read_head(&owned, ERR_READ_BYTES)
                })
                .await
                .ok()?;
            if matches!(&read, Err(e) if e.is_not_found()) {
                continue;
            }
            // Only once there is a refusal (not on every poll): its name, escaped.
            let name = crate::files::escape_name(err_name).into_owned();
            self.folders.remove(at, err_name, deadline).await;
            return Some(match read {
                Err(e) => Err(UpstreamError::Protocol(format!(
                    "the terminal's refusal {name} cannot be read: {e}"
                ))),
                Ok(bytes) => {
                    // The terminal's words may echo the request (an insured number, a
                    // birthdate): neither the caller nor the log sees them; the log has the
                    // file's size and a hash, to match it with the terminal's own records.
                    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
                    tracing::warn!(
                        file = %name,
                        bytes = bytes.len(),
                        sha256 = %crate::domain::hex(&digest.as_ref()[..8]),
                        "the オン資 terminal refused a request (its words are not logged: they may echo the request)"
                    );
                    Err(UpstreamError::Rejected {
                        code: "err-file".into(),
                        message: format!(
                            "the オン資 terminal refused the request ({name}; see the terminal's own log)"
                        ),
                    })
                }
            });
        }
        let dir = self.folders.res.clone();
        let owned = res_name.to_owned();
        let read = self
            .folders
            .run(res_name, deadline, move || {
                dir.read_limited(&owned, MAX_ANSWER_BYTES as u64)
            })
            .await
            .ok()?;
        let bytes = match read {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return None,
            Err(ReadError::Io(_)) => return None,
            Err(e) => {
                self.folders.remove(In::Res, res_name, deadline).await;
                return Some(Err(UpstreamError::Protocol(format!(
                    "the terminal's result cannot be read: {e}"
                ))));
            }
        };
        match OnshiResult::parse(&bytes) {
            // Still being written: look again.
            Err(e) if e.could_be_partial() => None,
            parsed => {
                self.folders.remove(In::Res, res_name, deadline).await;
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
            code: crate::domain::text::quoted(
                r.processing_result_code.as_deref().unwrap_or_default(),
                32,
            ),
            message: crate::domain::text::quoted(
                r.processing_result_message.as_deref().unwrap_or_default(),
                200,
            ),
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

/// A request in the terminal's `req` folder that this gateway is waiting on. Dropped, it
/// withdraws the request file; dropped before it was answered, it also has a late answer removed
/// when it arrives (within a minute): no personal data is left behind in the share. Both happen
/// in a task of their own, off the runtime's threads (a share that hangs holds none of them).
struct Pending {
    folders: Arc<Folders>,
    req_name: String,
    late: Vec<(In, String)>,
    poll: Duration,
    answered: bool,
}

impl Pending {
    /// Removes the request file now; once removed, dropping the guard leaves it be.
    async fn withdraw_request(&mut self) {
        let deadline = Instant::now() + self.folders.share.deadline();
        if self.folders.remove(In::Req, &self.req_name, deadline).await {
            self.req_name.clear();
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let req_name = std::mem::take(&mut self.req_name);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // No runtime any more (the process is stopping): at least the request goes.
            if !req_name.is_empty() {
                let _ = self.folders.req.remove(&req_name);
            }
            return;
        };
        let folders = self.folders.clone();
        let late = if self.answered {
            Vec::new()
        } else {
            std::mem::take(&mut self.late)
        };
        let poll = self.poll;
        rt.spawn(async move {
            if !req_name.is_empty() {
                let deadline = Instant::now() + folders.share.deadline();
                folders.remove(In::Req, &req_name, deadline).await;
            }
            remove_when_they_appear(&folders, late, poll).await;
        });
    }
}

async fn remove_when_they_appear(folders: &Folders, paths: Vec<(In, String)>, poll: Duration) {
    if paths.is_empty() {
        return;
    }
    let end = Instant::now() + LATE_ANSWER_WINDOW;
    while Instant::now() < end {
        for (at, name) in &paths {
            let deadline = Instant::now() + folders.share.deadline();
            if folders.remove(*at, name, deadline).await {
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
