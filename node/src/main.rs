//! `sync178-node`: parses the command line and runs the daemon (`run`) or one of the operator commands (`certs`, `deploy`, `client-ref`, `submit`, `status`, `verify`, `backup`, `restore`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use sync178_node::cli;
use sync178_node::daemon;
use sync178_node::i18n::{Lang, Msg, t};
use sync178_node::{Config, NodeError};
use sync178_shared::exit;
use sync178_shared::tls::TlsFiles;
use sync178_shared::unit::UnitId;
use tracing_subscriber::filter::LevelFilter;

/// sync178 node: the daemon of one administrative unit, and the tools to feed and watch it.
#[derive(Debug, Parser)]
#[command(name = "sync178-node", version)]
struct Cli {
    /// Language of what is printed for people: vi (Tiếng Việt) or en (English).
    #[arg(
        long,
        global = true,
        env = "SYNC178_LANG",
        value_enum,
        default_value = "vi"
    )]
    lang: Lang,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the node daemon until SIGINT or SIGTERM.
    Run {
        /// The node's TOML configuration.
        #[arg(long, env = "SYNC178_NODE_CONFIG")]
        config: PathBuf,
        /// Log JSON lines instead of text (the filter is RUST_LOG, default `info`).
        #[arg(long)]
        log_json: bool,
    },
    /// Issues the CA and every certificate of a province (idempotent: keeps
    /// what exists, reissues certificates whose key usages do not fit their
    /// role); `certs revoke` revokes one.
    Certs(CertsCmd),
    /// Writes a province's node configs and certificates, one folder per node ready to copy to its machine, and the province hub's hub.toml beside the province node's.
    Deploy(sync178_node::deploy::DeployArgs),
    /// Prints the client reference (`client_ref`) of each local case number:
    /// the HMAC under this node's secret, which never leaves its data folder.
    ClientRef {
        /// The node's TOML configuration (its data_dir holds the secret).
        #[arg(long, env = "SYNC178_NODE_CONFIG")]
        config: PathBuf,
        /// One JSON object per line: case, client_ref, client_key_id.
        #[arg(long)]
        json: bool,
        /// Local case numbers, e.g. HS-2025-0042; `-` reads them from
        /// standard input, one per line (blank lines skipped), which keeps
        /// them out of the process list and the shell's history.
        #[arg(required = true)]
        cases: Vec<String>,
    },
    /// Submits NDJSON events (one per line; blank and `#` lines skipped) to a node.
    Submit {
        #[command(flatten)]
        conn: Conn,
        /// Print the node's SubmitResponse as JSON (one line per request).
        #[arg(long)]
        json: bool,
        /// The NDJSON file, or `-` for standard input.
        file: PathBuf,
    },
    /// Asks a node to read its whole log and check every hash, chain and
    /// index (exit 0 sound, 1 corrupt; needs an operator certificate).
    Verify {
        #[command(flatten)]
        conn: Conn,
        /// Print the VerifyResponse as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Writes every event a running node holds to a backup file (consistent
    /// while it runs; an operator certificate, or the node's own).
    Backup {
        #[command(flatten)]
        conn: Conn,
        /// The backup file to write.
        #[arg(long)]
        out: PathBuf,
        /// The node's TOML configuration, when run on the node's machine:
        /// the client-reference secret of its data folder goes into the
        /// backup too (the file is then written with mode 0600).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Restores a backup into a stopped node's empty data folder; the node
    /// then fetches from its parent whatever is newer before it records.
    Restore {
        /// The node's TOML configuration (unit, data_dir, parent).
        #[arg(long, env = "SYNC178_NODE_CONFIG")]
        config: PathBuf,
        /// The backup file written by `backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// Shows what a node holds, its uplink, its origins and its children.
    Status {
        #[command(flatten)]
        conn: Conn,
        /// Print the StatusResponse as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `certs`: issue a province's certificates, or `certs revoke`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct CertsCmd {
    #[command(subcommand)]
    action: Option<CertsAction>,
    /// Topology CSV in the GSO listing format.
    #[arg(long, required = true)]
    topology: Option<PathBuf>,
    /// The province, e.g. p33.
    #[arg(long, required = true)]
    province: Option<UnitId>,
    /// Folder for ca.pem, ca.key and the certificates.
    #[arg(long, required = true)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum CertsAction {
    /// Revokes a certificate: adds it to the province's revocation list
    /// (CA_DIR/revocations.crl, signed by the CA, numbered one higher) and
    /// moves its files aside so `certs` issues a fresh one.
    Revoke {
        /// The province's CA folder (the `--out` of `certs`).
        #[arg(long)]
        ca_dir: PathBuf,
        /// A certificate serial in hex, instead of ROLE UNIT.
        #[arg(long, conflicts_with_all = ["role", "unit"])]
        serial: Option<String>,
        /// node, recorder, hub or operator.
        #[arg(required_unless_present = "serial")]
        role: Option<sync178_shared::tls::Role>,
        /// The unit of the certificate, e.g. d008 (the province for hub and operator).
        #[arg(required_unless_present = "serial")]
        unit: Option<UnitId>,
    },
}

/// How to reach a node.
#[derive(Debug, Args)]
struct Conn {
    /// The node's gRPC endpoint, e.g. https://10.0.0.5:7100.
    #[arg(long, env = "SYNC178_ENDPOINT")]
    endpoint: String,
    /// The node to expect behind the endpoint; defaults to the unit of --cert.
    #[arg(long)]
    node: Option<UnitId>,
    /// The province CA certificate (PEM).
    #[arg(long, env = "SYNC178_CA")]
    ca: PathBuf,
    /// Our certificate (PEM).
    #[arg(long, env = "SYNC178_CERT")]
    cert: PathBuf,
    /// Our private key (PEM).
    #[arg(long, env = "SYNC178_KEY")]
    key: PathBuf,
}

impl Conn {
    fn tls(&self) -> TlsFiles {
        TlsFiles {
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = cli.lang;
    let code = match cli.command {
        Command::Run { config, log_json } => run(&config, log_json).await,
        Command::Certs(cmd) => match (cmd.action, cmd.topology, cmd.province, cmd.out) {
            (
                Some(CertsAction::Revoke {
                    ca_dir,
                    serial,
                    role,
                    unit,
                }),
                ..,
            ) => revoke(&ca_dir, serial, role, unit, lang),
            (None, Some(topology), Some(province), Some(out)) => {
                certs(&topology, province, &out, lang)
            }
            _ => exit::USAGE,
        },
        Command::Deploy(args) => deploy(&args, lang),
        Command::ClientRef {
            config,
            json,
            cases,
        } => client_ref(&config, json, &cases, lang),
        Command::Submit { conn, json, file } => submit(&conn, json, &file, lang).await,
        Command::Status { conn, json } => status(&conn, json, lang).await,
        Command::Verify { conn, json } => verify(&conn, json, lang).await,
        Command::Backup { conn, out, config } => backup(&conn, &out, config.as_deref(), lang).await,
        Command::Restore { config, from } => restore(&config, &from, lang).await,
    };
    if code == exit::UNAVAILABLE {
        // A storage failure may leave a thread blocked inside sled; the
        // runtime would wait for it forever on the way out.
        std::process::exit(i32::from(code));
    }
    ExitCode::from(code)
}

/// The daemon: tracing → config → bind → run → signal → drain.
async fn run(config_path: &std::path::Path, log_json: bool) -> u8 {
    daemon::init_tracing(LevelFilter::INFO, log_json);
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    // The data-entry page's socket is bound here too, so a busy port stops
    // the node at start (exit 69) with the address named.
    let entry = match &config.entry {
        None => None,
        Some(e) => match tokio::net::TcpListener::bind(e.listen).await {
            Ok(l) => Some(l),
            Err(err) => {
                eprintln!("cannot listen on {} (entry.listen): {err}", e.listen);
                return exit::UNAVAILABLE;
            }
        },
    };
    daemon::serve(
        "node",
        config.listen,
        |listener, shutdown| {
            let listeners = sync178_node::Listeners {
                grpc: listener,
                entry,
            };
            sync178_node::run(config, listeners, shutdown)
        },
        |e| match e {
            NodeError::Config { .. }
            | NodeError::Tls(_)
            | NodeError::Topology(_)
            | NodeError::History(_) => exit::USAGE,
            // Another node holds the log's folder.
            NodeError::Log(l) if l.to_string().contains("could not acquire lock") => {
                exit::UNAVAILABLE
            }
            // A full or read-only disk: the supervisor restarts the node
            // (exit 69 is not in RestartPreventExitStatus).
            NodeError::Storage(_) => exit::UNAVAILABLE,
            NodeError::Log(_) | NodeError::Serve(_) => exit::FAILURE,
        },
    )
    .await
}

/// `certs`: issues what the province lacks and says what was created and kept.
fn certs(topology: &std::path::Path, province: UnitId, out: &std::path::Path, lang: Lang) -> u8 {
    // A listing CSV, or a history (`history.toml`): today's province with
    // every old unit whose place today lies in it.
    let issued = sync178_shared::history::History::from_path(topology)
        .map_err(anyhow::Error::from)
        .and_then(|history| {
            sync178_node::certs::issue_history(&history, province, out)
                .with_context(|| format!("issuing certificates of {province}"))
        });
    match issued {
        Ok(report) => {
            print!("{}", cli::render_certs(&report, lang));
            0
        }
        Err(e) => {
            eprintln!("{e:#}");
            exit::FAILURE
        }
    }
}

/// `certs revoke`: one more entry on the province's revocation list.
fn revoke(
    ca_dir: &std::path::Path,
    serial: Option<String>,
    role: Option<sync178_shared::tls::Role>,
    unit: Option<UnitId>,
    lang: Lang,
) -> u8 {
    use sync178_node::revoke::{Target, parse_serial};
    let target = match (serial, role, unit) {
        (Some(s), _, _) => match parse_serial(&s) {
            Ok(s) => Target::Serial(s),
            Err(e) => {
                eprintln!("--serial: {e}");
                return exit::USAGE;
            }
        },
        (None, Some(role), Some(unit)) => {
            Target::Identity(sync178_shared::tls::Identity::new(unit, role))
        }
        _ => {
            eprintln!("certs revoke: give ROLE UNIT or --serial");
            return exit::USAGE;
        }
    };
    match sync178_node::revoke::revoke(ca_dir, &target) {
        Ok(report) => {
            print!("{}", sync178_node::revoke::render(&report, lang));
            0
        }
        Err(e) => {
            eprintln!("{e}");
            exit::FAILURE
        }
    }
}

/// `deploy`: writes the province's folders and prints what is where.
fn deploy(args: &sync178_node::deploy::DeployArgs, lang: Lang) -> u8 {
    match sync178_node::deploy::deploy_from_args(args) {
        Ok(report) => {
            print!("{}", sync178_node::deploy::render(&report, lang));
            0
        }
        Err(e) => {
            eprintln!("{}", e.render(lang));
            e.exit_code()
        }
    }
}

/// `client-ref`: one reference per case number, or nothing if any is bad.
fn client_ref(config_path: &std::path::Path, json: bool, cases: &[String], lang: Lang) -> u8 {
    use sync178_node::client_ref::{ClientRefError, ClientSecret, normalize_case};
    use sync178_shared::i18n::Localized as _;
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    let secret = match ClientSecret::load(&config.data_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.text(lang));
            return match e {
                ClientRefError::Missing { .. } => exit::NOINPUT,
                _ => exit::FAILURE,
            };
        }
    };
    let from_stdin;
    let cases = if cases == ["-"] {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("-: {e}");
            return exit::NOINPUT;
        }
        from_stdin = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>();
        from_stdin.as_slice()
    } else {
        cases
    };
    let mut lines = Vec::with_capacity(cases.len());
    let mut bad = false;
    for case in cases {
        match normalize_case(case).and_then(|n| Ok((secret.reference(&n)?, n))) {
            Ok((reference, normalized)) => lines.push(if json {
                serde_json::json!({
                    "case": normalized,
                    "client_ref": reference,
                    "client_key_id": secret.key_id(),
                })
                .to_string()
            } else {
                reference
            }),
            Err(e) => {
                bad = true;
                eprintln!("{case:?}: {}", e.text(lang));
            }
        }
    }
    if bad {
        eprintln!("{}", t(lang, Msg::NothingPrintedBadCase));
        return exit::DATAERR;
    }
    for l in &lines {
        println!("{l}");
    }
    if !json {
        eprintln!("{}: {}", t(lang, Msg::ClientKeyId), secret.key_id());
    }
    0
}

/// `submit`: parse everything, then send; nothing is sent if any line is bad.
async fn submit(conn: &Conn, json: bool, file: &std::path::Path, lang: Lang) -> u8 {
    let text = match cli::read_input(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}", e.render(lang));
            return e.exit_code();
        }
    };
    let events = match cli::parse_ndjson(&text) {
        Ok(ev) => ev,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}", e.render(lang));
            }
            eprintln!("{}", t(lang, Msg::NothingSentBadInput));
            return exit::DATAERR;
        }
    };
    if events.is_empty() {
        eprintln!("{}", t(lang, Msg::NoEvents));
        return exit::DATAERR;
    }
    let channel = match cli::connect(&conn.endpoint, &conn.tls(), conn.node).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e.render(lang));
            return e.exit_code();
        }
    };
    // Said once the node is reached, when the lines are about to be stored.
    let without_id: Vec<String> = events
        .iter()
        .filter(|(_, e)| e.id.is_empty())
        .map(|(line, _)| line.to_string())
        .collect();
    if !without_id.is_empty() {
        eprintln!(
            "{}",
            sync178_node::i18n::lines_without_id(lang, &without_id.join(", "))
        );
    }
    let outcome = cli::submit(channel, &conn.endpoint, events).await;
    if json {
        for chunk in &outcome.chunks {
            let response = match &chunk.result {
                cli::ChunkResult::Applied(r) | cli::ChunkResult::Refused { response: r, .. } => r,
                cli::ChunkResult::Failed(e) => {
                    eprintln!("{}", e.render(lang));
                    continue;
                }
            };
            match serde_json::to_string(response) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("{e}"),
            }
        }
    } else {
        let report = cli::render_submit(&outcome, lang);
        if outcome.is_success() {
            print!("{report}");
        } else {
            eprint!("{report}");
        }
    }
    outcome.exit_code()
}

/// Prints an answer as JSON or as `text` for people; false when it cannot
/// be encoded (said on stderr).
fn print_answer<T: serde::Serialize>(
    answer: &T,
    json: bool,
    text: impl FnOnce(&T) -> String,
) -> bool {
    if !json {
        print!("{}", text(answer));
        return true;
    }
    match serde_json::to_string_pretty(answer) {
        Ok(s) => {
            println!("{s}");
            true
        }
        Err(e) => {
            eprintln!("{e}");
            false
        }
    }
}

/// `verify`: the node checks its whole log; 0 sound, 1 corrupt.
async fn verify(conn: &Conn, json: bool, lang: Lang) -> u8 {
    let res =
        match cli::connect_for(&conn.endpoint, &conn.tls(), conn.node, cli::VERIFY_TIMEOUT).await {
            Ok(channel) => cli::verify(channel, &conn.endpoint).await,
            Err(e) => Err(e),
        };
    match res {
        Err(e) => {
            eprintln!("{}", e.render(lang));
            e.exit_code()
        }
        Ok(r) => {
            let printed = print_answer(&r, json, |r| {
                format!("{}\n", sync178_node::i18n::verified(lang, r))
            });
            if printed && r.ok { 0 } else { exit::FAILURE }
        }
    }
}

/// `backup`: every event the node holds, into one checked file.
async fn backup(
    conn: &Conn,
    out: &std::path::Path,
    config: Option<&std::path::Path>,
    lang: Lang,
) -> u8 {
    use sync178_shared::i18n::Localized as _;
    let secret = match config.map(Config::load).transpose() {
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
        Ok(None) => None,
        Ok(Some(c)) => match sync178_node::client_ref::ClientSecret::load(&c.data_dir) {
            Ok(s) => Some((c.unit, s)),
            Err(e) => {
                eprintln!("{}", e.text(lang));
                return exit::NOINPUT;
            }
        },
    };
    let with_secret = secret.is_some();
    let channel =
        match cli::connect_for(&conn.endpoint, &conn.tls(), conn.node, cli::VERIFY_TIMEOUT).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{}", e.render(lang));
                return e.exit_code();
            }
        };
    match sync178_node::backup::backup(channel, &conn.endpoint, out, secret).await {
        Ok(b) => {
            println!(
                "{}: {} — {} {} → {}",
                t(lang, Msg::BackupWritten),
                b.unit,
                b.events.len(),
                t(lang, Msg::EventsWord),
                out.display()
            );
            println!(
                "{}",
                t(
                    lang,
                    if with_secret {
                        Msg::BackupHoldsSecret
                    } else {
                        Msg::BackupWithoutSecret
                    }
                )
            );
            0
        }
        Err(e) => {
            eprintln!("{}: {e}", t(lang, Msg::BackupFailed));
            exit::FAILURE
        }
    }
}

/// `restore`: a backup into a stopped node's empty store.
async fn restore(config_path: &std::path::Path, from: &std::path::Path, lang: Lang) -> u8 {
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    let has_parent = config.parent.is_some();
    match sync178_node::backup::restore(&config.data_dir, config.unit, from, has_parent).await {
        Ok(n) => {
            println!(
                "{}: {} — {n} {} ← {}",
                t(lang, Msg::Restored),
                config.unit,
                t(lang, Msg::EventsWord),
                from.display()
            );
            if has_parent {
                println!("{}", t(lang, Msg::RestoredWaitsForParent));
            }
            0
        }
        Err(e) => {
            eprintln!("{}: {e}", t(lang, Msg::RestoreRefused));
            match e {
                sync178_node::backup::BackupError::Damaged { .. }
                | sync178_node::backup::BackupError::OtherUnit { .. } => exit::DATAERR,
                _ => exit::FAILURE,
            }
        }
    }
}

/// `status`: one `Admin.Status` call, as a report or as JSON.
async fn status(conn: &Conn, json: bool, lang: Lang) -> u8 {
    let res = match cli::connect(&conn.endpoint, &conn.tls(), conn.node).await {
        Ok(channel) => cli::status(channel, &conn.endpoint).await,
        Err(e) => Err(e),
    };
    match res {
        Err(e) => {
            eprintln!("{}", e.render(lang));
            e.exit_code()
        }
        Ok(s) => {
            let now = sync178_shared::event::now_ms();
            if print_answer(&s, json, |s| cli::render_status(s, lang, now)) {
                0
            } else {
                exit::FAILURE
            }
        }
    }
}
