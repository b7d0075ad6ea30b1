//! A JWKS fetched over HTTP(S) (feature `jwks-url`): hyper-util's client over
//! rustls (ring, the platform's roots), one GET, bounded in time and size.

use super::KeyError;
use axum::body::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{ACCEPT, CONTENT_LENGTH};
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// The longest one fetch may take, connection and body included.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest JWKS document accepted; Entra ID's is a few KiB.
pub const JWKS_MAX_BYTES: usize = 1024 * 1024;

/// Where a JWKS is fetched from, with the client that fetches it.
pub(super) struct JwksUrl {
    uri: Uri,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl JwksUrl {
    pub(super) fn new(url: &str) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Fetch {
            url: url.to_owned(),
            source: reason.into(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e| invalid(format!("not a URL: {e}")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(invalid(
                    "the URL must start with http:// or https://".into(),
                ))
            }
        };
        let mut roots = rustls::RootCertStore::empty();
        if https {
            // Only an https URL needs the platform's roots; unreadable ones are skipped.
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(invalid(
                    "no trusted root certificate was found on this system (install ca-certificates)"
                        .into(),
                ));
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(JwksUrl {
            uri,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// GETs the document: a `200` with at most [`JWKS_MAX_BYTES`], within [`JWKS_FETCH_TIMEOUT`].
    pub(super) async fn fetch(&self) -> Result<Vec<u8>, KeyError> {
        let failed = |reason: String| KeyError::Fetch {
            url: self.uri.to_string(),
            source: reason.into(),
        };
        let request = Request::get(self.uri.clone())
            .header(ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| failed(e.to_string()))?;
        let fetch = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| failed(e.to_string()))?;
            if response.status() != StatusCode::OK {
                return Err(failed(format!("the server answered {}", response.status())));
            }
            let declared = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|length| length > JWKS_MAX_BYTES as u64) {
                return Err(failed(format!(
                    "the document is larger than {JWKS_MAX_BYTES} bytes"
                )));
            }
            let body = Limited::new(response.into_body(), JWKS_MAX_BYTES)
                .collect()
                .await
                .map_err(|e| failed(format!("cannot read the document: {e}")))?;
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(JWKS_FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| failed(format!("no answer within {JWKS_FETCH_TIMEOUT:?}")))?
    }

    pub(super) fn as_str(&self) -> String {
        self.uri.to_string()
    }
}
