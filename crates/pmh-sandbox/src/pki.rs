//! A throw-away PKI for the sandbox: a private CA, a server certificate for the sandbox and a
//! client certificate for the institution, generated at start (`pmh_pki::LocalCa`).

use std::path::Path;

use pmh_pki::LocalCa;

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
    pub fn generate(institution: &str) -> Result<Self, pmh_pki::Error> {
        Self::generate_for(institution, &[])
    }

    /// As [`Pki::generate`], with the server's certificate also naming `names` (the host names
    /// a gateway in another container uses to reach the sandbox).
    pub fn generate_for(institution: &str, names: &[String]) -> Result<Self, pmh_pki::Error> {
        let ca = LocalCa::create("pmh-gateway sandbox CA")?;
        let mut all = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        all.extend(names.iter().cloned());
        let server = ca.server(&all)?;
        let client = ca.client(institution)?;
        Ok(Self {
            ca_pem: ca.cert_pem.clone(),
            server_cert_pem: server.cert_pem,
            server_key_pem: server.key_pem,
            client_cert_pem: client.cert_pem,
            client_key_pem: client.key_pem,
        })
    }

    /// The client certificate followed by its key, as `reqwest::Identity::from_pem` wants.
    pub fn client_identity_pem(&self) -> Vec<u8> {
        format!("{}{}", self.client_cert_pem, self.client_key_pem).into_bytes()
    }

    /// Writes the five PEM files; private keys are readable by the owner only.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        Self::write_files(
            dir,
            [
                (CA_FILE, &self.ca_pem, false),
                (SERVER_CERT_FILE, &self.server_cert_pem, false),
                (SERVER_KEY_FILE, &self.server_key_pem, true),
                (CLIENT_CERT_FILE, &self.client_cert_pem, false),
                (CLIENT_KEY_FILE, &self.client_key_pem, true),
            ],
        )
    }

    /// Writes what a gateway needs alone: the CA's certificate and the client identity (never
    /// the sandbox's own key).
    pub fn write_client_to(&self, dir: &Path) -> std::io::Result<()> {
        Self::write_files(
            dir,
            [
                (CA_FILE, &self.ca_pem, false),
                (CLIENT_CERT_FILE, &self.client_cert_pem, false),
                (CLIENT_KEY_FILE, &self.client_key_pem, true),
            ],
        )
    }

    fn write_files<const N: usize>(
        dir: &Path,
        files: [(&str, &String, bool); N],
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
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

#[cfg(test)]
mod client_dir_tests {
    #[test]
    fn the_client_directory_holds_the_client_identity_alone() {
        let dir = tempfile::tempdir().unwrap();
        let pki = super::Pki::generate("1311111111").unwrap();
        pki.write_client_to(dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected = [
            super::CA_FILE,
            super::CLIENT_CERT_FILE,
            super::CLIENT_KEY_FILE,
        ];
        expected.sort();
        assert_eq!(names, expected);
    }
}
