//! The listeners' TLS, done by the gateway rather than by Pingora's
//! listener (S54). Pingora's listener shakes hands before the application
//! sees the connection, with a fixed 60 s deadline and an error-level log
//! line for each failure, so a half-open handshake held no place under the
//! connection caps. Here Pingora accepts plain TCP, [`crate::connections`]
//! takes the connection's place at once, and then shakes hands under
//! `limits.tls_handshake_timeout_ms` with the acceptor built here.

use pingora::listeners::tls::Acceptor;
use pingora::protocols::Stream;
use pingora::tls::{version, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The TLS 1.2 and 1.3 acceptor for a certificate chain and its key, or
/// what is wrong with them: unreadable, not PEM, no certificate, no key,
/// or a key that does not match the certificate. ALPN offers h2 first when
/// `http2` (S60), then http/1.1.
pub fn acceptor(cert_file: &Path, key_file: &Path, http2: bool) -> Result<Acceptor, String> {
    pingora::tls::install_default_crypto_provider();
    let certs = read_pem(cert_file, "certificate")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&certs)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", cert_file.display()));
    }
    let key = read_pem(key_file, "key")?;
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|e| format!("{}: no PEM private key in it: {e}", key_file.display()))?;
    let mut config =
        ServerConfig::builder_with_protocol_versions(&[&version::TLS12, &version::TLS13])
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                format!(
                    "{} does not go with {}: {e}",
                    key_file.display(),
                    cert_file.display()
                )
            })?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Acceptor::from_server_config(Arc::new(config)))
}

fn read_pem(file: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|e| format!("cannot read the {what} {}: {e}", file.display()))
}

/// How a handshake ended when it did not succeed.
#[derive(Debug)]
pub enum Unshaken {
    /// Past `limits.tls_handshake_timeout_ms`.
    TimedOut,
    /// The client closed, or spoke something other than TLS.
    Failed,
}

/// Shakes hands on an accepted plain connection within `deadline`.
pub async fn handshake(
    acceptor: &Acceptor,
    stream: Stream,
    deadline: std::time::Duration,
) -> Result<Stream, Unshaken> {
    // Pingora hands the application the listener's own stream type, boxed.
    let Ok(plain) = stream
        .into_any()
        .downcast::<pingora::protocols::l4::stream::Stream>()
    else {
        return Err(Unshaken::Failed);
    };
    match tokio::time::timeout(deadline, acceptor.tls_handshake(*plain)).await {
        Ok(Ok(tls)) => Ok(Box::new(tls)),
        Ok(Err(e)) => {
            // A client's doing: never above debug (S52).
            tracing::debug!(error = %e, "TLS handshake failed");
            Err(Unshaken::Failed)
        }
        Err(_) => Err(Unshaken::TimedOut),
    }
}
