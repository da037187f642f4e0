//! Content negotiation: what a check's body is (`Content-Type`), and which rendering of the answer
//! the caller wants (`?format=`, else `Accept` with its q-values).

use axum::http::{HeaderMap, header};

use super::problem::Problem;

/// What a check's body is, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    /// An オン資 result message.
    OnshiXml,
}

pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, Problem> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(BodyKind::Json)
    } else if mime == "application/xml" || mime == "text/xml" {
        Ok(BodyKind::OnshiXml)
    } else {
        Err(Problem::unsupported_media_type(ct))
    }
}

/// The representation of an answer a caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// This API's own JSON.
    Json,
    /// ORCA `PublicInsurance_Information`, JSON.
    Orca,
    /// ORCA `PublicInsurance_Information`, `xmlio2` XML.
    OrcaXml,
    /// HL7 FHIR JP Core `Coverage` resources in a Bundle.
    Fhir,
}

pub const FORMATS: &str = "json, orca, orca-xml, fhir";

/// The rendering a media range names, if any.
fn rendering_of(media_range: &str) -> Option<Rendering> {
    match media_range {
        "application/fhir+json" => Some(Rendering::Fhir),
        "application/xml" | "text/xml" => Some(Rendering::OrcaXml),
        "application/json" | "*/*" | "application/*" => Some(Rendering::Json),
        _ => None,
    }
}

/// `?format=` wins. Otherwise the media range of `Accept` with the highest q-value that names a
/// rendering (`application/fhir+json` → FHIR, `application/xml` or `text/xml` → ORCA XML,
/// `application/json`, `application/*` or `*/*` → JSON), the first one listed among equals; a
/// range with `q=0` is refused. Without a usable `Accept`: JSON.
pub fn rendering(format: Option<&str>, headers: &HeaderMap) -> Result<Rendering, Problem> {
    if let Some(f) = format {
        return match f.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Rendering::Json),
            "orca" => Ok(Rendering::Orca),
            "orca-xml" => Ok(Rendering::OrcaXml),
            "fhir" => Ok(Rendering::Fhir),
            _ => Err(Problem::invalid_field(
                "format",
                format!("must be one of {FORMATS}"),
            )),
        };
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut best: Option<(u16, Rendering)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let Some(r) = rendering_of(parts.next().unwrap_or("").trim()) else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .map(q_thousandths)
            .next()
            .unwrap_or(1000);
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, r));
        }
    }
    Ok(best.map_or(Rendering::Json, |(_, r)| r))
}

/// An RFC 9110 q-value in thousandths (`0.8` → 800); an unreadable one counts as 0.
fn q_thousandths(v: &str) -> u16 {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = frac.len() <= 3 && frac.bytes().all(|b| b.is_ascii_digit());
    match (int, digits) {
        ("1", true) if frac.bytes().all(|b| b == b'0') => 1000,
        ("0", true) => format!("{frac:0<3}").parse().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Rendering {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, v.parse().unwrap());
        rendering(None, &h).unwrap()
    }

    #[test]
    fn accept_honours_q_values() {
        assert_eq!(accept("application/fhir+json"), Rendering::Fhir);
        assert_eq!(
            accept("application/json;q=0.5, application/fhir+json"),
            Rendering::Fhir
        );
        assert_eq!(
            accept("application/fhir+json;q=0.4, application/xml;q=0.9"),
            Rendering::OrcaXml
        );
        // Equal q: the first listed wins; q=0 is never chosen.
        assert_eq!(
            accept("application/xml;q=0.5, application/json;q=0.5"),
            Rendering::OrcaXml
        );
        assert_eq!(accept("application/xml;q=0"), Rendering::Json);
        assert_eq!(
            accept("text/html, application/fhir+json;q=0.1"),
            Rendering::Fhir
        );
        assert_eq!(accept("*/*;q=0.1, application/xml;q=0.05"), Rendering::Json);
        assert_eq!(accept("image/png"), Rendering::Json);
    }

    #[test]
    fn q_values_parse_as_rfc_9110_says() {
        assert_eq!(q_thousandths("1"), 1000);
        assert_eq!(q_thousandths("1.000"), 1000);
        assert_eq!(q_thousandths("0.8"), 800);
        assert_eq!(q_thousandths("0.05"), 50);
        assert_eq!(q_thousandths("0"), 0);
        assert_eq!(q_thousandths("2"), 0);
        assert_eq!(q_thousandths("0.1234"), 0);
        assert_eq!(q_thousandths("x"), 0);
    }

    #[test]
    fn format_wins_over_accept() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, "application/fhir+json".parse().unwrap());
        assert_eq!(rendering(Some("orca"), &h).unwrap(), Rendering::Orca);
        assert!(rendering(Some("yaml"), &h).is_err());
    }
}
