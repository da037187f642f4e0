//! The sandbox as an オン資 terminal on a folder (`face/`, `req/`, `res/` under a root):
//! synthetic check-ins written into `face` at a steady interval (UTF-8 and Shift_JIS, some with
//! the provisional PMH block and some without, a few malformed), and answers to the request
//! files that appear in `req`.
//!
//! Everything written is synthetic: the population's random identities, a name drawn from
//! common family and given names by the persona's id (see [`name_of`]), no addresses.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use tokio::sync::{broadcast, watch};

use super::population::{Persona, Population};
use pmh_core::domain::InsuredIdentity;
use pmh_core::domain::date::{jst, parse_iso};
use pmh_formats::onshi::{Charset, encode};
use pmh_formats::onshi::{OnshiError, QualificationRequest, pmh_block};
use pmh_formats::pmh::{EligibilityRequest, WireSubsidy};

/// What a synthetic result file holds.
#[derive(Debug, Clone)]
pub struct ResultSpec<'a> {
    pub persona: &'a Persona,
    pub date: NaiveDate,
    pub institution: &'a str,
    pub file_id: &'a str,
    pub reference: Option<&'a str>,
    pub charset: Charset,
    /// The PMH block to include (`None`: no block).
    pub block: Option<&'a [WireSubsidy]>,
}

/// The 照会番号 the sandbox terminal gives a persona (`P0001` → `0000000001`).
pub fn reference_of(p: &Persona) -> String {
    format!("{:0>10}", p.id.trim_start_matches('P'))
}

/// A persona's synthetic name as the terminal writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticName {
    /// Kanji, family and given name separated by an ideographic space; a character outside
    /// JIS X 0208 comes as ● (as terminals mark it), e.g. ●橋 for 髙橋.
    pub name: String,
    /// Half-width katakana, separated by a space.
    pub kana: String,
    /// `Sex1`: 1 男, 2 女.
    pub sex: &'static str,
}

const FAMILY: [(&str, &str); 12] = [
    ("佐藤", "ｻﾄｳ"),
    ("鈴木", "ｽｽﾞｷ"),
    ("●橋", "ﾀｶﾊｼ"),
    ("田中", "ﾀﾅｶ"),
    ("伊藤", "ｲﾄｳ"),
    ("渡辺", "ﾜﾀﾅﾍﾞ"),
    ("山本", "ﾔﾏﾓﾄ"),
    ("中村", "ﾅｶﾑﾗ"),
    ("小林", "ｺﾊﾞﾔｼ"),
    ("加藤", "ｶﾄｳ"),
    ("吉田", "ﾖｼﾀﾞ"),
    ("山田", "ﾔﾏﾀﾞ"),
];
const GIVEN_MALE: [(&str, &str); 5] = [
    ("太郎", "ﾀﾛｳ"),
    ("健一", "ｹﾝｲﾁ"),
    ("翔太", "ｼｮｳﾀ"),
    ("大輔", "ﾀﾞｲｽｹ"),
    ("蓮", "ﾚﾝ"),
];
const GIVEN_FEMALE: [(&str, &str); 5] = [
    ("花子", "ﾊﾅｺ"),
    ("陽子", "ﾖｳｺ"),
    ("美咲", "ﾐｻｷ"),
    ("さくら", "ｻｸﾗ"),
    ("結衣", "ﾕｲ"),
];

/// The persona's synthetic name, the same on every run (drawn by its id's number).
pub fn name_of(p: &Persona) -> SyntheticName {
    let n: usize =
        p.id.trim_start_matches('P')
            .parse()
            .unwrap_or_else(|_| p.id.bytes().map(usize::from).sum());
    let (family, family_kana) = FAMILY[n % FAMILY.len()];
    let female = (n / FAMILY.len()) % 2 == 1;
    let given = if female { &GIVEN_FEMALE } else { &GIVEN_MALE };
    let (given, given_kana) = given[(n / 2) % given.len()];
    SyntheticName {
        name: format!("{family}\u{3000}{given}"),
        kana: format!("{family_kana} {given_kana}"),
        sex: if female { "2" } else { "1" },
    }
}

/// A result message (`OQSsiquc01res_*`) for a persona, in the given encoding.
pub fn result_xml(spec: &ResultSpec<'_>) -> Result<Vec<u8>, OnshiError> {
    use quick_xml::escape::escape;
    let i = &spec.persona.insured;
    let birth = parse_iso(&i.birthdate).unwrap_or(spec.date);
    let age = spec.date.year()
        - birth.year()
        - i32::from((spec.date.month(), spec.date.day()) < (birth.month(), birth.day()));
    let late = i.insurer_number.starts_with("39") || age >= 75;
    let opt = |name: &str, v: Option<&str>| {
        v.map(|v| format!("<{name}>{}</{name}>", escape(v)))
            .unwrap_or_default()
    };
    let family = if spec.persona.id.ends_with(['1', '3', '5', '7', '9']) {
        "2"
    } else {
        "1"
    };
    let mut body = String::new();
    body.push_str("<ResultOfQualificationConfirmation>");
    body.push_str("<InsuredCardClassification>01</InsuredCardClassification>");
    body.push_str(&format!(
        "<InsurerNumber>{:>8}</InsurerNumber>",
        escape(i.insurer_number.as_str())
    ));
    body.push_str(&opt("InsuredCardSymbol", i.symbol.as_deref()));
    body.push_str(&opt("InsuredIdentificationNumber", Some(&i.number)));
    body.push_str(&opt("InsuredBranchNumber", i.branch.as_deref()));
    body.push_str(&format!(
        "<PersonalFamilyClassification>{family}</PersonalFamilyClassification>"
    ));
    let who = name_of(spec.persona);
    body.push_str(&format!(
        "<Name>{}</Name><NameKana>{}</NameKana><Sex1>{}</Sex1>",
        escape(who.name.as_str()),
        escape(who.kana.as_str()),
        who.sex
    ));
    body.push_str(&format!(
        "<Birthdate>{}</Birthdate>",
        birth.format("%Y%m%d")
    ));
    if late {
        body.push_str("<InsuredPartialContributionRatio>010</InsuredPartialContributionRatio>");
    } else if age >= 70 {
        body.push_str("<ElderlyRecipientCertificateInfo><ElderlyRecipientContributionRatio>2</ElderlyRecipientContributionRatio></ElderlyRecipientCertificateInfo>");
    } else if pmh_core::domain::fiscal_year_age(birth, spec.date).is_some_and(|a| a < 6) {
        body.push_str("<PreschoolClassification>1</PreschoolClassification>");
    }
    body.push_str(&opt("ReferenceNumber", spec.reference));
    body.push_str("<PharmacistsInfoConsFlg>1</PharmacistsInfoConsFlg>");
    body.push_str("<SpecificHealthCheckupsInfoConsFlg>1</SpecificHealthCheckupsInfoConsFlg>");
    if let Some(b) = spec.block {
        pmh_block::write(b, &mut body);
    }
    body.push_str("</ResultOfQualificationConfirmation>");
    let now = Utc::now().with_timezone(&jst());
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"{enc}\" standalone=\"no\"?>\n<XmlMsg><MessageHeader><ProcessExecutionTime>{time}</ProcessExecutionTime><CharacterCodeIdentifier>{cci}</CharacterCodeIdentifier><SegmentOfResult>1</SegmentOfResult><QualificationConfirmationDate>{date}</QualificationConfirmationDate><ReferenceClassification>1</ReferenceClassification><ArbitraryFileIdentifier>{id}</ArbitraryFileIdentifier><MedicalInstitutionCode>{inst}</MedicalInstitutionCode></MessageHeader><MessageBody><ResultList>{body}</ResultList><ProcessingResultStatus>1</ProcessingResultStatus><QualificationValidity>1</QualificationValidity></MessageBody></XmlMsg>\n",
        enc = spec.charset.xml_name(),
        time = now.format("%Y%m%d%H%M%S"),
        cci = spec.charset.identifier(),
        date = spec.date.format("%Y%m%d"),
        id = escape(spec.file_id),
        inst = escape(spec.institution),
    );
    encode(&text, spec.charset)
}

/// The `n`-th synthetic check-in of a series for `persona`: Shift_JIS every third, the PMH block
/// on even `n`, the persona's 照会番号.
pub fn check_in_xml(
    persona: &Persona,
    n: u64,
    date: NaiveDate,
    institution: &str,
    file_id: &str,
) -> Result<Vec<u8>, OnshiError> {
    result_xml(&ResultSpec {
        persona,
        date,
        institution,
        file_id,
        reference: Some(&reference_of(persona)),
        charset: series_charset(n),
        block: n
            .is_multiple_of(2)
            .then_some(persona.certificates.as_slice()),
    })
}

fn series_charset(n: u64) -> Charset {
    if n % 3 == 2 {
        Charset::ShiftJis
    } else {
        Charset::Utf8
    }
}

/// Ways the terminal spoils a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    /// Cut in the middle.
    Truncated,
    /// Not an オン資 message.
    WrongRoot,
    /// Declared Shift_JIS, with bytes that are not.
    Undecodable,
    /// No birthdate.
    MissingBirthdate,
}

impl Malformation {
    pub const ALL: [Self; 4] = [
        Self::Truncated,
        Self::WrongRoot,
        Self::Undecodable,
        Self::MissingBirthdate,
    ];

    pub fn apply(self, good: &[u8]) -> Vec<u8> {
        match self {
            Self::Truncated => good[..good.len() / 2].to_vec(),
            Self::WrongRoot => String::from_utf8_lossy(good)
                .replace("XmlMsg>", "Message>")
                .into_bytes(),
            Self::Undecodable => {
                let text = String::from_utf8_lossy(good).replace("UTF-8", "Shift_JIS");
                let mut b = text.into_bytes();
                let at = b.len() / 2;
                b.splice(at..at, [0x82, 0xFF, 0x82]);
                b
            }
            Self::MissingBirthdate => {
                let text = String::from_utf8_lossy(good).into_owned();
                match (text.find("<Birthdate>"), text.find("</Birthdate>")) {
                    (Some(a), Some(b)) => {
                        format!("{}{}", &text[..a], &text[b + "</Birthdate>".len()..]).into_bytes()
                    }
                    _ => text.into_bytes(),
                }
            }
        }
    }
}

/// How the terminal behaves.
#[derive(Debug, Clone)]
pub struct TerminalOptions {
    /// `face/`, `req/` and `res/` are created under it.
    pub root: PathBuf,
    pub institution: String,
    pub seed: u64,
    pub today: NaiveDate,
    pub population_size: usize,
    /// Time between check-ins (`None`: no check-ins).
    pub check_in_every: Option<Duration>,
    /// Stop after this many check-ins.
    pub check_in_limit: Option<u64>,
    /// Every n-th check-in is malformed (0: never).
    pub malformed_every: u64,
    /// Answer request files in `req`.
    pub answer_requests: bool,
}

impl TerminalOptions {
    pub fn new(root: impl Into<PathBuf>, institution: &str, today: NaiveDate) -> Self {
        Self {
            root: root.into(),
            institution: institution.into(),
            seed: 42,
            today,
            population_size: Population::DEFAULT_SIZE,
            check_in_every: Some(Duration::from_secs(3)),
            check_in_limit: None,
            malformed_every: 10,
            answer_requests: true,
        }
    }
}

/// A check-in the terminal wrote.
#[derive(Debug, Clone)]
pub struct CheckInNotice {
    pub file_name: String,
    pub persona_id: String,
    /// The 照会番号 inside (absent when malformed).
    pub reference: Option<String>,
    pub charset: Charset,
    pub with_block: bool,
    pub malformed: Option<Malformation>,
}

struct Inner {
    opts: TerminalOptions,
    population: Population,
    written: AtomicU64,
    answered: AtomicU64,
    notices: broadcast::Sender<CheckInNotice>,
}

/// A running terminal emulator; [`Terminal::shutdown`] stops it.
pub struct Terminal {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Terminal {
    pub fn face_dir(root: &Path) -> PathBuf {
        root.join("face")
    }
    pub fn req_dir(root: &Path) -> PathBuf {
        root.join("req")
    }
    pub fn res_dir(root: &Path) -> PathBuf {
        root.join("res")
    }

    pub fn start(opts: TerminalOptions) -> std::io::Result<Self> {
        for d in [
            Self::face_dir(&opts.root),
            Self::req_dir(&opts.root),
            Self::res_dir(&opts.root),
        ] {
            std::fs::create_dir_all(d)?;
        }
        let population = Population::generate(opts.seed, opts.today, opts.population_size);
        let (notices, _) = broadcast::channel(256);
        let inner = Arc::new(Inner {
            opts,
            population,
            written: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            notices,
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        if let Some(every) = inner.opts.check_in_every {
            tasks.push(tokio::spawn(check_ins(
                inner.clone(),
                every,
                stop_rx.clone(),
            )));
        }
        if inner.opts.answer_requests {
            tasks.push(tokio::spawn(answer_requests(inner.clone(), stop_rx)));
        }
        Ok(Self { inner, stop, tasks })
    }

    pub fn population(&self) -> &Population {
        &self.inner.population
    }

    /// Check-ins as they are written.
    pub fn subscribe(&self) -> broadcast::Receiver<CheckInNotice> {
        self.inner.notices.subscribe()
    }

    pub fn check_ins_written(&self) -> u64 {
        self.inner.written.load(Ordering::SeqCst)
    }

    pub fn requests_answered(&self) -> u64 {
        self.inner.answered.load(Ordering::SeqCst)
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// The `n`-th check-in (0-based): which persona, encoding, block, spoilage.
fn nth_check_in(inner: &Inner, n: u64) -> Result<(Vec<u8>, CheckInNotice), OnshiError> {
    let people = &inner.population.personas;
    let persona = &people[(n as usize) % people.len()];
    let charset = series_charset(n);
    let with_block = n.is_multiple_of(2);
    let reference = reference_of(persona);
    let now = Utc::now().with_timezone(&jst());
    let file_id = format!("{}{:06}", now.format("%H%M%S"), n % 1_000_000);
    let file_name = format!(
        "OQSsiquc01res_face_{}{:06}.xml",
        now.format("%Y%m%d%H%M%S"),
        n % 1_000_000
    );
    let bytes = check_in_xml(
        persona,
        n,
        inner.opts.today,
        &inner.opts.institution,
        &file_id,
    )?;
    let every = inner.opts.malformed_every;
    let malformed = (every > 0 && n % every == every - 1)
        .then(|| Malformation::ALL[((n / every) as usize) % Malformation::ALL.len()]);
    let bytes = match malformed {
        Some(m) => m.apply(&bytes),
        None => bytes,
    };
    Ok((
        bytes,
        CheckInNotice {
            file_name,
            persona_id: persona.id.clone(),
            reference: malformed.is_none().then_some(reference),
            charset,
            with_block,
            malformed,
        },
    ))
}

async fn check_ins(inner: Arc<Inner>, every: Duration, mut stop: watch::Receiver<bool>) {
    let face = Terminal::face_dir(&inner.opts.root);
    // The first check-in one interval after start, so that whoever starts the terminal and then
    // subscribes to its notices sees every one.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        if inner.opts.check_in_limit.is_some_and(|l| n >= l) {
            return;
        }
        match nth_check_in(&inner, n) {
            Ok((bytes, notice)) => {
                if let Err(e) = tokio::fs::write(face.join(&notice.file_name), bytes).await {
                    tracing::warn!(error = %e, "sandbox terminal cannot write a check-in");
                } else {
                    inner.written.fetch_add(1, Ordering::SeqCst);
                    let _ = inner.notices.send(notice);
                }
            }
            Err(e) => tracing::warn!(error = %e, "sandbox terminal cannot encode a check-in"),
        }
        n += 1;
    }
}

/// Answers `req/OQSsiquc01req_<id>.xml` with `res/OQSsiquc01res_<id>.xml` (with the PMH block;
/// an empty block for an unknown person), or `res/OQSsiquc01req_<id>.xml.err` for a request it
/// cannot read or that names another institution. The request file is removed.
async fn answer_requests(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let req_dir = Terminal::req_dir(&inner.opts.root);
    let res_dir = Terminal::res_dir(&inner.opts.root);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let Ok(mut rd) = tokio::fs::read_dir(&req_dir).await else {
            continue;
        };
        while let Ok(Some(e)) = rd.next_entry().await {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("OQSsiquc01req_") || !name.ends_with(".xml") {
                continue;
            }
            let Ok(bytes) = tokio::fs::read(e.path()).await else {
                continue;
            };
            let _ = tokio::fs::remove_file(e.path()).await;
            let (out_name, out) = answer(&inner, &name, &bytes);
            if tokio::fs::write(res_dir.join(out_name), out).await.is_ok() {
                inner.answered.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

fn answer(inner: &Inner, req_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let err = |reason: &str| {
        (
            format!("{req_name}.err"),
            format!("{reason}\n").into_bytes(),
        )
    };
    let req = match QualificationRequest::parse(bytes) {
        Ok(r) => r,
        Err(e) => return err(&format!("request not accepted: {e}")),
    };
    if req.institution.as_str() != inner.opts.institution {
        return err("request not accepted: the institution code is not this terminal's");
    }
    let found = lookup(&inner.population, &req.insured, req.confirmation_date);
    let unknown;
    let persona = match found {
        Some(p) => p,
        None => {
            unknown = Persona {
                id: "P0000".into(),
                tags: vec![],
                insured: super::population::PersonaInsured {
                    insurer_number: req.insured.insurer_number().to_owned(),
                    symbol: req.insured.symbol().map(str::to_owned),
                    number: req.insured.number().to_owned(),
                    branch: req.insured.branch().map(str::to_owned),
                    birthdate: req.insured.birthdate().format("%Y-%m-%d").to_string(),
                },
                certificates: vec![],
            };
            &unknown
        }
    };
    let charset = if req_name.len().is_multiple_of(2) {
        Charset::Utf8
    } else {
        Charset::ShiftJis
    };
    match result_xml(&ResultSpec {
        persona,
        date: req.confirmation_date,
        institution: &inner.opts.institution,
        file_id: &req.arbitrary_file_identifier,
        reference: None,
        charset,
        block: Some(&persona.certificates),
    }) {
        Ok(b) => (req.result_file_name(), b),
        Err(e) => err(&format!("cannot answer: {e}")),
    }
}

fn lookup<'a>(
    population: &'a Population,
    insured: &InsuredIdentity,
    date: NaiveDate,
) -> Option<&'a Persona> {
    population.lookup(&EligibilityRequest::new("", insured, date, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmh_formats::onshi::OnshiResult;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn synthetic_results_parse_back_in_both_encodings_with_and_without_the_block() {
        let pop = Population::generate(42, today(), 50);
        let p = pop.find(&["showcase", "triple"]).unwrap();
        for charset in [Charset::Utf8, Charset::ShiftJis] {
            for block in [None, Some(p.certificates.as_slice())] {
                let bytes = result_xml(&ResultSpec {
                    persona: p,
                    date: today(),
                    institution: "1311111111",
                    file_id: "A00000000001",
                    reference: Some("0000000007"),
                    charset,
                    block,
                })
                .unwrap();
                let r = OnshiResult::parse(&bytes).unwrap();
                assert_eq!(r.charset, charset);
                let q = &r.results[0];
                let insured = q.insured.as_ref().unwrap();
                assert_eq!(insured.number(), p.insured.number);
                assert_eq!(q.reference_number.as_deref(), Some("0000000007"));
                // The PMH block round-trips whole, every field of every certificate.
                assert_eq!(q.subsidies.as_deref(), block);
            }
        }
    }

    #[test]
    fn every_malformation_is_refused() {
        let pop = Population::generate(42, today(), 50);
        let good = result_xml(&ResultSpec {
            persona: &pop.personas[0],
            date: today(),
            institution: "1311111111",
            file_id: "X",
            reference: None,
            charset: Charset::Utf8,
            block: None,
        })
        .unwrap();
        for m in Malformation::ALL {
            let bad = m.apply(&good);
            let refused = match OnshiResult::parse(&bad) {
                Err(_) => true,
                Ok(r) => r.results.iter().any(|q| q.insured.is_err()),
            };
            assert!(refused, "{m:?} was accepted");
        }
    }
}
