//! Serving a router: the accept loop, a deadline for each request head, and
//! graceful shutdown.
//!
//! This is what `axum::serve` does for HTTP/1 (no protocol upgrades: no route
//! needs one), on the same hyper connection, plus a timer: `axum::serve` sets
//! none, so a client that sends half a request line and then nothing (one
//! slow-loris connection per file descriptor) would hold its connection, and a
//! graceful shutdown, forever.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The default of [`ServeOptions::header_read_timeout`], hyper's own.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`ServeOptions::max_connections`]: half the usual soft limit
/// of 1,024 open files, leaving the rest to the store's files and connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// How [`serve_with`] treats connections.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeOptions {
    /// The longest a connection may take to deliver a request's line and
    /// headers, counted from when the server starts waiting for them, so also
    /// the longest an idle keep-alive connection stays open. Past it the
    /// connection is closed without an answer. The body's upload is bounded
    /// by the router's request timeout instead. Keep it well above zero: a
    /// zero timeout closes every connection before its first request.
    pub header_read_timeout: Duration,
    /// The most connections open at once. At the limit the server stops
    /// accepting until one closes; clients wait in the listen backlog, so an
    /// idle crowd cannot take the file descriptors the store needs. At least 1.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServeOptions {
    /// Replaces the header-read timeout.
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Replaces the limit on open connections (at least 1).
    pub fn with_max_connections(mut self, limit: usize) -> Self {
        self.max_connections = limit;
        self
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting
/// and lets requests in flight finish, with the default [`ServeOptions`].
///
/// A connection that is part-way through its request head when `shutdown`
/// comes keeps the returned future pending until its header-read timeout, or,
/// if the head then completes, until that request is answered: up to the
/// header-read timeout plus the request timeout. Bound the wait after
/// `shutdown` (as `meetingd` does) with `tokio::time::timeout`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, app, shutdown, ServeOptions::default()).await
}

/// [`serve`] with explicit [`ServeOptions`].
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) if is_transient(&error) => continue,
            Err(error) => {
                // Out of file descriptors, say: wait rather than spin, as
                // `axum::serve` does, and still heed a shutdown meanwhile.
                tracing::error!(%error, "accepting a connection failed; retrying in 1 s");
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

/// An `accept` error about one connection that went away before it was
/// accepted: nobody's problem.
fn is_transient(error: &io::Error) -> bool {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!(signal = "SIGINT", "shutting down; finishing requests in flight"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutting down; finishing requests in flight"),
    }
}
