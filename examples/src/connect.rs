//! Command-line options for reaching servers, shared by the programs that connect.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use endpoint::{ConnectOptions, TlsOptions};

/// TLS and timeout options for `rediss://` and `redis://` URLs.
#[derive(Args, Clone, Debug, Default)]
pub struct ConnectArgs {
    /// Trust the CA certificates in this PEM file (besides the public roots).
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// Present this client certificate (PEM; with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept any server certificate (unsafe: open to man-in-the-middle attacks).
    #[arg(long)]
    pub tls_insecure: bool,
    /// Seconds allowed to connect and log in.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub connect_timeout: u64,
}

impl ConnectArgs {
    /// The connection options these arguments describe.
    pub fn options(&self) -> ConnectOptions {
        let mut tls = TlsOptions::new().danger_accept_invalid_certs(self.tls_insecure);
        if let Some(ca) = &self.tls_ca {
            tls = tls.ca_file(ca);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            tls = tls.client_auth(cert, key);
        }
        ConnectOptions::new()
            .tls(tls)
            .connect_timeout(Duration::from_secs(self.connect_timeout))
    }
}
