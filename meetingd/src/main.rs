//! `meetingd`: the Graph-compatible createOrGet server (spec section 8).
//!
//! `meetingd serve` runs the HTTP front; `meetingd token` mints a development
//! token. Every flag is also read from `MEETINGD_<FLAG>`.

/// mimalloc, not glibc's malloc: a request allocates and frees a few hundred
/// small blocks, and glibc's allocator was a sixth of a hit's CPU (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use meeting_core::access::{AppAccessPolicy, Directory};
use meeting_core::options::MeetingPolicy;
use meeting_core::{
    DialIn, MeetingService, MeetingStore, Settings, DEFAULT_DIALIN_BASE_URL, DEFAULT_JOIN_BASE_URL,
};
use meeting_http::admin::AdminToken;
use meeting_http::auth::{
    mint_hs256, TokenSpec, TokenVerifier, DEFAULT_JWKS_MIN_RELOAD_INTERVAL, DEFAULT_JWKS_REFRESH,
    GRAPH_AUDIENCES,
};
use meeting_http::faults::{FaultPlan, FaultRule, Faults};
use meeting_http::{
    HttpConfig, ServeOptions, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The demo user of development mode: the seed example's organizer, so that the
/// seed's request works as it is.
const DEMO_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd0110000";
const DEMO_USER: &str = "d4a060b5-a8fc-450c-837b-750b2c280000";
const DEMO_NAME: &str = "Tyler Stein";
const DEMO_UPN: &str = "test1@contoso.com";

#[derive(Parser)]
#[command(
    name = "meetingd",
    version,
    about = "Microsoft Graph onlineMeeting createOrGet server"
)]
struct Cli {
    /// Log filter: a level (`info`) or `target=level,…` directives.
    #[arg(long, global = true, env = "MEETINGD_LOG", default_value = "info")]
    log: String,
    /// Log line format.
    #[arg(long, global = true, env = "MEETINGD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Mint an HS256 token with the configured secret and print it.
    Token(Box<TokenArgs>),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MEETINGD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where meetings live: `sqlite:PATH`, `memory`, or `postgres://…`.
    #[arg(long, env = "MEETINGD_STORE", default_value = "sqlite:meetings.db")]
    store: String,
    /// Verify HS256 tokens with this shared secret: at least 32 bytes (RFC 7518
    /// section 3.2), e.g. from `openssl rand -base64 48`.
    #[arg(
        long,
        env = "MEETINGD_JWT_HS256_SECRET",
        conflicts_with = "jwt_jwks",
        hide_env_values = true
    )]
    jwt_hs256_secret: Option<String>,
    /// Verify RS256 tokens with the keys of this JWKS: a file (JWKS, or an RSA
    /// public key in PEM) or an `http(s)://` URL, such as Entra ID's
    /// `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`. Reloaded
    /// when a token names an unknown kid and every --jwks-refresh seconds.
    #[arg(long, env = "MEETINGD_JWT_JWKS")]
    jwt_jwks: Option<String>,
    /// Reload the --jwt-jwks keys once they are this many seconds old; a failed
    /// reload keeps the current keys.
    #[arg(long, env = "MEETINGD_JWKS_REFRESH", default_value_t = DEFAULT_JWKS_REFRESH.as_secs())]
    jwks_refresh: u64,
    /// Reload the --jwt-jwks keys for a token naming an unknown kid (or retry a
    /// failed reload) at most once per this many seconds.
    #[arg(long, env = "MEETINGD_JWKS_MIN_RELOAD_INTERVAL", default_value_t = DEFAULT_JWKS_MIN_RELOAD_INTERVAL.as_secs())]
    jwks_min_reload_interval: u64,
    /// Accept only tokens of this tenant id (`tid`) (repeat, or comma-separated);
    /// default any tenant.
    #[arg(
        long = "tenant",
        value_name = "TID",
        env = "MEETINGD_TENANT",
        value_delimiter = ','
    )]
    tenants: Vec<String>,
    /// Accepted token audiences (repeat, or comma-separated); default Graph's two.
    #[arg(long, env = "MEETINGD_AUDIENCE", value_delimiter = ',')]
    audience: Vec<String>,
    /// Base of `@odata.context`; default `http://<listen>`.
    #[arg(long, env = "MEETINGD_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
    /// Answer 409 ParameterMismatch when an existing meeting differs from the request.
    #[arg(long, env = "MEETINGD_STRICT", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    strict: bool,
    /// Toll number of the dial-in; without it `audioConferencing` is null.
    #[arg(long, env = "MEETINGD_TOLL_NUMBER")]
    toll_number: Option<String>,
    /// Base of `dialinUrl`.
    #[arg(long, env = "MEETINGD_DIALIN_BASE_URL", default_value = DEFAULT_DIALIN_BASE_URL)]
    dialin_base_url: String,
    /// Give meetings a `videoTeleconferenceId`.
    #[arg(long, env = "MEETINGD_VIDEO_INTEROP", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    video_interop: bool,
    /// Base of `joinWebUrl`.
    #[arg(long, env = "MEETINGD_JOIN_BASE_URL", default_value = DEFAULT_JOIN_BASE_URL)]
    join_base_url: String,
    /// Let application APP_ID act for these users (object ids) on
    /// /v1.0/users/{userId}/…: `APP_ID=OID[,OID…]`, or `APP_ID=*` for every
    /// user (repeat, one application each time). Without one, app-only tokens
    /// get 403 "No Application Access Policy found for this app.".
    #[arg(
        long = "app-access-policy",
        value_name = "APP_ID=OIDS",
        env = "MEETINGD_APP_ACCESS_POLICY",
        value_delimiter = ';'
    )]
    app_access_policy: Vec<String>,
    /// A JSON file of users, `{"<object id>": {"displayName": "…", "upn": "…"}}`:
    /// where organizers' names come from when a token has none (app-only tokens).
    #[arg(long, env = "MEETINGD_DIRECTORY", value_name = "FILE")]
    directory: Option<PathBuf>,
    /// A JSON file of the meeting policy: new meetings' options by their Graph
    /// names (`allowedPresenters`, `lobbyBypassSettings`, …) and
    /// `isPasscodeRequired`; unnamed options keep Graph's defaults.
    #[arg(long, env = "MEETINGD_MEETING_POLICY", value_name = "FILE")]
    meeting_policy: Option<PathBuf>,
    /// One meeting option, over the policy file: `NAME=JSON`, such as
    /// `allowedPresenters="organizer"` or `lobbyBypassSettings.scope="everyone"`
    /// or `isPasscodeRequired=true` (repeat).
    #[arg(
        long = "meeting-option",
        value_name = "NAME=JSON",
        env = "MEETINGD_MEETING_OPTION",
        value_delimiter = ';'
    )]
    meeting_options: Vec<String>,
    /// Longest a request may take, in seconds (1 to 86400), body upload included.
    #[arg(long, env = "MEETINGD_REQUEST_TIMEOUT", default_value_t = DEFAULT_REQUEST_TIMEOUT.as_secs(), value_parser = seconds())]
    request_timeout: u64,
    /// Longest a client may take to send a request's line and headers, in
    /// seconds (1 to 86400); also how long an idle connection stays open.
    #[arg(long, env = "MEETINGD_HEADER_READ_TIMEOUT", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_secs(), value_parser = seconds())]
    header_read_timeout: u64,
    /// Most requests handled at once; past it a request gets 503 with
    /// Retry-After at once. Each may hold a 4 MiB body.
    #[arg(long, env = "MEETINGD_MAX_CONCURRENT_REQUESTS", default_value_t = DEFAULT_MAX_CONCURRENT_REQUESTS as u64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    max_concurrent_requests: u64,
    /// Most connections open at once; past it new clients wait in the listen
    /// backlog until one closes.
    #[arg(long, env = "MEETINGD_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Make Graph routes fail on purpose (repeat, or `;`-separated): comma-separated
    /// `key=value` pairs: `route=createOrGet|get|delete|*`, `status=429|503|504`,
    /// `delay=250ms|2s`, `when=before|after-commit`, `rate=0..1` or `nth=N`,
    /// `retry-after=SECONDS`; e.g. `route=createOrGet,status=429,rate=0.2`.
    #[arg(long = "fault", value_name = "RULE", env = "MEETINGD_FAULT", value_delimiter = ';', value_parser = |rule: &str| rule.parse::<FaultRule>())]
    faults: Vec<FaultRule>,
    /// The seed of the faults' `rate` draws (the same seed hits the same calls);
    /// default random, logged at start.
    #[arg(long, env = "MEETINGD_FAULT_SEED")]
    fault_seed: Option<u64>,
    /// Serve the admin API under `/_meetingd/` (meetings, reset, faults,
    /// settings, health) to this bearer token: 16 to 512 visible ASCII
    /// characters, e.g. from `openssl rand -hex 32`. Off without it.
    #[arg(long, env = "MEETINGD_ADMIN_TOKEN", hide_env_values = true, value_parser = |token: &str| AdminToken::new(token))]
    admin_token: Option<AdminToken>,
}

/// A timeout flag: whole seconds from 1 to a day. Zero would close every
/// connection at once; past a day is a typo, and near `u64::MAX` the shutdown
/// grace (both timeouts added) would overflow.
fn seconds() -> impl clap::builder::TypedValueParser<Value = u64> {
    clap::value_parser!(u64).range(1..=86_400)
}

#[derive(Args)]
struct TokenArgs {
    /// The user's object id (`oid`); for an app-only token, the
    /// application's service principal (default: the application id).
    #[arg(long, env = "MEETINGD_TOKEN_USER", required_unless_present = "app")]
    user: Option<String>,
    /// The tenant id (`tid`).
    #[arg(long, env = "MEETINGD_TOKEN_TENANT")]
    tenant: String,
    /// Display name (`name`).
    #[arg(long, env = "MEETINGD_TOKEN_NAME")]
    name: Option<String>,
    /// User principal name (`upn`).
    #[arg(long, env = "MEETINGD_TOKEN_UPN")]
    upn: Option<String>,
    /// Delegated scopes (`scp`; repeat, or space-separated).
    #[arg(
        long,
        env = "MEETINGD_TOKEN_SCOPE",
        default_value = "OnlineMeetings.ReadWrite",
        conflicts_with = "app"
    )]
    scope: Vec<String>,
    /// An app-only token of this application id (`azp`; `idtyp: app`).
    #[arg(long, env = "MEETINGD_TOKEN_APP", value_name = "APP_ID")]
    app: Option<String>,
    /// The application's roles, with --app (repeat, or space-separated).
    #[arg(
        long,
        env = "MEETINGD_TOKEN_ROLES",
        default_value = "OnlineMeetings.ReadWrite.All",
        requires = "app"
    )]
    roles: Vec<String>,
    /// The secret `meetingd serve` verifies with (at least 32 bytes).
    #[arg(long, env = "MEETINGD_JWT_HS256_SECRET", hide_env_values = true)]
    jwt_hs256_secret: String,
    /// The token's audience (of a comma-separated list, the first: what `serve` accepts).
    #[arg(long, env = "MEETINGD_AUDIENCE", value_delimiter = ',', default_value = GRAPH_AUDIENCES[0])]
    audience: Vec<String>,
    /// Lifetime in seconds.
    #[arg(long, env = "MEETINGD_TOKEN_LIFETIME", default_value_t = 3600)]
    lifetime: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_format);
    let result = match cli.command {
        Command::Token(args) => token(*args),
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))
            .and_then(|runtime| runtime.block_on(serve(*args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("meetingd: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str, format: LogFormat) {
    let targets: tracing_subscriber::filter::Targets = filter.parse().unwrap_or_else(|_| {
        eprintln!("meetingd: ignoring the invalid log filter {filter:?}; using info");
        tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
    });
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let registry = tracing_subscriber::registry().with(targets);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => registry.with(fmt).try_init(),
        LogFormat::Json => registry.with(fmt.json()).try_init(),
    };
}

/// The meeting policy: the file's, then each `--meeting-option` over it.
fn meeting_policy(args: &ServeArgs) -> Result<MeetingPolicy, String> {
    let mut policy = match &args.meeting_policy {
        Some(path) => MeetingPolicy::from_json(&read_file(path)?)
            .map_err(|e| format!("--meeting-policy {}: {e}", path.display()))?,
        None => MeetingPolicy::default(),
    };
    for option in &args.meeting_options {
        let (name, value) = option
            .split_once('=')
            .ok_or_else(|| format!("--meeting-option {option:?}: expected NAME=JSON"))?;
        let value = serde_json::from_str(value)
            .map_err(|e| format!("--meeting-option {option:?}: the value is not JSON: {e}"))?;
        policy
            .set(name.trim(), value)
            .map_err(|e| format!("--meeting-option {option:?}: {e}"))?;
    }
    Ok(policy)
}

fn app_access(specs: &[String]) -> Result<AppAccessPolicy, String> {
    let mut policy = AppAccessPolicy::default();
    for spec in specs {
        policy
            .grant_spec(spec)
            .map_err(|e| format!("--app-access-policy {e}"))?;
    }
    Ok(policy)
}

fn read_file(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn token(args: TokenArgs) -> Result<(), String> {
    // The same check as `serve`: a token no server would accept is no use.
    TokenVerifier::hs256(args.jwt_hs256_secret.as_bytes()).map_err(|e| e.to_string())?;
    let words = |list: &[String]| -> Vec<String> {
        list.iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect()
    };
    let user = args.user.or_else(|| args.app.clone()).unwrap_or_default();
    let spec = TokenSpec {
        tenant: args.tenant,
        issuer: None,
        user,
        name: args.name,
        upn: args.upn,
        scopes: match &args.app {
            Some(_) => words(&args.roles),
            None => words(&args.scope),
        },
        app: args.app.is_some(),
        app_id: args.app,
        audience: args
            .audience
            .into_iter()
            .next()
            .unwrap_or_else(|| GRAPH_AUDIENCES[0].to_owned()),
        lifetime: Duration::from_secs(args.lifetime),
    };
    let token = mint_hs256(args.jwt_hs256_secret.as_bytes(), &spec)
        .map_err(|e| format!("cannot mint the token: {e}"))?;
    println!("{token}");
    Ok(())
}

async fn open_store(store: &str) -> Result<Arc<dyn MeetingStore>, String> {
    if store == "memory" {
        return Ok(Arc::new(meeting_store_memory::MemoryStore::new()));
    }
    if let Some(path) = store.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        let store = meeting_store_sqlite::SqliteStore::open(path)
            .await
            .map_err(|e| format!("cannot open the SQLite store {path}: {e}"))?;
        return Ok(Arc::new(store));
    }
    if store.starts_with("postgres://") || store.starts_with("postgresql://") {
        let store = meeting_store_postgres::PostgresStore::connect(store)
            .await
            .map_err(|e| format!("cannot open the PostgreSQL store: {e}"))?;
        return Ok(Arc::new(store));
    }
    Err(format!(
        "unknown store {store:?}; use sqlite:PATH, memory or postgres://…"
    ))
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    // Checked before anything is created: a refused secret leaves no database behind.
    let (verifier, dev_secret) = match (&args.jwt_hs256_secret, &args.jwt_jwks) {
        (Some(secret), _) => (
            TokenVerifier::hs256(secret.as_bytes())
                .map_err(|e| format!("--jwt-hs256-secret: {e}"))?,
            None,
        ),
        (None, Some(location)) => (
            TokenVerifier::rs256_from(location)
                .await
                .map_err(|e| format!("--jwt-jwks: {e}"))?,
            None,
        ),
        (None, None) => {
            // 64 random hex digits: 64 bytes, past the 32-byte minimum.
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            let verifier = TokenVerifier::hs256(secret.as_bytes())
                .map_err(|e| format!("the development secret: {e}"))?;
            (verifier, Some(secret))
        }
    };
    let verifier = verifier
        .with_audiences(&args.audience)
        .with_tenants(&args.tenants)
        .with_jwks_refresh(Duration::from_secs(args.jwks_refresh))
        .with_jwks_min_reload_interval(Duration::from_secs(args.jwks_min_reload_interval));
    let store = open_store(&args.store).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let public_base_url = args
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));

    let settings = Settings {
        strict: args.strict,
        join_base_url: args.join_base_url.clone(),
        dial_in: args.toll_number.clone().map(|toll_number| DialIn {
            toll_number,
            base_url: args.dialin_base_url.clone(),
        }),
        video_interop: args.video_interop,
        meeting_policy: meeting_policy(&args)?,
        app_access: app_access(&args.app_access_policy)?,
        directory: match &args.directory {
            Some(path) => Directory::from_json(&read_file(path)?)
                .map_err(|e| format!("--directory {}: {e}", path.display()))?,
            None => Directory::default(),
        },
    };
    let service = MeetingService::new(store).with_settings(settings);
    let config = HttpConfig::new(public_base_url.clone(), verifier)
        .with_request_timeout(Duration::from_secs(args.request_timeout))
        .with_max_concurrent_requests(args.max_concurrent_requests as usize)
        .with_faults(fault_injection(&args));
    let config = match args.admin_token.clone() {
        Some(token) => {
            tracing::info!("admin API on under /_meetingd/");
            config.with_admin_token(token)
        }
        None => config,
    };

    if let Some(secret) = dev_secret {
        development_notice(&secret, &address)?;
    }
    tracing::info!(%address, store = %store_label(&args.store), %public_base_url, "listening");
    let request_timeout = config.request_timeout;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let header_read_timeout = Duration::from_secs(args.header_read_timeout);
    let server = meeting_http::serve_with(
        listener,
        meeting_http::router(service, config),
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        },
        ServeOptions::default()
            .with_header_read_timeout(header_read_timeout)
            .with_max_connections(args.max_connections as usize),
    );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result.map_err(|e| format!("the server failed: {e}"))?,
        () = meeting_http::shutdown_signal() => {
            let _ = stop.send(true);
            // A connection part-way through its request head may take the header-read
            // timeout to finish it and the request timeout to be answered.
            let grace = header_read_timeout
                .saturating_add(request_timeout)
                .saturating_add(Duration::from_secs(5));
            match tokio::time::timeout(grace, &mut server).await {
                Ok(result) => result.map_err(|e| format!("the server failed: {e}"))?,
                Err(_) => tracing::warn!(?grace, "stopping with connections still open after the grace period"),
            }
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The faults of `--fault`, drawn from `--fault-seed` or a random seed (logged).
fn fault_injection(args: &ServeArgs) -> Faults {
    let seed = args
        .fault_seed
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    if !args.faults.is_empty() {
        let rules: Vec<String> = args.faults.iter().map(ToString::to_string).collect();
        tracing::warn!(
            seed,
            rules = %rules.join("; "),
            "fault injection on: these Graph calls fail on purpose (rerun with --fault-seed {seed} to hit the same calls)"
        );
    }
    Faults::new(FaultPlan {
        seed,
        rules: args.faults.clone(),
    })
}

/// The store flag without credentials, for the log.
fn store_label(store: &str) -> &str {
    if store.starts_with("postgres") {
        "postgres://…"
    } else {
        store
    }
}

fn development_notice(secret: &str, address: &SocketAddr) -> Result<(), String> {
    let mut spec = TokenSpec::delegated(DEMO_TENANT, DEMO_USER);
    spec.name = Some(DEMO_NAME.into());
    spec.upn = Some(DEMO_UPN.into());
    let token = mint_hs256(secret.as_bytes(), &spec)
        .map_err(|e| format!("cannot mint the development token: {e}"))?;
    eprintln!(
        "\n\
         ==================================================================\n\
         DEVELOPMENT MODE: no --jwt-hs256-secret or --jwt-jwks was given.\n\
         Tokens are checked against a random secret made for this run only;\n\
         do not expose this server. A token for the demo user {DEMO_NAME}\n\
         (oid {DEMO_USER}, valid 24 h) follows; paste the export line:\n\
         ==================================================================\n"
    );
    println!("export TOKEN={token}");
    eprintln!(
        "\nthen: curl -X POST http://{address}/beta/me/onlineMeetings/createOrGet \\\n  \
         -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n  \
         -d '{{\"externalId\":\"my-first-meeting\",\"subject\":\"Hello\"}}'\n"
    );
    Ok(())
}
