//! An HTTPS server on 127.0.0.1 with a certificate from a throwaway CA (rcgen), so the tests can
//! check trust via `--ca-cert`, `SSL_CERT_FILE` and `--insecure`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::http::{bind, reply, serve_connection};

/// Handle on a running HTTPS server.
pub struct TlsServer {
    /// `https://127.0.0.1:<port>/secure`.
    pub url: String,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_pem: PathBuf,
}

impl TlsServer {
    /// Generates a CA and a server certificate for `localhost` and `127.0.0.1`, writes the CA to
    /// `dir/ca.pem`, and serves 200 over HTTPS.
    pub async fn start(dir: &Path) -> Self {
        let (ca_pem, config) = certificates(dir);
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (listener, port) = bind().await;
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust us aborts the handshake; that is expected.
                    if let Ok(tls) = acceptor.accept(stream).await {
                        serve_connection(tls, |_req| async { reply(200, "secure") }).await;
                    }
                });
            }
        });
        TlsServer {
            url: format!("https://127.0.0.1:{port}/secure"),
            ca_pem,
        }
    }
}

fn certificates(dir: &Path) -> (PathBuf, ServerConfig) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "linkkeep test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();

    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ca_cert.pem()).unwrap();

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (ca_pem, config)
}
