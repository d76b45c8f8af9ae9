//! Connections for the drills: from a chosen loopback address, plain or
//! over TLS trusting exactly the test certificate.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::client::TlsStream;

/// A connection to `addr` from the loopback address `from` (e.g.
/// 127.0.0.3), so a test can play several clients.
pub async fn connect_from(addr: SocketAddr, from: &str) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from.parse().expect("an address"), 0))?;
    socket.connect(addr).await
}

/// Any connection a drill reads and writes: plain TCP or TLS.
pub trait Connection: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Connection for T {}

/// How a connection drill reaches the gateway: plain TCP, or TLS (HTTP/1.1
/// by ALPN) trusting the gateway's test certificate. The drills of S42–S46
/// run both ways.
#[derive(Debug, Clone)]
pub enum Transport {
    Plain,
    Tls(std::sync::Arc<std::path::PathBuf>),
}

impl Transport {
    /// A connection to `addr` from the loopback address `from`.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        from: &str,
    ) -> std::io::Result<Box<dyn Connection>> {
        match self {
            Transport::Plain => Ok(Box::new(connect_from(addr, from).await?)),
            Transport::Tls(cert) => Ok(Box::new(tls_connect(addr, from, cert, b"http/1.1").await?)),
        }
    }
}

/// Reads what arrives on `s` until it closes or `wait` passes: the bytes,
/// and whether the connection was closed.
pub async fn read_until_closed(
    s: &mut (impl tokio::io::AsyncRead + Unpin + ?Sized),
    wait: std::time::Duration,
) -> (String, bool) {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    let closed = loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Err(_) => break false,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// A TLS connection to `addr` from `from`, asking for `alpn`, trusting
/// exactly the test certificate `cert`.
pub async fn tls_connect(
    addr: SocketAddr,
    from: &str,
    cert: &Path,
    alpn: &[u8],
) -> std::io::Result<TlsStream<tokio::net::TcpStream>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let expected = CertificateDer::pem_file_iter(cert)
        .expect("the test certificate")
        .next()
        .expect("a certificate")
        .expect("a PEM certificate");
    let mut config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ThisCertificate(expected.into_owned())))
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = crate::connect_from(addr, from).await?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
}

/// Trusts exactly the test certificate (self-signed, so no chain to a
/// root), and checks the handshake's signatures with it.
#[derive(Debug)]
struct ThisCertificate(CertificateDer<'static>);

impl rustls::client::danger::ServerCertVerifier for ThisCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the test certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
