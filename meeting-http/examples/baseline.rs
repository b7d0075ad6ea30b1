//! The framework's limit for the HTTP benchmark: a minimal axum handler that
//! reads the request body and answers fixed bytes (a real createOrGet
//! response), with the same content type, on the same route.
//!
//! `cargo run --release -p meeting-http --example baseline -- ADDR RESPONSE_FILE`

use axum::body::Bytes;
use axum::http::header;
use axum::routing::post;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let body = match args.next() {
        Some(path) => Bytes::from(std::fs::read(path)?),
        None => Bytes::from_static(br#"{"@odata.context":"baseline"}"#),
    };
    let handler = move |_request: Bytes| {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, meeting_http::CONTENT_TYPE)], body) }
    };
    let app = Router::new().route("/beta/me/onlineMeetings/createOrGet", post(handler));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("baseline listening on {address}");
    axum::serve(listener, app).await
}
