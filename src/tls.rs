//! TLS plumbing shared by the sandbox server and the tests: the crypto provider and PEM
//! helpers. (The outbound client lives in `upstream`.)

#[cfg(feature = "emulator")]
use std::sync::Arc;

#[cfg(feature = "emulator")]
use rustls::RootCertStore;
#[cfg(feature = "emulator")]
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::CertificateDer;
#[cfg(feature = "emulator")]
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

/// Installs aws-lc-rs as the process-wide rustls provider. Idempotent; call it at startup and
/// in test helpers.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
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

/// A server configuration that requires a client certificate signed by `client_ca_pem` (the
/// sandbox PMH's).
#[cfg(feature = "emulator")]
pub fn server_config_requiring_client_cert(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
) -> Result<rustls::ServerConfig, TlsError> {
    install_crypto_provider();
    let chain = certs_from_pem(cert_chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for ca in certs_from_pem(client_ca_pem)? {
        roots.add(ca).map_err(|e| TlsError::Config(e.to_string()))?;
    }
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}
