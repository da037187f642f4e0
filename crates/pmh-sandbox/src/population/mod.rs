//! A deterministic, seeded synthetic population of insured persons and their certificates.
//!
//! Everything here is invented: identities are random digits; no names here (the terminal draws
//! invented ones by persona id, `terminal::name_of`).
//! Numbers carry correct check digits except in personas tagged `broken_check_digit`.
//! The seed alone draws the population: every number, class and cap is the same whatever the
//! day. Only dates move with `today`, by fixed offsets (validity periods, and birthdates so that
//! ages stay the same), so a test or a demo run on any day sees the same persons.

mod certificates;
mod recipes;

use certificates::Gen;
use recipes::{SHOWCASE, random_recipe};

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use pmh_formats::pmh::{EligibilityRequest, WireSubsidy};

/// The sandbox's own institution code, used by `demo` as the gateway's 医療機関コード.
pub const DEMO_INSTITUTION: &str = "1311111111";
/// Another institution, for designated-institution mismatches.
pub const OTHER_INSTITUTION: &str = "1312345678";

/// SplitMix64: small, fast, and stable across versions (the population must not change when a
/// dependency does).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PersonaInsured {
    pub insurer_number: String,
    pub symbol: Option<String>,
    pub number: String,
    pub branch: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Persona {
    pub id: String,
    /// What this persona exercises, e.g. `multi`, `none`, `expired`, `not_disclosed`.
    pub tags: Vec<&'static str>,
    pub insured: PersonaInsured,
    /// The certificates the sandbox returns for this persona.
    pub certificates: Vec<WireSubsidy>,
}

#[derive(Debug)]
pub struct Population {
    pub seed: u64,
    pub today: NaiveDate,
    pub personas: Vec<Persona>,
    index: HashMap<String, usize>,
}

fn lookup_key(
    insurer: &str,
    symbol: Option<&str>,
    number: &str,
    branch: Option<&str>,
    birthdate: &str,
) -> String {
    let t = |s: Option<&str>| {
        s.map(|s| s.trim_matches(|c| c == ' ' || c == '\u{3000}').to_owned())
            .unwrap_or_default()
    };
    format!(
        "{}|{}|{}|{}|{}",
        insurer.trim(),
        t(symbol),
        t(Some(number)),
        t(branch),
        birthdate.replace('-', "")
    )
}

impl Population {
    pub const DEFAULT_SIZE: usize = 1200;

    pub fn generate(seed: u64, today: NaiveDate, size: usize) -> Self {
        let mut rng = Rng(seed);
        let mut personas = Vec::with_capacity(size.max(SHOWCASE.len()));
        let mut index = HashMap::new();
        let mut i = 0;
        while personas.len() < size.max(SHOWCASE.len()) {
            let mut g = Gen {
                rng: &mut rng,
                today,
            };
            let (mut tags, ages, certificates) = match SHOWCASE.get(i) {
                Some(recipe) => recipe(&mut g),
                None => random_recipe(&mut g),
            };
            i += 1;
            let insured = g.identity(ages);
            let key = lookup_key(
                &insured.insurer_number,
                insured.symbol.as_deref(),
                &insured.number,
                insured.branch.as_deref(),
                &insured.birthdate,
            );
            if index.contains_key(&key) {
                continue; // an identity collision: draw again
            }
            if i <= SHOWCASE.len() {
                tags.insert(0, "showcase");
            }
            index.insert(key, personas.len());
            personas.push(Persona {
                id: format!("P{:04}", personas.len() + 1),
                tags,
                insured,
                certificates,
            });
        }
        Self {
            seed,
            today,
            personas,
            index,
        }
    }

    pub fn lookup(&self, req: &EligibilityRequest) -> Option<&Persona> {
        let key = lookup_key(
            &req.insurer_number,
            req.insured_card_symbol.as_deref(),
            &req.insured_identification_number,
            req.insured_branch_number.as_deref(),
            &req.birthdate,
        );
        self.index.get(&key).map(|&i| &self.personas[i])
    }

    /// The first persona with all of these tags.
    pub fn find(&self, tags: &[&str]) -> Option<&Persona> {
        self.personas
            .iter()
            .find(|p| tags.iter().all(|t| p.tags.contains(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmh_core::domain::check_digit::{Verdict, verify};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn the_population_is_deterministic_and_covers_every_category() {
        let a = Population::generate(42, today(), Population::DEFAULT_SIZE);
        let b = Population::generate(42, today(), Population::DEFAULT_SIZE);
        assert_eq!(a.personas.len(), 1200);
        assert_eq!(
            serde_json::to_string(&a.personas).unwrap(),
            serde_json::to_string(&b.personas).unwrap()
        );
        let c = Population::generate(43, today(), 100);
        assert_ne!(a.personas[0].insured, c.personas[0].insured);
        for tag in [
            "none",
            "multi",
            "triple",
            "expired",
            "future",
            "not_disclosed",
            "reimbursement_only",
            "designated_mismatch",
            "broken_check_digit",
            "nanbyou",
            "shoman",
            "jiritsu",
            "kekkaku",
            "seiho",
            "local",
            "ikusei",
            "maru_oya",
        ] {
            assert!(a.find(&[tag]).is_some(), "no persona tagged {tag}");
        }
        let laws: std::collections::BTreeSet<_> = a
            .personas
            .iter()
            .flat_map(|p| &p.certificates)
            .map(|c| c.medical_subsidy_insurer_number[..2].to_owned())
            .collect();
        for law in ["10", "12", "15", "16", "21", "52", "54", "80", "81", "88"] {
            assert!(laws.contains(law), "no certificate of 法別 {law}");
        }
    }

    #[test]
    fn check_digits_are_correct_except_where_broken_on_purpose() {
        let p = Population::generate(42, today(), Population::DEFAULT_SIZE);
        let mut broken = 0;
        for persona in &p.personas {
            let all_ok = persona.certificates.iter().all(|c| {
                verify(&c.medical_subsidy_insurer_number) == Some(Verdict::Valid)
                    && c.medical_subsidy_recipient_number
                        .as_deref()
                        .is_none_or(|r| verify(r) == Some(Verdict::Valid))
            });
            if persona.tags.contains(&"broken_check_digit") {
                assert!(!all_ok, "{}", persona.id);
                broken += 1;
            } else {
                assert!(all_ok, "{}", persona.id);
            }
        }
        assert!((1..10).contains(&broken));
    }

    #[test]
    fn lookup_by_identity_tolerates_padding() {
        let p = Population::generate(42, today(), 50);
        let who = &p.personas[3].insured;
        let req = EligibilityRequest {
            medical_institution_code: DEMO_INSTITUTION.into(),
            qualification_confirmation_date: "20261121".into(),
            insurer_number: format!("{:>8}", who.insurer_number),
            insured_card_symbol: who.symbol.clone(),
            insured_identification_number: who.number.clone(),
            insured_branch_number: who.branch.clone(),
            birthdate: who.birthdate.replace('-', ""),
            arbitrary_identifier: "x".into(),
        };
        assert_eq!(p.lookup(&req).unwrap().id, "P0004");
    }
}
