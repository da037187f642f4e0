//! A deterministic, seeded synthetic population of insured persons and their certificates.
//!
//! Everything here is invented: identities are random digits, no names are generated at all.
//! Numbers carry correct check digits except in personas tagged `broken_check_digit`.
//! Validity periods are placed relative to `today`, so the same seed and day always give the
//! same population.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use crate::domain::check_digit::complete;
use crate::pmh::{
    EligibilityRequest, WireCaps, WireDetail, WireInstitution, WireMaxCopayment, WireSubsidy,
};

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

/// Income classes with monthly caps (外来・入院 shared), DOMAIN.md §3. Codes for
/// `additionalConditions` are the project's provisional ones: `01-1` 高額かつ長期 / 重症,
/// `02-1` 人工呼吸器等装着者.
const NANBYOU: [(&str, &str, u64); 9] = [
    ("生活保護", "", 0),
    ("低所得Ⅰ", "", 2_500),
    ("低所得Ⅱ", "", 5_000),
    ("一般所得Ⅰ", "", 10_000),
    ("一般所得Ⅱ", "", 20_000),
    ("上位所得", "", 30_000),
    ("一般所得Ⅰ", "01-1", 5_000),
    ("上位所得", "01-1", 20_000),
    ("一般所得Ⅱ", "02-1", 1_000),
];
const SHOMAN: [(&str, &str, u64); 8] = [
    ("生活保護", "", 0),
    ("低所得Ⅰ", "", 1_250),
    ("低所得Ⅱ", "", 2_500),
    ("一般所得Ⅰ", "", 5_000),
    ("一般所得Ⅱ", "", 10_000),
    ("上位所得", "", 15_000),
    ("一般所得Ⅱ", "01-1", 5_000),
    ("上位所得", "02-1", 500),
];
/// 自立支援医療: the middle and upper classes have a cap of their own only when 重度かつ継続
/// (provisional condition `01-1`).
const JIRITSU: [(&str, &str, u64); 6] = [
    ("生活保護", "", 0),
    ("低所得1", "", 2_500),
    ("低所得2", "", 5_000),
    ("中間所得1", "01-1", 5_000),
    ("中間所得2", "01-1", 10_000),
    ("一定所得以上", "01-1", 20_000),
];

#[derive(Clone, Copy)]
enum Validity {
    Active,
    Expired,
    Future,
}

struct Gen<'a> {
    rng: &'a mut Rng,
    today: NaiveDate,
}

impl Gen<'_> {
    fn period(&mut self, v: Validity) -> (String, String) {
        let (from, to) = match v {
            Validity::Active => {
                let from = self.today - Duration::days(self.rng.range(10, 300));
                (from, self.today + Duration::days(self.rng.range(30, 360)))
            }
            Validity::Expired => {
                let to = self.today - Duration::days(self.rng.range(1, 180));
                (to - Duration::days(364), to)
            }
            Validity::Future => {
                let from = self.today + Duration::days(self.rng.range(1, 60));
                (from, from + Duration::days(364))
            }
        };
        (
            from.format("%Y%m%d").to_string(),
            to.format("%Y%m%d").to_string(),
        )
    }

    fn payer(&mut self, law: &str) -> String {
        complete(&format!("{law}13{}", self.rng.digits(3))).expect("digits")
    }

    fn recipient(&mut self) -> String {
        complete(&self.rng.digits(6)).expect("digits")
    }

    fn base(&mut self, payer: String, name: &str, v: Validity) -> WireSubsidy {
        let (from, to) = self.period(v);
        WireSubsidy {
            org_specific_certificate_type_id: Some(format!("{}-{}", &payer[..2], &payer[2..4])),
            certification_name: Some(name.to_owned()),
            medical_subsidy_recipient_number: Some(self.recipient()),
            medical_subsidy_insurer_number: payer,
            valid_from: Some(from),
            valid_to: Some(to),
            ..Default::default()
        }
    }

    fn monthly(cap: u64) -> Option<WireMaxCopayment> {
        let c = WireCaps {
            per_month: Some(cap),
            ..Default::default()
        };
        Some(WireMaxCopayment {
            outpatient: Some(c),
            inpatient: Some(c),
        })
    }

    fn nanbyou(&mut self, v: Validity) -> WireSubsidy {
        let (income, cond, cap) = *self.rng.pick(&NANBYOU);
        let mut s = self.base(
            fixed_payer("54", "601"),
            "特定医療費（指定難病）受給者証",
            v,
        );
        s.income_segment = Some(income.into());
        s.additional_conditions = Some(cond.to_owned()).filter(|c| !c.is_empty());
        s.max_copayment_amount = Self::monthly(cap);
        s.designated_medical_institutions = vec![WireInstitution {
            medical_institution_code: DEMO_INSTITUTION.into(),
            name: Some("サンドボックス診療所".into()),
        }];
        s.certification_detail = vec![WireDetail {
            item_name: "疾病名".into(),
            item_value: self
                .rng
                .pick(&[
                    "潰瘍性大腸炎",
                    "パーキンソン病",
                    "全身性エリテマトーデス",
                    "クローン病",
                ])
                .to_string(),
        }];
        s
    }

    fn shoman(&mut self, v: Validity) -> WireSubsidy {
        let (income, cond, cap) = *self.rng.pick(&SHOMAN);
        let mut s = self.base(fixed_payer("52", "601"), "小児慢性特定疾病医療受給者証", v);
        s.income_segment = Some(income.into());
        s.additional_conditions = Some(cond.to_owned()).filter(|c| !c.is_empty());
        s.max_copayment_amount = Self::monthly(cap);
        s
    }

    fn jiritsu(&mut self, law: &str, v: Validity) -> WireSubsidy {
        let (income, cond, cap) = *self.rng.pick(&JIRITSU);
        let name = match law {
            "15" => "自立支援医療受給者証（更生医療）",
            "16" => "自立支援医療受給者証（育成医療）",
            _ => "自立支援医療受給者証（精神通院）",
        };
        let mut s = self.base(fixed_payer(law, "601"), name, v);
        s.income_segment = Some(income.into());
        s.additional_conditions = Some(cond.to_owned()).filter(|c| !c.is_empty());
        s.max_copayment_amount = Self::monthly(cap);
        s.designated_medical_institutions = vec![WireInstitution {
            medical_institution_code: DEMO_INSTITUTION.into(),
            name: None,
        }];
        s
    }

    fn kekkaku(&mut self, v: Validity) -> WireSubsidy {
        let p = self.payer("10");
        self.base(p, "結核患者医療費公費負担患者票", v)
    }

    fn seiho(&mut self, v: Validity) -> WireSubsidy {
        let p = self.payer("12");
        let mut s = self.base(p, "生活保護法医療券", v);
        s.segment = Some("単給".into());
        s
    }

    fn tokyo_local(&mut self, kind: &str, v: Validity) -> WireSubsidy {
        let (payer, name, caps) = match kind {
            "maru_nyu" => ("88138243".to_owned(), "乳幼児医療証（マル乳）", None),
            "maru_ko" => (
                "88131248".to_owned(),
                "子ども医療証（マル子）",
                Some(WireMaxCopayment {
                    outpatient: Some(WireCaps {
                        per_visit: Some(200),
                        ..Default::default()
                    }),
                    inpatient: None,
                }),
            ),
            "maru_sho" => {
                let agency = if self.rng.below(2) == 0 { "6" } else { "7" };
                (
                    complete(&format!("8013{agency}{}", self.rng.digits(2))).expect("digits"),
                    "心身障害者医療費受給者証（マル障）",
                    None,
                )
            }
            _ => (
                if self.rng.below(2) == 0 {
                    "81136244"
                } else {
                    "81137242"
                }
                .to_owned(),
                "ひとり親家庭等医療証（マル親）",
                None,
            ),
        };
        let mut s = self.base(payer, name, v);
        s.max_copayment_amount = caps;
        s
    }

    /// Children's programmes outside Tokyo (illustrative payer numbers, see masters/README.md).
    fn other_local(&mut self, kind: &str, v: Validity) -> WireSubsidy {
        let caps = |outpatient: WireCaps, inpatient: WireCaps| {
            Some(WireMaxCopayment {
                outpatient: Some(outpatient),
                inpatient: Some(inpatient),
            })
        };
        let (payer, name, caps) = match kind {
            "tateyama" => (
                "88122056",
                "子ども医療費受給券（館山市）",
                caps(
                    WireCaps {
                        per_visit: Some(300),
                        ..Default::default()
                    },
                    WireCaps {
                        per_day: Some(300),
                        ..Default::default()
                    },
                ),
            ),
            _ => {
                let day = WireCaps {
                    per_day: Some(500),
                    ..Default::default()
                };
                ("88271010", "こども医療証（大阪市）", caps(day, day))
            }
        };
        let mut s = self.base(payer.to_owned(), name, v);
        s.max_copayment_amount = caps;
        s
    }

    fn identity(&mut self, age_years: (i64, i64)) -> PersonaInsured {
        let age_days = self
            .rng
            .range(age_years.0 * 365 + 1, age_years.1 * 365 + 300);
        let birthdate = self.today - Duration::days(age_days);
        let kokuho = self.rng.below(3) == 0;
        let insurer_number = if kokuho {
            complete(&format!("13{}", self.rng.digits(3))).expect("digits")
        } else {
            let law = self.rng.pick(&["01", "06", "31", "32", "34"]);
            complete(&format!("{law}13{}", self.rng.digits(3))).expect("digits")
        };
        PersonaInsured {
            insurer_number,
            symbol: Some(if kokuho {
                format!("{}-{}", self.rng.digits(2), self.rng.digits(2))
            } else {
                let n = self.rng.range(2, 8) as usize;
                self.rng.digits(n)
            }),
            number: {
                let n = self.rng.range(3, 8) as usize;
                self.rng.digits(n)
            },
            branch: Some(format!("0{}", self.rng.range(0, 3))),
            birthdate: birthdate.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The one Tokyo payer number of a national programme (実施機関 `agency`).
fn fixed_payer(law: &str, agency: &str) -> String {
    complete(&format!("{law}13{agency}")).expect("digits")
}

fn break_last_digit(s: &mut String) {
    let last = s.pop().expect("non-empty");
    let d = last.to_digit(10).unwrap_or(0);
    s.push(char::from_digit((d + 1) % 10, 10).expect("digit"));
}

/// A persona template: tags, age range, certificates.
type Recipe = fn(&mut Gen<'_>) -> (Vec<&'static str>, (i64, i64), Vec<WireSubsidy>);

/// The showcase personas, in this order, at the head of every population (P0001…).
const SHOWCASE: &[Recipe] = &[
    |g| {
        (
            vec!["multi", "nanbyou", "local"],
            (30, 70),
            vec![
                g.tokyo_local("maru_sho", Validity::Active),
                g.nanbyou(Validity::Active),
            ],
        )
    },
    |_| (vec!["none"], (20, 80), vec![]),
    |g| {
        (
            vec!["expired"],
            (30, 70),
            vec![g.nanbyou(Validity::Expired)],
        )
    },
    |g| {
        (
            vec!["multi", "triple", "local"],
            (20, 60),
            vec![
                g.tokyo_local("maru_sho", Validity::Active),
                g.nanbyou(Validity::Active),
                g.jiritsu("21", Validity::Active),
            ],
        )
    },
    |g| {
        (
            vec!["multi", "seiho"],
            (20, 60),
            vec![g.seiho(Validity::Active), g.jiritsu("21", Validity::Active)],
        )
    },
    |g| (vec!["future"], (1, 14), vec![g.shoman(Validity::Future)]),
    |g| {
        (
            vec!["not_disclosed"],
            (30, 70),
            vec![{
                let mut s = g.nanbyou(Validity::Active);
                s.is_not_disclosed = true;
                s
            }],
        )
    },
    |g| {
        (
            vec!["reimbursement_only", "local"],
            (6, 14),
            vec![{
                let mut s = g.tokyo_local("maru_ko", Validity::Active);
                s.is_always_reimbursement = true;
                s
            }],
        )
    },
    |g| {
        (
            vec!["designated_mismatch"],
            (30, 70),
            vec![{
                let mut s = g.nanbyou(Validity::Active);
                s.designated_medical_institutions = vec![WireInstitution {
                    medical_institution_code: OTHER_INSTITUTION.into(),
                    name: Some("別の病院".into()),
                }];
                s
            }],
        )
    },
    |g| {
        (
            vec!["broken_check_digit"],
            (30, 70),
            vec![{
                let mut s = g.nanbyou(Validity::Active);
                break_last_digit(&mut s.medical_subsidy_insurer_number);
                s
            }],
        )
    },
    |g| {
        (
            vec!["broken_check_digit"],
            (20, 60),
            vec![{
                let mut s = g.jiritsu("21", Validity::Active);
                if let Some(r) = s.medical_subsidy_recipient_number.as_mut() {
                    break_last_digit(r)
                };
                s
            }],
        )
    },
    |g| {
        (
            vec!["multi", "shoman", "local"],
            (0, 5),
            vec![
                g.tokyo_local("maru_nyu", Validity::Active),
                g.shoman(Validity::Active),
            ],
        )
    },
    |g| {
        (
            vec!["expired", "multi"],
            (30, 70),
            vec![
                g.nanbyou(Validity::Expired),
                g.jiritsu("15", Validity::Active),
            ],
        )
    },
    |g| (vec!["kekkaku"], (20, 90), vec![g.kekkaku(Validity::Active)]),
    |g| {
        (
            vec!["local", "maru_oya"],
            (20, 50),
            vec![g.tokyo_local("maru_oya", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["ikusei"],
            (0, 17),
            vec![g.jiritsu("16", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["local", "maru_ko"],
            (7, 13),
            vec![g.tokyo_local("maru_ko", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["local", "chiba"],
            (3, 12),
            vec![g.other_local("tateyama", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["local", "osaka"],
            (3, 12),
            vec![g.other_local("osaka", Validity::Active)],
        )
    },
];

fn random_recipe(g: &mut Gen<'_>) -> (Vec<&'static str>, (i64, i64), Vec<WireSubsidy>) {
    let v = match g.rng.below(20) {
        0 => Validity::Expired,
        1 => Validity::Future,
        _ => Validity::Active,
    };
    let tag_v = match v {
        Validity::Active => None,
        Validity::Expired => Some("expired"),
        Validity::Future => Some("future"),
    };
    let (mut tags, ages, certs): (Vec<&'static str>, _, _) = match g.rng.below(100) {
        0..=24 => (vec!["none"], (0, 90), vec![]),
        25..=39 => (vec!["nanbyou"], (18, 90), vec![g.nanbyou(v)]),
        40..=47 => (vec!["shoman"], (0, 17), vec![g.shoman(v)]),
        48..=57 => (vec!["jiritsu"], (18, 80), {
            let law = *g.rng.pick(&["15", "21", "21"]);
            vec![g.jiritsu(law, v)]
        }),
        58..=59 => (vec!["ikusei"], (0, 17), vec![g.jiritsu("16", v)]),
        60..=62 => (vec!["kekkaku"], (18, 90), vec![g.kekkaku(v)]),
        63..=67 => (vec!["seiho"], (18, 90), vec![g.seiho(v)]),
        68..=72 => (vec!["local"], (0, 5), vec![g.tokyo_local("maru_nyu", v)]),
        73..=78 => (vec!["local"], (6, 14), vec![g.tokyo_local("maru_ko", v)]),
        79..=82 => (vec!["local"], (18, 80), vec![g.tokyo_local("maru_sho", v)]),
        83..=85 => (vec!["local"], (20, 55), vec![g.tokyo_local("maru_oya", v)]),
        86..=90 => (
            vec!["multi", "local"],
            (18, 80),
            vec![g.nanbyou(v), g.tokyo_local("maru_sho", Validity::Active)],
        ),
        91..=93 => (
            vec!["multi"],
            (18, 70),
            vec![g.jiritsu("21", v), g.seiho(Validity::Active)],
        ),
        94..=96 => (
            vec!["multi", "local"],
            (1, 14),
            vec![g.shoman(v), g.tokyo_local("maru_ko", Validity::Active)],
        ),
        _ => (
            vec!["multi", "triple", "local"],
            (18, 70),
            vec![
                g.nanbyou(v),
                g.jiritsu("15", Validity::Active),
                g.tokyo_local("maru_sho", Validity::Active),
            ],
        ),
    };
    if !certs.is_empty() {
        tags.extend(tag_v);
    }
    (tags, ages, certs)
}

impl Population {
    pub const DEFAULT_SIZE: usize = 1200;

    pub fn generate(seed: u64, today: NaiveDate, size: usize) -> Self {
        let mut rng = Rng(seed ^ u64::from(today.num_days_from_ce() as u32));
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
    use crate::domain::check_digit::{Verdict, verify};

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
