//! HTTPS for a run: a throw-away CA made with `rcgen` when the run starts, and a server certificate it signed
//! for the loopback names (`localhost`, `127.0.0.1`), written as PEM files into the run's directory for
//! `tepat-server serve --tls-cert --tls-key`. The simulated phones and the supervisor pin the CA, exactly as
//! a district office's phones pin its own CA (`HttpConfig::ca_pem`).

use std::path::{Path, PathBuf};

use crate::Error;

/// The files of one run's TLS set-up.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM, leaf first): `--tls-cert`.
    pub cert: PathBuf,
    /// The server's private key (PEM, PKCS#8): `--tls-key`.
    pub key: PathBuf,
    /// The throw-away CA's certificate (PEM), what the phones pin.
    pub ca_pem: String,
    /// The same, as a file (`ca.pem`), for `tepat-field --ca` or curl.
    pub ca: PathBuf,
}

impl TlsFiles {
    /// Makes a new CA and a server certificate (valid one year from now) in `dir/tls/`.
    pub fn create(dir: &Path) -> Result<TlsFiles, Error> {
        let tls = dir.join("tls");
        std::fs::create_dir_all(&tls)?;
        let mut ca_params = rcgen::CertificateParams::default();
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Tepat test CA (throw-away)");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_key = rcgen::KeyPair::generate().map_err(tls_error)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_error)?;
        let ca_pem = ca_cert.pem();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .map_err(tls_error)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let now = std::time::SystemTime::now();
        params.not_before = (now - std::time::Duration::from_secs(3600)).into();
        params.not_after = (now + std::time::Duration::from_secs(365 * 86_400)).into();
        let key = rcgen::KeyPair::generate().map_err(tls_error)?;
        let cert = params.signed_by(&key, &issuer).map_err(tls_error)?;

        let files = TlsFiles {
            cert: tls.join("server.pem"),
            key: tls.join("server.key"),
            ca_pem,
            ca: tls.join("ca.pem"),
        };
        std::fs::write(&files.cert, cert.pem())?;
        std::fs::write(&files.key, key.serialize_pem())?;
        std::fs::write(&files.ca, &files.ca_pem)?;
        Ok(files)
    }

    /// `serve`'s options for these files.
    pub fn serve_options(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.display().to_string(),
            "--tls-key".into(),
            self.key.display().to_string(),
        ]
    }
}

fn tls_error(e: rcgen::Error) -> Error {
    Error::Setup(format!("throw-away CA: {e}"))
}
