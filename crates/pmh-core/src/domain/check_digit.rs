//! The modulus-10, weights-2-1 check digit shared by 公費負担者番号 and 公費受給者番号
//! (診療報酬請求書等の記載要領, 検証番号).

/// Computes the check digit for `body` (all digits but the check digit).
///
/// From the rightmost digit of the body, multiply by 2, 1, 2, 1 …; add the digits of each
/// product (12 → 1 + 2); the check digit is `(10 − sum mod 10) mod 10`.
///
/// Returns `None` when `body` is empty or contains anything but ASCII digits.
pub fn compute(body: &str) -> Option<u8> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    Some(((10 - sum % 10) % 10) as u8)
}

/// Appends the check digit to `body`. Used by the sandbox and tests to make valid numbers.
pub fn complete(body: &str) -> Option<String> {
    compute(body).map(|d| format!("{body}{d}"))
}

/// The outcome of checking a whole number (body + check digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// The last digit is not the check digit of the rest.
    Mismatch {
        expected: u8,
        found: u8,
    },
}

/// Verifies a number whose last digit is its check digit. `None` if not all ASCII digits
/// or shorter than two digits.
pub fn verify(number: &str) -> Option<Verdict> {
    if number.len() < 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (body, last) = number.split_at(number.len() - 1);
    let expected = compute(body)?;
    let found = last.as_bytes()[0] - b'0';
    Some(if expected == found {
        Verdict::Valid
    } else {
        Verdict::Mismatch { expected, found }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real payer numbers published by municipalities (八王子市: マル乳, マル子, マル青, マル親) and ministries.
    const PUBLISHED: [&str; 7] = [
        "10131142", "54016027", "88138243", "88131248", "81136244", "81137242", "89131247",
    ];

    #[test]
    fn published_numbers_are_valid() {
        for n in PUBLISHED {
            assert_eq!(verify(n), Some(Verdict::Valid), "{n}");
        }
    }

    #[test]
    fn changing_the_last_digit_of_a_published_number_breaks_it() {
        for n in PUBLISHED {
            let (body, last) = n.split_at(7);
            let last: u8 = last.parse().unwrap();
            for d in (0..10u8).filter(|d| *d != last) {
                let changed = format!("{body}{d}");
                assert_eq!(
                    verify(&changed),
                    Some(Verdict::Mismatch {
                        expected: last,
                        found: d
                    }),
                    "{changed}"
                );
            }
        }
    }

    #[test]
    fn worked_examples_from_the_domain_reference() {
        assert_eq!(compute("1013114"), Some(2));
        assert_eq!(compute("123456"), Some(6));
        assert_eq!(complete("123456").as_deref(), Some("1234566"));
    }

    #[test]
    fn non_digits_have_no_check_digit() {
        assert_eq!(compute(""), None);
        assert_eq!(compute("12a4"), None);
        assert_eq!(verify("1"), None);
        assert_eq!(verify("１２３"), None);
    }

    #[test]
    fn every_single_digit_error_is_detected() {
        // The weights 2,1 with digit sums detect all single-digit substitutions.
        let n = "54016027";
        for pos in 0..7 {
            for d in b'0'..=b'9' {
                let mut bytes = n.as_bytes().to_vec();
                if bytes[pos] == d {
                    continue;
                }
                bytes[pos] = d;
                let s = String::from_utf8(bytes).unwrap();
                assert!(matches!(verify(&s), Some(Verdict::Mismatch { .. })), "{s}");
            }
        }
    }
}
