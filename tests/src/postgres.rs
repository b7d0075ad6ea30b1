//! A real PostgreSQL server for the tests and the benchmark of
//! meeting-store-postgres and for meetingd's tests (feature `postgres`).
//!
//! `MEETING_PG_URL` names a server to use (its user must be allowed to
//! `CREATE DATABASE`). Otherwise a throwaway cluster is made from the installed
//! binaries (`/usr/lib/postgresql/*/bin`, or the directory in `MEETING_PG_BIN`)
//! in a temporary directory, listening on a free loopback port, and stopped
//! when the process ends, however it ends. PostgreSQL refuses to run as root,
//! so as root the binaries run as the `postgres` user (`runuser`).
//!
//! Without PostgreSQL (and outside `CI=true`) the tests are reported as
//! ignored, with the reason; a server that was expected and cannot be reached
//! fails them (see [`no_postgres`]).

use meeting_store_postgres::{Isolation, PostgresOptions, PostgresStore};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Where the tests' databases live.
pub enum Server {
    /// A server named by `MEETING_PG_URL`.
    External(String),
    /// A cluster this process started.
    Local(Cluster),
}

impl Server {
    /// A URL of the `postgres` maintenance database, for `CREATE DATABASE`.
    pub fn admin_url(&self) -> String {
        match self {
            Server::External(url) => url.clone(),
            Server::Local(cluster) => cluster.url("postgres"),
        }
    }

    /// The cluster, when this process started it.
    pub fn cluster(&self) -> Option<&Cluster> {
        match self {
            Server::External(_) => None,
            Server::Local(cluster) => Some(cluster),
        }
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        match self {
            // The driver applies parameters in order, so a trailing dbname wins.
            Server::External(url) => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}dbname={name}")
            }
            Server::Local(cluster) => cluster.url(name),
        }
    }
}

/// The server every test of this process shares.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("MEETING_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Server::External(url),
        _ => match Cluster::start(ClusterOptions::for_tests()) {
            Ok(cluster) => Server::Local(cluster),
            Err(why) => no_postgres(&why),
        },
    })
}

/// Fails the test: PostgreSQL was expected (the build found it, or `CI=true`) and is not there.
///
/// Where the build found no PostgreSQL, outside CI, the tests never get here:
/// they carry `#[cfg_attr(no_postgres, ignore = "…")]` (set by the build
/// script of meeting-store-postgres, which meetingd's includes), so the test
/// report lists them as ignored, with the reason.
pub fn no_postgres(why: &str) -> ! {
    panic!(
        "no PostgreSQL server: {why}. Install PostgreSQL (apt-get install postgresql-15) or set MEETING_PG_URL"
    );
}

/// A new, empty database on the shared server; returns its URL.
pub async fn fresh_database() -> String {
    fresh_database_on(server()).await
}

/// A new, empty database on `server`; returns its URL.
///
/// Named by a random UUID: a server named by `MEETING_PG_URL` outlives the
/// test processes and keeps their databases, so a name made of the process id
/// was taken again once the id was reused (a long mutation run over one
/// server failed tests with `database … already exists`).
pub async fn fresh_database_on(server: &Server) -> String {
    let name = format!("meeting_test_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&server.admin_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the test server's maintenance database");
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"
        ))
        .await
        .expect("create a test database");
    drop(client);
    let _ = connection.await;
    server.url(&name)
}

/// A store on a new, empty database of the shared server.
pub async fn fresh_store(isolation: Isolation) -> Arc<PostgresStore> {
    let url = fresh_database().await;
    Arc::new(
        PostgresStore::connect_with(
            &url,
            PostgresOptions {
                isolation,
                ..PostgresOptions::default()
            },
        )
        .await
        .expect("connect to a fresh test database"),
    )
}

/// How a throwaway cluster is set up.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Whether commits wait for the disk; off in tests for speed (clean
    /// shutdowns and restarts still keep every commit).
    pub fsync: bool,
    /// The server's `max_connections`.
    pub max_connections: u32,
    /// TLS: `ssl = on`, with a server certificate (for `127.0.0.1` and
    /// `localhost`) from a CA made for the cluster ([`Cluster::ca`]).
    pub ssl: bool,
}

impl ClusterOptions {
    /// Fast and roomy: fsync off, 300 connections, no TLS.
    pub fn for_tests() -> Self {
        ClusterOptions {
            fsync: false,
            max_connections: 300,
            ssl: false,
        }
    }
}

/// A PostgreSQL cluster in a temporary directory, stopped and removed on drop
/// and, should the process die first, by a watcher process.
pub struct Cluster {
    bin: PathBuf,
    directory: Option<tempfile::TempDir>,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    watcher: Option<Child>,
    ca: Option<PathBuf>,
}

impl Cluster {
    /// Makes and starts a cluster; `Err` says why it could not.
    pub fn start(options: ClusterOptions) -> Result<Cluster, String> {
        let bin = find_binaries()?;
        let as_postgres = running_as_root();
        let directory = tempfile::Builder::new()
            .prefix("meeting-pg-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        if as_postgres {
            let (uid, gid) = postgres_user()?;
            std::os::unix::fs::chown(directory.path(), Some(uid), Some(gid))
                .map_err(|e| format!("cannot hand the temporary directory to postgres: {e}"))?;
        }
        let data = directory.path().join("data");
        let port = free_port()?;
        let mut cluster = Cluster {
            bin,
            directory: Some(directory),
            data,
            port,
            as_postgres,
            watcher: None,
            ca: None,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&cluster.data)?,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        let socket_dir = cluster.directory()?.to_owned();
        let settings = format!(
            "\n# meeting-store-postgres test cluster\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nmax_connections = {}\nfsync = {}\nsynchronous_commit = on\nshared_buffers = '128MB'\nlog_min_messages = warning\n",
            socket_dir.display(),
            options.max_connections,
            if options.fsync { "on" } else { "off" },
        );
        let mut settings = settings;
        if options.ssl {
            let tls = cluster.directory()?.join("tls");
            std::fs::create_dir(&tls).map_err(|e| format!("cannot make {}: {e}", tls.display()))?;
            let authority = TestCa::new("cluster-ca")?;
            let ca = authority.write_pem(&tls, "cluster-ca")?;
            let (cert, key) = authority.server_certificate(&tls)?;
            if as_postgres {
                let (uid, gid) = postgres_user()?;
                for file in [&tls, &cert, &key] {
                    std::os::unix::fs::chown(file, Some(uid), Some(gid))
                        .map_err(|e| format!("cannot hand {} to postgres: {e}", file.display()))?;
                }
            }
            settings.push_str(&format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                cert.display(),
                key.display()
            ));
            cluster.ca = Some(ca);
        }
        let conf = cluster.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf)
            .map_err(|e| format!("cannot read {}: {e}", conf.display()))?;
        text.push_str(&settings);
        std::fs::write(&conf, text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        // free_port's port is only known to be free until its listener closes: by
        // the time the server binds it (after initdb), another listener of this
        // process or machine may hold it. Then the server refuses to start, and
        // another port is tried.
        let mut attempts = 1;
        loop {
            let log = cluster.directory()?.join("server.log");
            let logged = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
            match cluster.start_server() {
                Ok(()) => break,
                Err(_) if attempts < PORT_ATTEMPTS && port_was_taken(&log, logged) => {
                    attempts += 1;
                    cluster.port = free_port()?;
                    let mut text = std::fs::read_to_string(&conf)
                        .map_err(|e| format!("cannot read {}: {e}", conf.display()))?;
                    // The last setting of a name in the file wins.
                    text.push_str(&format!("port = {}\n", cluster.port));
                    std::fs::write(&conf, text)
                        .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
                    eprintln!(
                        "test cluster: its port was taken; trying port {}",
                        cluster.port
                    );
                }
                Err(why) => return Err(why),
            }
        }
        cluster.watcher = Some(cluster.spawn_watcher()?);
        Ok(cluster)
    }

    /// The URL of database `name`, as the superuser `postgres`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The PEM file of the CA that signed the server's certificate, when
    /// the cluster was started with [`ClusterOptions::ssl`].
    pub fn ca(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// The server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's loopback address.
    pub fn address(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_server(&self) -> Result<(), String> {
        let log = self.directory()?.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data)?,
                "-l",
                path_str(&log)?,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// Stops the server with `mode` (`fast`: ends sessions and checkpoints;
    /// `immediate`: like a crash) and waits until it is down.
    pub fn stop_server(&self, mode: &str) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &["-D", path_str(&self.data)?, "-m", mode, "-w", "stop"],
        )
    }

    fn directory(&self) -> Result<&Path, String> {
        self.directory
            .as_ref()
            .map(|d| d.path())
            .ok_or_else(|| "the cluster is gone".to_owned())
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.stdin(Stdio::null());
        command
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let output = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            let log = self
                .directory()
                .ok()
                .and_then(|d| std::fs::read_to_string(d.join("server.log")).ok())
                .unwrap_or_default();
            Err(format!(
                "{program} {args:?} failed ({}): {}{}\nserver log:\n{log}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// A process that outlives ours, to stop the server and remove its
    /// directory when we end without dropping the cluster (a static, a crash).
    fn spawn_watcher(&self) -> Result<Child, String> {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!(
            "{}{} -D '{}' -m immediate stop",
            if self.as_postgres {
                "runuser -u postgres -- "
            } else {
                ""
            },
            pg_ctl.display(),
            self.data.display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}; rm -rf '{dir}'",
            pid = std::process::id(),
            dir = self.directory()?.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cluster's watcher: {e}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop_server("immediate");
        if let Some(mut watcher) = self.watcher.take() {
            let _ = watcher.kill();
            let _ = watcher.wait();
        }
        // TempDir's drop removes the directory.
        self.directory.take();
    }
}

fn find_binaries() -> Result<PathBuf, String> {
    if let Ok(bin) = std::env::var("MEETING_PG_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.join("initdb").is_file() {
            Ok(bin)
        } else {
            Err(format!("MEETING_PG_BIN={} has no initdb", bin.display()))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no /usr/lib/postgresql ({e})"))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb".to_owned())
}

/// A certificate authority made for a test: a self-signed P-256 CA certificate, by rcgen.
pub struct TestCa(rcgen::CertifiedIssuer<'static, rcgen::KeyPair>);

impl TestCa {
    /// A new CA whose certificate's common name is `name`.
    pub fn new(name: &str) -> Result<TestCa, String> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose};
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot make a CA key: {e}"))?;
        rcgen::CertifiedIssuer::self_signed(params, key)
            .map(TestCa)
            .map_err(|e| format!("cannot make the CA certificate {name}: {e}"))
    }

    /// Writes the CA's certificate to `dir/NAME.pem` (what `sslrootcert` names) and returns that path.
    pub fn write_pem(&self, dir: &Path, name: &str) -> Result<PathBuf, String> {
        let pem = dir.join(format!("{name}.pem"));
        write(&pem, &self.0.pem())?;
        Ok(pem)
    }

    /// A server certificate for `127.0.0.1` and `localhost` signed by this CA,
    /// written to `dir`: `(server.crt, server.key)`, the key mode 0600 as
    /// PostgreSQL demands.
    pub fn server_certificate(&self, dir: &Path) -> Result<(PathBuf, PathBuf), String> {
        use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose};
        use std::os::unix::fs::PermissionsExt;
        let mut params = CertificateParams::new(["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(|e| format!("cannot name the server certificate: {e}"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key =
            rcgen::KeyPair::generate().map_err(|e| format!("cannot make a server key: {e}"))?;
        let certificate = params
            .signed_by(&key, &self.0)
            .map_err(|e| format!("cannot sign the server certificate: {e}"))?;
        let (cert, key_file) = (dir.join("server.crt"), dir.join("server.key"));
        write(&cert, &certificate.pem())?;
        write(&key_file, &key.serialize_pem())?;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make {} private: {e}", key_file.display()))?;
        Ok((cert, key_file))
    }
}

/// A new CA's certificate in `dir/NAME.pem`, for a test that needs one the server does not use.
pub fn make_ca(dir: &Path, name: &str) -> Result<PathBuf, String> {
    TestCa::new(name)?.write_pem(dir, name)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn postgres_user() -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .ok_or_else(|| {
            "running as root, but there is no postgres user to run the server as".to_owned()
        })
}

/// Whether the server's log, past its first `from` bytes, says that the port was in use.
fn port_was_taken(log: &Path, from: usize) -> bool {
    std::fs::read(log).is_ok_and(|bytes| {
        let new = String::from_utf8_lossy(bytes.get(from..).unwrap_or_default());
        new.contains("Address already in use")
            && new.contains("could not create any TCP/IP sockets")
    })
}

/// How many ports [`Cluster::start`] tries before it gives up.
const PORT_ATTEMPTS: u32 = 5;

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

/// A TCP relay in front of PostgreSQL that counts the server's ReadyForQuery
/// messages (exactly one ends each round trip: a `Sync` or a simple query),
/// and can hold the server's answers back, as a network that stops delivering
/// would, or lose one answer with its connection.
pub struct Relay {
    /// The loopback port to connect to instead of the server's.
    pub port: u16,
    ready: Arc<AtomicU64>,
    holding: Arc<std::sync::atomic::AtomicBool>,
    losing: Arc<std::sync::Mutex<Option<&'static str>>>,
    lost: Arc<AtomicU64>,
}

impl Relay {
    /// Relays every connection made to [`port`](Self::port) to `upstream`.
    pub async fn start(upstream: std::net::SocketAddr) -> Relay {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the relay");
        let port = listener.local_addr().expect("the relay's port").port();
        let ready = Arc::new(AtomicU64::new(0));
        let holding = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let losing = Arc::new(std::sync::Mutex::new(None::<&'static str>));
        let lost = Arc::new(AtomicU64::new(0));
        let (counter, hold) = (Arc::clone(&ready), Arc::clone(&holding));
        let (lose, lost_count) = (Arc::clone(&losing), Arc::clone(&lost));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let (counter, hold) = (Arc::clone(&counter), Arc::clone(&hold));
                let (lose, lost_count) = (Arc::clone(&lose), Arc::clone(&lost_count));
                tokio::spawn(async move {
                    let (mut pending, mut chunk) = (Vec::new(), vec![0u8; 16 * 1024]);
                    while let Ok(read) = server_read.read(&mut chunk).await {
                        while hold.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                        if read == 0 {
                            break;
                        }
                        // Counted before the client sees them: a caller that has its
                        // answer must find its round trip already counted.
                        pending.extend_from_slice(&chunk[..read]);
                        // Messages: a type byte, then a big-endian length that counts itself.
                        let mut losing_this = false;
                        while pending.len() >= 5 {
                            let length = u32::from_be_bytes([
                                pending[1], pending[2], pending[3], pending[4],
                            ]) as usize;
                            if pending.len() < 1 + length {
                                break;
                            }
                            if pending[0] == b'Z' {
                                counter.fetch_add(1, Ordering::SeqCst);
                            }
                            // CommandComplete: its tag ("DELETE 1"), NUL-terminated.
                            if pending[0] == b'C' {
                                let tag = &pending[5..length];
                                let mut armed = lose.lock().expect("the relay's lock");
                                if armed.is_some_and(|prefix| tag.starts_with(prefix.as_bytes())) {
                                    *armed = None;
                                    losing_this = true;
                                }
                            }
                            pending.drain(..1 + length);
                        }
                        if losing_this {
                            // The server has done the work; the client never hears of
                            // it and sees its connection end (client_write drops here).
                            lost_count.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if client_write.write_all(&chunk[..read]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Relay {
            port,
            ready,
            holding,
            losing,
            lost,
        }
    }

    /// Closes the client's connection instead of delivering the server's answer
    /// to the next statement whose command tag starts with `tag` (`"DELETE"`):
    /// the statement ran and committed, and the client cannot know it.
    pub fn lose_next_answer_to(&self, tag: &'static str) {
        *self.losing.lock().expect("the relay's lock") = Some(tag);
    }

    /// How many answers [`lose_next_answer_to`](Self::lose_next_answer_to) has lost.
    pub fn answers_lost(&self) -> u64 {
        self.lost.load(Ordering::SeqCst)
    }

    /// Round trips completed so far, over every relayed connection.
    pub fn round_trips(&self) -> u64 {
        self.ready.load(Ordering::SeqCst)
    }

    /// Holds the server's answers back (`true`) or lets them through again.
    pub fn hold_answers(&self, hold: bool) {
        self.holding.store(hold, Ordering::SeqCst);
    }
}
