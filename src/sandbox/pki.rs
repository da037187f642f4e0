//! A throw-away PKI for the sandbox: a private CA, a server certificate for the sandbox and a
//! client certificate for the institution, generated at start with rcgen.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

#[derive(Clone)]
pub struct Pki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

/// File names written by [`Pki::write_to`], read by `serve` configurations.
pub const CA_FILE: &str = "ca.pem";
pub const SERVER_CERT_FILE: &str = "server.pem";
pub const SERVER_KEY_FILE: &str = "server.key";
pub const CLIENT_CERT_FILE: &str = "client.pem";
pub const CLIENT_KEY_FILE: &str = "client.key";

impl Pki {
    /// `institution` goes into the client certificate's common name.
    pub fn generate(institution: &str) -> Result<Self, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "pmh-gateway sandbox CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let mut server =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        server
            .distinguished_name
            .push(DnType::CommonName, "pmh-sandbox");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate()?;
        let server_cert = server.signed_by(&server_key, &ca)?;

        let mut client = CertificateParams::new(Vec::<String>::new())?;
        client
            .distinguished_name
            .push(DnType::CommonName, institution);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate()?;
        let client_cert = client.signed_by(&client_key, &ca)?;

        Ok(Self {
            ca_pem: ca.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        })
    }

    /// The client certificate followed by its key, as `reqwest::Identity::from_pem` wants.
    pub fn client_identity_pem(&self) -> Vec<u8> {
        format!("{}{}", self.client_cert_pem, self.client_key_pem).into_bytes()
    }

    /// Writes the five PEM files; private keys are readable by the owner only.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let files = [
            (CA_FILE, &self.ca_pem, false),
            (SERVER_CERT_FILE, &self.server_cert_pem, false),
            (SERVER_KEY_FILE, &self.server_key_pem, true),
            (CLIENT_CERT_FILE, &self.client_cert_pem, false),
            (CLIENT_KEY_FILE, &self.client_key_pem, true),
        ];
        for (name, text, secret) in files {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            #[cfg(unix)]
            if secret {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            #[cfg(not(unix))]
            let _ = secret;
        }
        Ok(())
    }
}
