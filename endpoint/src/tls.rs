//! TLS for `rediss://` endpoints, with rustls: the server certificate is verified
//! (against the Mozilla roots and any CA files given), a client certificate can be
//! presented (mutual TLS), and skipping verification takes a loudly named option.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::TlsConnector;

use crate::error::{Error, Result};

/// How to set up TLS; the defaults verify the server against the Mozilla roots.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    ca_files: Vec<PathBuf>,
    client_auth: Option<(PathBuf, PathBuf)>,
    server_name: Option<String>,
    accept_invalid: bool,
}

impl TlsOptions {
    /// Default options: verify against the Mozilla roots.
    pub fn new() -> Self {
        TlsOptions::default()
    }

    /// Also trusts the CA certificates in this PEM file (e.g. a private CA).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Presents this certificate chain and private key (PEM files) to servers that
    /// ask for one (`tls-auth-clients yes`).
    pub fn client_auth(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_auth = Some((cert.into(), key.into()));
        self
    }

    /// Verifies the certificate against this name instead of the URL's host.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Accepts any server certificate: the connection is then open to
    /// man-in-the-middle attacks. Off by default; for tests and throwaway setups.
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid = yes;
        self
    }

    /// The name the certificate must carry for `host`.
    pub(crate) fn name_for(&self, host: &str) -> Result<ServerName<'static>> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned())
            .map_err(|_| Error::Tls(format!("{name:?} is not a valid server name")))
    }

    /// A connector for these options.
    pub(crate) fn connector(&self) -> Result<TlsConnector> {
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?;
        let builder = if self.accept_invalid {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            for path in &self.ca_files {
                for cert in read_certs(path)? {
                    roots
                        .add(cert)
                        .map_err(|e| Error::Tls(format!("CA file {}: {e}", path.display())))?;
                }
            }
            builder.with_root_certificates(roots)
        };
        let config = match &self.client_auth {
            Some((cert, key)) => {
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| Error::Tls(format!("key file {}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(read_certs(cert)?, key)
                    .map_err(|e| Error::Tls(e.to_string()))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(TlsConnector::from(Arc::new(config)))
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls(format!("certificate file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}

/// The verifier of [`TlsOptions::danger_accept_invalid_certs`]: signatures are still
/// checked, the certificate is not.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
