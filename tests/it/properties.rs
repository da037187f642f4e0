//! Property tests (proptest): the ordering of subsidies is deterministic and total; every shipped
//! master row passes the loader; a corrupted master file is rejected with its line number while
//! the old snapshot keeps serving.

use std::sync::Arc;

use chrono::NaiveDate;
use proptest::prelude::*;

use pmh_gateway::domain::check_digit::complete;
use pmh_gateway::domain::{Certificate, ServiceDate};
use pmh_gateway::mapping::{self, ProgrammeKind, VisitContext};
use pmh_gateway::masters::{FILES, MasterSource, MasterStore, embedded_text};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn ctx() -> VisitContext {
    VisitContext::on(ServiceDate::new(d(2026, 11, 21)))
}

/// Payer numbers of every kind the mapping meets: each national 法別, local exact and prefix
/// programmes, a local number in no master, and a broken check digit.
fn payer_pool() -> Vec<String> {
    let m = pmh_gateway::masters::embedded();
    let mut pool: Vec<String> = m
        .national_programmes()
        .map(|p| complete(&format!("{}13601", p.law_code)).unwrap())
        .collect();
    pool.extend(["88138243", "88131248", "81137242", "88122056", "88271010"].map(str::to_owned));
    pool.push(complete("8013655").unwrap());
    pool.push(complete("8127111").unwrap());
    pool.push(complete("8799901").unwrap());
    let good = complete("5413601").unwrap();
    pool.push(format!(
        "{}{}",
        &good[..7],
        (good.as_bytes()[7] - b'0' + 1) % 10
    ));
    pool
}

fn certificates() -> impl Strategy<Value = Vec<Certificate>> {
    let pool = payer_pool();
    let n = pool.len();
    prop::collection::vec((0..n, 0u32..1_000_000), 0..8).prop_map(move |picks| {
        picks
            .into_iter()
            .map(|(i, r)| {
                let recipient = complete(&format!("{r:06}")).unwrap();
                Certificate::simple(&pool[i], Some(&recipient), d(2026, 4, 1), d(2027, 3, 31))
            })
            .collect()
    })
}

fn order_of(m: &mapping::Mapped) -> Vec<(String, Option<String>)> {
    m.active
        .iter()
        .map(|s| (s.payer_number.clone(), s.recipient_number.clone()))
        .collect()
}

proptest! {
    #[test]
    fn ordering_is_deterministic_and_total(
        (certs, shuffled) in certificates().prop_flat_map(|c| (Just(c.clone()), Just(c).prop_shuffle()))
    ) {
        let masters = pmh_gateway::masters::embedded();
        let a = mapping::map(&certs, &masters, &ctx());
        let b = mapping::map(&shuffled, &masters, &ctx());
        prop_assert_eq!(order_of(&a), order_of(&b));
        prop_assert_eq!(a.active.len() + a.inactive.len(), certs.len(), "none dropped");
        let orders: Vec<u8> = a.active.iter().map(|s| s.order.unwrap()).collect();
        let expected: Vec<u8> = (1..=a.active.len() as u8).collect();
        prop_assert_eq!(orders, expected);
        // National by rank, then local by priority, then unknown.
        let keys: Vec<(u8, u16)> = a.active.iter().map(|s| {
            let class = match s.programme.kind {
                ProgrammeKind::National => 0,
                ProgrammeKind::Local => 1,
                ProgrammeKind::Unknown => 2,
            };
            (class, s.programme.rank.unwrap_or(u16::MAX))
        }).collect();
        prop_assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{:?}", keys);
    }
}

#[test]
fn every_shipped_master_row_passes_the_loader() {
    let m = pmh_gateway::masters::load(&MasterSource::Embedded).expect("shipped masters load");
    for file in FILES {
        let text = embedded_text(file).unwrap();
        let data_lines = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count()
            - 1; // the header row
        let info = m.files.iter().find(|f| f.file == file).unwrap();
        assert_eq!(info.rows, data_lines, "{file}: every row is loaded");
    }
}

/// A corruption that makes any row of any master invalid.
#[derive(Debug, Clone, Copy)]
enum Corruption {
    /// The key column becomes nonsense.
    BadKey,
    /// The row loses its last column.
    MissingColumn,
    /// A column gains a stray quote.
    StrayQuote,
}

fn corrupt(line: &str, how: Corruption) -> String {
    match how {
        Corruption::BadKey => match line.split_once(',') {
            Some((_, rest)) => format!("zz,{rest}"),
            None => "zz".into(),
        },
        Corruption::MissingColumn => line
            .rsplit_once(',')
            .map(|(a, _)| a.to_owned())
            .unwrap_or_default(),
        Corruption::StrayQuote => line.replacen(',', ",\"", 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn a_corrupted_master_is_rejected_with_its_line_and_the_old_snapshot_serves(
        file_index in 0..FILES.len(),
        row_pick in any::<prop::sample::Index>(),
        how in prop_oneof![Just(Corruption::BadKey), Just(Corruption::MissingColumn), Just(Corruption::StrayQuote)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        for f in FILES {
            std::fs::write(dir.path().join(f), embedded_text(f).unwrap()).unwrap();
        }
        let store = MasterStore::open(MasterSource::Dir(dir.path().into())).unwrap();
        let before = store.current();

        let file = FILES[file_index];
        let text = embedded_text(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let header = lines.iter().position(|l| !l.starts_with('#')).unwrap();
        let data: Vec<usize> = (header + 1..lines.len()).collect();
        let target = data[row_pick.index(data.len())];
        let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        out[target] = corrupt(lines[target], how);
        std::fs::write(dir.path().join(file), out.join("\n") + "\n").unwrap();

        let err = store.reload().expect_err("a corrupted row is refused");
        let rows = err.rows();
        let line = target as u64 + 1;
        prop_assert!(
            rows.iter().any(|r| r.file == file && r.line == line),
            "expected {}:{} in {:?}", file, line, rows
        );
        prop_assert!(Arc::ptr_eq(&before, &store.current()), "the old snapshot keeps serving");
        prop_assert!(store.last_failure().is_some());
    }
}
