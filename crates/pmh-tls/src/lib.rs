//! TLS plumbing: the crypto provider (aws-lc-rs, installed explicitly), PEM helpers, and the
//! server configurations of the REST listener and the sandbox. (The outbound client lives in
//! `upstream`.)

mod pinned;

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use pinned::client_config_pinned;

/// The subject's common name of a DER certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    cert.subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()
        .map(str::to_owned)
}

/// The end of a DER certificate's validity, in seconds since the Unix epoch.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// Installs aws-lc-rs as the process-wide rustls provider. Idempotent; call it at startup and
/// in test helpers.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The REST listener's TLS material (PEM): its certificate chain and key, and the CA whose
/// client certificates identify clients. `Debug` leaves out the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerTlsMaterial {
    pub cert_chain_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for ServerTlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTlsMaterial")
            .field("client_ca", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("no certificate found in the PEM data")]
    NoCertificate,
    #[error("invalid PEM data: {0}")]
    Pem(String),
    #[error("TLS configuration rejected: {0}")]
    Config(String),
}

pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

/// A server configuration. With `client_ca_pem`, client certificates signed by it are verified
/// (and required when `require_client_cert`, else optional: token clients connect without one).
pub fn server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
    require_client_cert: bool,
) -> Result<rustls::ServerConfig, TlsError> {
    install_crypto_provider();
    let chain = certs_from_pem(cert_chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem(e.to_string()))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match client_ca_pem {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certs_from_pem(ca)? {
                roots.add(c).map_err(|e| TlsError::Config(e.to_string()))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots));
            let verifier = if require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| TlsError::Config(e.to_string()))?,
            )
        }
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// The REST listener's configuration: HTTP/1.1, client certificates optional when a client CA
/// is configured.
pub fn rest_server_config(m: &ServerTlsMaterial) -> Result<rustls::ServerConfig, TlsError> {
    let mut cfg = server_config(
        &m.cert_chain_pem,
        &m.key_pem,
        m.client_ca_pem.as_deref(),
        false,
    )?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use pmh_pki::LocalCa;

    /// What the local CA issues, the gateway's TLS reads: the client's name from its
    /// certificate, the server's material as a server configuration.
    #[test]
    fn the_local_ca_s_certificates_serve_and_name_their_clients() {
        let ca = LocalCa::create("test CA").unwrap();
        let server = ca
            .server(&["gateway.clinic.example".into(), "192.0.2.10".into()])
            .unwrap();
        let client = ca.client("recept-1").unwrap();
        let der = super::certs_from_pem(client.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            super::common_name(der[0].as_ref()).as_deref(),
            Some("recept-1")
        );
        assert!(
            super::server_config(
                server.cert_pem.as_bytes(),
                server.key_pem.as_bytes(),
                Some(ca.cert_pem.as_bytes()),
                false
            )
            .is_ok()
        );
    }
}
