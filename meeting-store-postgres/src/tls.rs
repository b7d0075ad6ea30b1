//! TLS to the server: the URL's `sslmode` and `sslrootcert`, and (with the
//! `tls` feature) the rustls connector that carries them out.

use crate::error::Error;
use std::path::PathBuf;
use tokio_postgres::config::SslMode;

/// The URL's `sslmode`, with libpq's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// Plain text.
    Disable,
    /// TLS when the server offers it, unverified; plain text when it does not.
    #[default]
    Prefer,
    /// TLS or no connection; the certificate verified (see the crate docs).
    Require,
    /// TLS; the certificate chain verified against `sslrootcert`.
    VerifyCa,
    /// TLS; the chain and the server's name verified.
    VerifyFull,
}

impl TlsMode {
    pub(crate) fn parse(value: &str) -> Result<TlsMode, Error> {
        match value {
            "disable" => Ok(TlsMode::Disable),
            "prefer" => Ok(TlsMode::Prefer),
            "require" => Ok(TlsMode::Require),
            "verify-ca" => Ok(TlsMode::VerifyCa),
            "verify-full" => Ok(TlsMode::VerifyFull),
            _ => Err(Error::BadParameter {
                name: "sslmode",
                value: value.to_owned(),
                expected: "disable, prefer, require, verify-ca or verify-full",
            }),
        }
    }

    /// What the driver is told: it knows only disable, prefer and require;
    /// the verification is the connector's.
    pub(crate) fn driver_mode(self) -> SslMode {
        match self {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

/// Where trusted roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// The platform's trusted roots (`sslrootcert=system`, as in libpq 16:
    /// verify-full unless the URL says verify-ca; weaker modes are refused).
    System,
}

/// The TLS parameters of a URL; `mode` is `None` when the URL left it to the
/// driver's parsing (a key=value connection string) or to the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) mode: Option<TlsMode>,
    pub(crate) root_cert: Option<RootCert>,
}

impl TlsSettings {
    /// The mode in force: the URL's, else the driver's reading of the string.
    pub(crate) fn effective_mode(&self, driver: SslMode) -> TlsMode {
        self.mode.unwrap_or(match driver {
            SslMode::Disable => TlsMode::Disable,
            SslMode::Require => TlsMode::Require,
            _ => TlsMode::Prefer,
        })
    }
}

/// Builds the pool's connection manager for `mode`: plain text for
/// `disable`, else rustls (with the `tls` feature).
pub(crate) fn manager(
    config: tokio_postgres::Config,
    mode: TlsMode,
    root_cert: Option<&RootCert>,
    manager_config: deadpool_postgres::ManagerConfig,
) -> Result<deadpool_postgres::Manager, Error> {
    use deadpool_postgres::Manager;
    #[cfg(feature = "tls")]
    {
        if mode == TlsMode::Disable {
            return Ok(Manager::from_config(
                config,
                tokio_postgres::NoTls,
                manager_config,
            ));
        }
        let client_config = rustls_config::client_config(mode, root_cert)?;
        Ok(Manager::from_config(
            config,
            tokio_postgres_rustls::MakeRustlsConnect::new(client_config),
            manager_config,
        ))
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = root_cert;
        match mode {
            TlsMode::Disable | TlsMode::Prefer => Ok(Manager::from_config(
                config,
                tokio_postgres::NoTls,
                manager_config,
            )),
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => {
                Err(Error::TlsUnsupported(mode.name()))
            }
        }
    }
}

#[cfg(feature = "tls")]
mod rustls_config {
    use super::{RootCert, TlsMode};
    use crate::error::Error;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::crypto::WebPkiSupportedAlgorithms;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
    use std::sync::Arc;

    /// The rustls configuration for `mode` (never `Disable`).
    pub(super) fn client_config(
        mode: TlsMode,
        root_cert: Option<&RootCert>,
    ) -> Result<ClientConfig, Error> {
        // The ring provider, named here rather than taken from the process
        // default, which another crate's rustls features could make ambiguous.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(format!("rustls refuses its own defaults: {e}")))?;
        let verifier: Arc<dyn ServerCertVerifier> = match (mode, root_cert) {
            // libpq's prefer: encryption against eavesdroppers only; an
            // attacker in the middle could as well refuse TLS and get plain text.
            (TlsMode::Prefer, _) => {
                Arc::new(NoVerification(provider.signature_verification_algorithms))
            }
            (_, Some(RootCert::File(path))) => {
                let roots = Arc::new(roots_from_file(path)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| {
                        Error::Tls(format!("the sslrootcert file {}: {e}", path.display()))
                    })?;
                if mode == TlsMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(AnyName(webpki))
                }
            }
            // The platform's roots: the name is checked in every mode, since a
            // public CA signs certificates for anybody's names.
            (_, Some(RootCert::System) | None) => {
                let roots = Arc::new(platform_roots()?);
                WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| Error::Tls(format!("the platform's trusted roots: {e}")))?
            }
        };
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }

    fn roots_from_file(path: &std::path::Path) -> Result<RootCertStore, Error> {
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::Tls(format!(
                "cannot read the sslrootcert file {}: {e}",
                path.display()
            ))
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
            let cert = cert.map_err(|e| unreadable(&e))?;
            roots.add(cert).map_err(|e| unreadable(&e))?;
        }
        if roots.is_empty() {
            return Err(Error::Tls(format!(
                "the sslrootcert file {} holds no PEM certificate",
                path.display()
            )));
        }
        Ok(roots)
    }

    fn platform_roots() -> Result<RootCertStore, Error> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            let why = found
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Error::Tls(format!(
                "no trusted root certificates found on this system{}{why}: name the server's CA in the URL with sslrootcert=/path/to/ca.pem",
                if why.is_empty() { "" } else { ": " }
            )));
        }
        Ok(roots)
    }

    /// Checks the handshake's signatures, not the certificate (sslmode=prefer).
    #[derive(Debug)]
    struct NoVerification(WebPkiSupportedAlgorithms);

    impl ServerCertVerifier for NoVerification {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.supported_schemes()
        }
    }

    /// Verifies the chain to the trusted roots but not the server's name
    /// (libpq's verify-ca, and its require with a root file).
    #[derive(Debug)]
    struct AnyName(Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for AnyName {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            // webpki checks the chain first and the name last: a name error means a good chain.
            match self.0.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_mode_names_parse_and_others_are_refused() {
        assert_eq!(TlsMode::parse("verify-full").unwrap(), TlsMode::VerifyFull);
        assert_eq!(
            TlsMode::parse("verify-ca").unwrap().driver_mode(),
            SslMode::Require
        );
        assert_eq!(TlsMode::parse("disable").unwrap().name(), "disable");
        assert!(matches!(
            TlsMode::parse("allow"),
            Err(Error::BadParameter {
                name: "sslmode",
                ..
            })
        ));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_the_tls_feature_require_is_refused_with_advice() {
        let config: tokio_postgres::Config = "postgres://h/db".parse().unwrap();
        let error = manager(config, TlsMode::VerifyFull, None, Default::default()).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("feature `tls`"), "{text}");
        assert!(matches!(
            meeting_core::StoreError::from(error),
            meeting_core::StoreError::Incompatible { .. }
        ));
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_missing_root_file_is_named() {
        let error = rustls_config::client_config(
            TlsMode::VerifyFull,
            Some(&RootCert::File("/no/such/ca.pem".into())),
        )
        .unwrap_err();
        assert!(error.to_string().contains("/no/such/ca.pem"), "{error}");
    }
}
