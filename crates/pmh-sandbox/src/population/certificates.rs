//! Synthetic certificates: the income-class tables of the national programmes, validity periods
//! around `today`, and the builders of each programme's certificate.

use chrono::{Duration, NaiveDate};

use super::{DEMO_INSTITUTION, PersonaInsured, Rng};
use pmh_core::domain::check_digit::complete;
use pmh_formats::pmh::{WireCaps, WireDetail, WireInstitution, WireMaxCopayment, WireSubsidy};

/// Income classes with monthly caps (外来・入院 shared), as the programmes' orders set them (難病法施行令, 児童福祉法施行令, 障害者総合支援法施行令; `masters/national_income_caps.csv`). Codes for
/// `additionalConditions` are the project's provisional ones: `01-1` 高額かつ長期 / 重症,
/// `02-1` 人工呼吸器等装着者.
pub(super) const NANBYOU: [(&str, &str, u64); 9] = [
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
pub(super) const SHOMAN: [(&str, &str, u64); 8] = [
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
pub(super) const JIRITSU: [(&str, &str, u64); 6] = [
    ("生活保護", "", 0),
    ("低所得1", "", 2_500),
    ("低所得2", "", 5_000),
    ("中間所得1", "01-1", 5_000),
    ("中間所得2", "01-1", 10_000),
    ("一定所得以上", "01-1", 20_000),
];

#[derive(Clone, Copy)]
pub(super) enum Validity {
    Active,
    Expired,
    Future,
}

pub(super) struct Gen<'a> {
    pub(super) rng: &'a mut Rng,
    pub(super) today: NaiveDate,
}

impl Gen<'_> {
    pub(super) fn period(&mut self, v: Validity) -> (String, String) {
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

    pub(super) fn payer(&mut self, law: &str) -> String {
        complete(&format!("{law}13{}", self.rng.digits(3))).expect("digits")
    }

    pub(super) fn recipient(&mut self) -> String {
        complete(&self.rng.digits(6)).expect("digits")
    }

    pub(super) fn base(&mut self, payer: String, name: &str, v: Validity) -> WireSubsidy {
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

    pub(super) fn monthly(cap: u64) -> Option<WireMaxCopayment> {
        let c = WireCaps {
            per_month: Some(cap),
            ..Default::default()
        };
        Some(WireMaxCopayment {
            outpatient: Some(c),
            inpatient: Some(c),
        })
    }

    pub(super) fn nanbyou(&mut self, v: Validity) -> WireSubsidy {
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

    pub(super) fn shoman(&mut self, v: Validity) -> WireSubsidy {
        let (income, cond, cap) = *self.rng.pick(&SHOMAN);
        let mut s = self.base(fixed_payer("52", "601"), "小児慢性特定疾病医療受給者証", v);
        s.income_segment = Some(income.into());
        s.additional_conditions = Some(cond.to_owned()).filter(|c| !c.is_empty());
        s.max_copayment_amount = Self::monthly(cap);
        s
    }

    pub(super) fn jiritsu(&mut self, law: &str, v: Validity) -> WireSubsidy {
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

    pub(super) fn kekkaku(&mut self, v: Validity) -> WireSubsidy {
        let p = self.payer("10");
        self.base(p, "結核患者医療費公費負担患者票", v)
    }

    pub(super) fn seiho(&mut self, v: Validity) -> WireSubsidy {
        let p = self.payer("12");
        let mut s = self.base(p, "生活保護法医療券", v);
        s.segment = Some("単給".into());
        s
    }

    pub(super) fn tokyo_local(&mut self, kind: &str, v: Validity) -> WireSubsidy {
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
    pub(super) fn other_local(&mut self, kind: &str, v: Validity) -> WireSubsidy {
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

    pub(super) fn identity(&mut self, age_years: (i64, i64)) -> PersonaInsured {
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
pub(super) fn fixed_payer(law: &str, agency: &str) -> String {
    complete(&format!("{law}13{agency}")).expect("digits")
}

pub(super) fn break_last_digit(s: &mut String) {
    let last = s.pop().expect("non-empty");
    let d = last.to_digit(10).unwrap_or(0);
    s.push(char::from_digit((d + 1) % 10, 10).expect("digit"));
}
