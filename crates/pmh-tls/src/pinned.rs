//! A TLS client that trusts exactly one certificate: the server's own, as configured. The
//! health check connects to its own listener with it — no CA needed, and nothing but that
//! certificate accepted (stricter than a CA's verification, which accepts any certificate the
//! CA issued for the name).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, SignatureScheme};

use super::{TlsError, certs_from_pem, install_crypto_provider};

#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::General(
                "the server's certificate is not the configured one".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A client configuration that accepts only the first certificate of `cert_chain_pem` (the
/// leaf) from the server, whatever name it is reached by.
pub fn client_config_pinned(cert_chain_pem: &[u8]) -> Result<rustls::ClientConfig, TlsError> {
    install_crypto_provider();
    let cert = certs_from_pem(cert_chain_pem)?
        .into_iter()
        .next()
        .ok_or(TlsError::NoCertificate)?;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .ok_or_else(|| TlsError::Config("no crypto provider installed".into()))?;
    let verifier = Pinned {
        cert,
        algorithms: provider.signature_verification_algorithms,
    };
    Ok(rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmh_pki::LocalCa;

    async fn handshake(server_cert: &str, server_key: &str, pinned: &str) -> Result<(), String> {
        let server =
            crate::server_config(server_cert.as_bytes(), server_key.as_bytes(), None, false)
                .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(tcp).await;
        });
        let connector = tokio_rustls::TlsConnector::from(Arc::new(
            client_config_pinned(pinned.as_bytes()).unwrap(),
        ));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let out = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        let _ = accept.await;
        out
    }

    #[tokio::test]
    async fn only_the_pinned_certificate_is_accepted() {
        let ca = LocalCa::create("test CA").unwrap();
        let one = ca.server(&["localhost".to_owned()]).unwrap();
        let other = ca.server(&["localhost".to_owned()]).unwrap();
        handshake(&one.cert_pem, &one.key_pem, &one.cert_pem)
            .await
            .unwrap();
        let refused = handshake(&one.cert_pem, &one.key_pem, &other.cert_pem)
            .await
            .unwrap_err();
        assert!(refused.contains("not the configured one"), "{refused}");
    }
}
