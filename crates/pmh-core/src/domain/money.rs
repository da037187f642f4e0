//! Money.

use serde::Serialize;

/// An amount of money in yen.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Yen(pub u64);

impl Yen {
    pub const ZERO: Yen = Yen(0);
}

impl std::fmt::Display for Yen {
    /// `83,430円`: thousands separated, as on a receipt.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + 4);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        write!(f, "{out}円")
    }
}

/// How an amount is rounded (the 端数条件 of a programme, and the window's 10-yen rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the yen (half up): the KO record's 負担金額 is written in yen.
    #[default]
    Yen,
    /// To 10 yen, under 5 down and 5 and over up (健康保険法 §75, the window charge).
    TenHalfUp,
    /// To 10 yen, always down (切り捨て).
    TenDown,
}

impl Rounding {
    /// Rounds the exact amount `numerator / denominator` yen (a share of a cost:
    /// `cost × percent / 100`), without rounding twice.
    pub fn share(self, numerator: u64, denominator: u64) -> Yen {
        let d = denominator.max(1);
        Yen(match self {
            Self::Yen => (2 * numerator + d) / (2 * d),
            Self::TenHalfUp => (numerator + 5 * d) / (10 * d) * 10,
            Self::TenDown => numerator / (10 * d) * 10,
        })
    }

    /// Rounds a whole amount of yen.
    pub fn apply(self, amount: Yen) -> Yen {
        self.share(amount.0, 1)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Yen => "1円単位",
            Self::TenHalfUp => "10円未満四捨五入",
            Self::TenDown => "10円未満切り捨て",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_done_once_on_the_exact_amount() {
        // 6,750 × 5 % = 337.5: 338 to the yen, 340 at the window, 330 cut down.
        assert_eq!(Rounding::Yen.share(6750 * 5, 100), Yen(338));
        assert_eq!(Rounding::TenHalfUp.share(6750 * 5, 100), Yen(340));
        assert_eq!(Rounding::TenDown.share(6750 * 5, 100), Yen(330));
        // 1,004: under 5 yen goes down; 1,005 goes up; 334.9 is not first rounded to 335.
        assert_eq!(Rounding::TenHalfUp.apply(Yen(1004)), Yen(1000));
        assert_eq!(Rounding::TenHalfUp.apply(Yen(1005)), Yen(1010));
        assert_eq!(Rounding::TenHalfUp.share(3349, 10), Yen(330));
        assert_eq!(Rounding::Yen.share(5, 10), Yen(1));
        assert_eq!(Rounding::Yen.share(4, 10), Yen(0));
        assert_eq!(Yen(83430).to_string(), "83,430円");
        assert_eq!(Yen(0).to_string(), "0円");
        assert_eq!(Yen(1_000_000).to_string(), "1,000,000円");
    }
}
