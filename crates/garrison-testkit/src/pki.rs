//! A test PKI written to disk: a CA, a server certificate for localhost, client certificates,
//! and a second CA that the gateway does not trust.

use std::path::{Path, PathBuf};

pub use garrison_pki::{CertificateAuthority, IssuedCert};

/// A CA with a server certificate, written under a directory.
pub struct TestPki {
    /// The trusted CA.
    pub ca: CertificateAuthority,
    /// The gateway's server certificate (localhost, 127.0.0.1, ::1).
    pub server: IssuedCert,
    /// Where the files are.
    pub dir: PathBuf,
}

impl TestPki {
    /// Creates the PKI and writes `ca.pem`, `server.pem` and `server.key` into `dir`.
    pub fn create(dir: &Path) -> Self {
        let ca = CertificateAuthority::generate("Garrison test CA").expect("test CA");
        let server = ca
            .issue_server(&["localhost", "127.0.0.1", "::1"])
            .expect("server certificate");
        std::fs::write(dir.join("ca.pem"), &ca.cert().cert_pem).expect("write ca.pem");
        std::fs::write(dir.join("server.pem"), &server.cert_pem).expect("write server.pem");
        std::fs::write(dir.join("server.key"), &server.key_pem).expect("write server.key");
        TestPki {
            ca,
            server,
            dir: dir.to_owned(),
        }
    }

    /// Issues a client certificate from the trusted CA.
    pub fn client(&self, name: &str) -> IssuedCert {
        self.ca.issue_client(name).expect("client certificate")
    }

    /// Issues a client certificate from a CA the gateway does not trust.
    pub fn untrusted_client(name: &str) -> IssuedCert {
        CertificateAuthority::generate("Somebody else's CA")
            .and_then(|other| other.issue_client(name))
            .expect("untrusted client certificate")
    }
}
