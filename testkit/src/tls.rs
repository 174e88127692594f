//! Throwaway TLS material for servers started with TLS: a CA, a server certificate
//! for 127.0.0.1 and localhost, and a client certificate, written as PEM files.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};

/// File names in the server's directory.
pub(crate) const CA: &str = "tls-ca.pem";
pub(crate) const SERVER_CERT: &str = "tls-server.pem";
pub(crate) const SERVER_KEY: &str = "tls-server.key";
pub(crate) const CLIENT_CERT: &str = "tls-client.pem";
pub(crate) const CLIENT_KEY: &str = "tls-client.key";

fn fail<T>(e: rcgen::Error) -> T {
    panic!("generate TLS certificates: {e}")
}

/// Writes a fresh CA, server and client certificate into `dir`.
pub(crate) fn write_files(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(fail);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "testkit CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap_or_else(fail))
        .unwrap_or_else(fail);
    let leaf = |name: &str| {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap_or_else(fail);
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap_or_else(fail);
        let cert = params.signed_by(&key, &ca).unwrap_or_else(fail);
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf("testkit server");
    let (client_cert, client_key) = leaf("testkit client");
    for (name, text) in [
        (CA, ca.pem()),
        (SERVER_CERT, server_cert),
        (SERVER_KEY, server_key),
        (CLIENT_CERT, client_cert),
        (CLIENT_KEY, client_key),
    ] {
        fs::write(dir.join(name), text).expect("write a TLS file");
    }
}
