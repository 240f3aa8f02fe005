//! `sync178-hub`: parses the command line and runs the hub daemon (`run`), checks its state against the feed (`rebuild`), or asks it a question (`query`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use sync178_hub::cli::{self, QueryCmd};
use sync178_hub::{Config, HubError};
use sync178_node::daemon::{self, init_tracing};
use sync178_shared::exit;
use sync178_shared::i18n::Lang;
use sync178_shared::tls::TlsFiles;
use sync178_shared::unit::UnitId;
use tracing_subscriber::filter::LevelFilter;

/// Exit code of a rebuild that could not run (documented in `rebuild --help`).
const EXIT_REBUILD: u8 = 2;
/// How often a rebuild reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// sync178 hub: the province's projections and KPIs, and the operator's questions.
#[derive(Debug, Parser)]
#[command(name = "sync178-hub", version)]
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
    /// Runs the hub daemon until SIGINT or SIGTERM.
    Run {
        /// The hub's TOML configuration.
        #[arg(long, env = "SYNC178_HUB_CONFIG")]
        config: PathBuf,
        /// Log JSON lines instead of text (the filter is RUST_LOG, default `info`).
        #[arg(long)]
        log_json: bool,
    },
    /// Replays the node's whole feed into a fresh state and compares it with
    /// the stored state (the hub must be stopped). Exit 0 equal, 1 different,
    /// 2 could not run.
    Rebuild {
        /// The hub's TOML configuration.
        #[arg(long, env = "SYNC178_HUB_CONFIG")]
        config: PathBuf,
        /// Write the rebuilt state in place of the stored one.
        #[arg(long)]
        replace: bool,
    },
    /// Asks a running hub: KPIs, roll-ups, breakdowns, completeness, sync status, units.
    /// Exit 0 answered; 65 the hub cannot answer the question (unknown unit,
    /// malformed period, a year with no data); 2 bad command line; 64 bad
    /// settings or certificate files; 69 hub unreachable; 77 not allowed.
    Query(QueryArgs),
    /// Batch checks for cron: tiers hold exactly their subtree, projections
    /// equal a replay, every commune is heard from. Exit 0 consistent, 1
    /// discrepancies found, 2 could not run.
    Reconcile(ReconcileArgs),
    /// The operator web page: lift a sign-in lockout on a running hub.
    Web {
        #[command(subcommand)]
        cmd: WebCmd,
    },
    /// Runs a whole real province on this machine: one node per unit over
    /// mutual TLS, the hub, and generated activity through the 2025 reform
    /// (three tiers until 30 June 2025, two since); prints the province's
    /// KPIs by today's structure and by the structure of the time, and
    /// keeps serving until Ctrl-C.
    Demo {
        /// Province code: one of today's 34 (33 the new Hưng Yên, 01 Hà
        /// Nội); with `--listing 2024`, of the 2024 listing.
        #[arg(long, default_value = "33")]
        province: String,
        /// Structure: 2025 (today's, through the reform) or 2024 (one year
        /// of the old three tiers).
        #[arg(long, default_value_t = 2025)]
        listing: u16,
        /// Seed of the generated activity.
        #[arg(long, default_value_t = 178)]
        seed: u64,
        /// Year of the KPIs printed (2023–2025; with `--listing 2024` also
        /// the year of the activity).
        #[arg(long, default_value_t = 2024)]
        year: i32,
        /// Volume multiplier (1 = a realistic commune).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Where the demo's data lives (emptied at start if it is a demo folder).
        #[arg(long, default_value = "sync178-demo")]
        dir: PathBuf,
        /// Exit right after printing (for scripts and tests).
        #[arg(long)]
        no_serve: bool,
        /// Print the KPI table as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Address of the dashboard (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:7380")]
        web: std::net::SocketAddr,
    },
}

/// `web`'s commands.
#[derive(Debug, Subcommand)]
enum WebCmd {
    /// Lifts the sign-in lockout of client addresses or operator accounts
    /// (`*` for all): the running hub applies it at the next sign-in attempt.
    Unlock {
        /// The hub's TOML configuration (the request goes to its data folder).
        #[arg(long, env = "SYNC178_HUB_CONFIG")]
        config: PathBuf,
        /// Client addresses (192.0.2.10) or operator names of the tokens file, or `*`.
        #[arg(required = true)]
        who: Vec<String>,
    },
}

/// `reconcile`'s options.
#[derive(Debug, Args)]
struct ReconcileArgs {
    /// The province's topology CSV (as the nodes and the hub use).
    #[arg(long, env = "SYNC178_TOPOLOGY")]
    topology: PathBuf,
    /// The province CA certificate (PEM).
    #[arg(long, env = "SYNC178_CA")]
    ca: PathBuf,
    /// An operator certificate of the province (PEM).
    #[arg(long, env = "SYNC178_CERT")]
    cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long, env = "SYNC178_KEY")]
    key: PathBuf,
    /// Print the report as JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the report as CSV (UTF-8 with a byte-order mark).
    #[arg(long)]
    csv: bool,
    #[command(subcommand)]
    job: ReconcileJob,
}

#[derive(Debug, Subcommand)]
enum ReconcileJob {
    /// Per parent←child link: heads and chain checkpoints of every origin.
    Tiers {
        /// The node to start from (default: the province).
        #[arg(long)]
        root: Option<UnitId>,
        /// A node's endpoint, `UNIT=https://host:port` (repeat).
        #[arg(long = "endpoint", value_name = "UNIT=URL")]
        endpoints: Vec<String>,
        /// Or: the folder written by `sync178-node deploy` (reads nodes.tsv).
        #[arg(long)]
        deploy_dir: Option<PathBuf>,
        /// Walk the whole subtree, not just the root and its children.
        #[arg(long)]
        walk: bool,
        /// Let behind parents receive what their children hold, then re-verify.
        #[arg(long)]
        repair: bool,
        /// Distance between chain checkpoints, in seqs.
        #[arg(long, default_value_t = 1000)]
        checkpoint_every: u64,
        /// Also have every node re-read its whole log and check each event's
        /// hash, chain and index (finds events altered between checkpoints;
        /// reads every event, so it takes longer; operator certificate).
        #[arg(long)]
        verify: bool,
    },
    /// Replays the node's feed and compares it with the running hub's state.
    Projections {
        /// The hub's gRPC endpoint.
        #[arg(long)]
        hub: String,
        /// The endpoint of the node the hub follows.
        #[arg(long)]
        node: String,
    },
    /// Units that recorded nothing, have no plan, or have not synced.
    Completeness {
        /// The hub's gRPC endpoint.
        #[arg(long)]
        hub: String,
        /// The unit to check under (default: the province).
        #[arg(long)]
        unit: Option<UnitId>,
        /// The period ("2024", "2024-Q3", …).
        #[arg(long)]
        period: String,
        /// Not heard from for longer than this is flagged, seconds.
        #[arg(long, default_value_t = 7 * 24 * 3600)]
        stale_after_secs: u64,
    },
}

/// `query`'s options.
#[derive(Debug, Args)]
struct QueryArgs {
    #[command(flatten)]
    conn: Conn,
    /// Print the hub's answer as JSON (before or after the question).
    #[arg(long, global = true, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (UTF-8 with a byte-order mark) for spreadsheets (before or
    /// after the question).
    #[arg(long, global = true)]
    csv: bool,
    /// Show person counts below 5 (authorised operators only; anywhere).
    #[arg(long, global = true)]
    no_suppress: bool,
    /// Figures by the structure in force on the records' dates ("theo địa
    /// giới tại thời điểm báo cáo") instead of today's ("theo địa giới hiện
    /// nay", the default).
    #[arg(long, global = true)]
    as_recorded: bool,
    #[command(subcommand)]
    question: QueryCmd,
}

/// How to reach the hub.
#[derive(Debug, Args)]
struct Conn {
    /// The hub's gRPC endpoint, e.g. https://10.0.0.5:7300.
    #[arg(long, env = "SYNC178_ENDPOINT")]
    endpoint: String,
    /// The unit the hub's certificate must carry; defaults to the unit of --cert
    /// (the hub and the province's operators share the province's unit).
    #[arg(long)]
    node: Option<UnitId>,
    /// The province CA certificate (PEM).
    #[arg(long, env = "SYNC178_CA")]
    ca: PathBuf,
    /// Our certificate (PEM, role operator).
    #[arg(long, env = "SYNC178_CERT")]
    cert: PathBuf,
    /// Our private key (PEM).
    #[arg(long, env = "SYNC178_KEY")]
    key: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = cli.lang;
    let code = match cli.command {
        Command::Run { config, log_json } => run(&config, log_json).await,
        Command::Rebuild { config, replace } => rebuild(&config, replace, lang).await,
        Command::Query(args) => query(&args, lang).await,
        Command::Reconcile(args) => reconcile(args, lang).await,
        Command::Web {
            cmd: WebCmd::Unlock { config, who },
        } => unlock(&config, &who, lang),
        Command::Demo {
            province,
            listing,
            seed,
            year,
            scale,
            dir,
            no_serve,
            json,
            web,
        } => {
            let opts = sync178_hub::demo::DemoOptions {
                province,
                listing,
                seed,
                year,
                scale,
                dir,
                progress: !json,
                web,
            };
            demo(opts, no_serve, json, lang).await
        }
    };
    ExitCode::from(code)
}

/// The daemon: tracing → config → bind → run → signal → drain.
async fn run(config_path: &Path, log_json: bool) -> u8 {
    init_tracing(LevelFilter::INFO, log_json);
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    daemon::serve(
        "hub",
        config.listen,
        |listener, shutdown| sync178_hub::run(config, listener, shutdown),
        exit_code,
    )
    .await
}

/// `web unlock`: writes the unlock request into the hub's data folder.
fn unlock(config_path: &Path, who: &[String], lang: Lang) -> u8 {
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    match sync178_hub::web::guard::request_unlock(&config.data_dir, who) {
        Ok(path) => {
            println!(
                "{} ({})",
                lang.pick(
                    "Đã gửi yêu cầu mở khóa: hub đang chạy áp dụng ở lần đăng nhập kế tiếp; khởi động lại hub cũng mở mọi khóa",
                    "Unlock requested: the running hub applies it at the next sign-in attempt; restarting the hub lifts every lock too"
                ),
                path.display()
            );
            0
        }
        Err(e @ sync178_hub::web::guard::UnlockError::Who(_)) => {
            eprintln!("{e}");
            exit::USAGE
        }
        Err(e) => {
            eprintln!("{e}");
            exit::FAILURE
        }
    }
}

/// The exit code of a hub that could not start or stopped with `e`: 64 for
/// what the operator must fix in the config or the files it names (tokens
/// file included), 69 for a busy resource (an address in use, a store held
/// by another hub), else 1.
fn exit_code(e: &HubError) -> u8 {
    use sync178_hub::web::WebError;
    match e {
        HubError::Config { .. }
        | HubError::Tls(_)
        | HubError::Topology(_)
        | HubError::History(_)
        | HubError::Web(WebError::Exposed { .. } | WebError::NoTls | WebError::Tokens(_)) => {
            exit::USAGE
        }
        HubError::Web(WebError::Bind { .. }) => exit::UNAVAILABLE,
        HubError::Store(s) if s.to_string().contains("could not acquire lock") => exit::UNAVAILABLE,
        HubError::Store(_)
        | HubError::Serve(_)
        | HubError::Web(WebError::Io(_) | WebError::Tls(_)) => exit::FAILURE,
    }
}

/// `rebuild`: replays the feed with progress on stderr, prints both digests.
async fn rebuild(config_path: &Path, replace: bool, lang: Lang) -> u8 {
    init_tracing(LevelFilter::WARN, false);
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    let mut last = Instant::now();
    let mut progress = |done: u64, total: u64| {
        if last.elapsed() >= PROGRESS_EVERY {
            eprintln!("{}", sync178_hub::i18n::replay_progress(lang, done, total));
            last = Instant::now();
        }
    };
    match cli::rebuild(&config, replace, &mut progress).await {
        Ok(report) => {
            print!("{}", cli::render_rebuild(&report, lang));
            report.exit_code()
        }
        Err(e) => {
            eprintln!("{}", e.render(lang));
            EXIT_REBUILD
        }
    }
}

/// `query`: one call to the hub's `Query` service, as a table, JSON or CSV.
async fn query(args: &QueryArgs, lang: Lang) -> u8 {
    let tls = TlsFiles {
        ca: args.conn.ca.clone(),
        cert: args.conn.cert.clone(),
        key: args.conn.key.clone(),
    };
    let endpoint = &args.conn.endpoint;
    let answer = match sync178_node::cli::connect_hub(endpoint, &tls, args.conn.node).await {
        Ok(channel) => {
            let view = if args.as_recorded {
                sync178_hub::state::View::AsRecorded
            } else {
                sync178_hub::state::View::Today
            };
            cli::query(channel, endpoint, &args.question, args.no_suppress, view).await
        }
        Err(e) => Err(e),
    };
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{}", cli::render_error(&e, lang));
            return cli::exit_code(&e);
        }
    };
    let text = if args.json {
        match cli::render_json(&answer).context("encoding the answer as JSON") {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e:#}");
                return exit::FAILURE;
            }
        }
    } else if args.csv {
        cli::render_csv(&answer, lang)
    } else {
        cli::render_table(&answer, lang, sync178_shared::event::now_ms())
    };
    print!("{text}");
    0
}

/// `demo`: start the province, print its KPIs, serve until Ctrl-C.
async fn demo(opts: sync178_hub::demo::DemoOptions, no_serve: bool, json: bool, lang: Lang) -> u8 {
    init_tracing(LevelFilter::ERROR, false);
    let year = opts.year;
    let d = match sync178_hub::demo::start(&opts).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("demo: {e}");
            return 1;
        }
    };
    let kpis = match d.kpis(year) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("demo: {e}");
            d.stop().await;
            return 1;
        }
    };
    let topo = d.history.topology();
    let name = |u: UnitId| topo.name(u).unwrap_or_default().to_string();
    let dir = std::fs::canonicalize(&d.dir).unwrap_or_else(|_| d.dir.clone());
    let en = matches!(lang, Lang::En);
    if json {
        eprintln!(
            "events: generated {}, applied at the hub {}",
            d.tally.events,
            d.hub_checkpoint()
        );
        match serde_json::to_string_pretty(&kpis) {
            Ok(j) => println!("{j}"),
            Err(e) => eprintln!("demo: encoding JSON: {e}"),
        }
    } else {
        let secs = format!("{:.1}", d.ready_in.as_secs_f64());
        println!();
        if en {
            println!(
                "sync178 demo — {} ({}): {} nodes, {} events recorded, every one at the hub; ready in {secs} s",
                name(d.province),
                d.province,
                d.nodes_run,
                d.tally.events,
            );
        } else {
            println!(
                "sync178 demo — {} ({}): {} nút, {} sự kiện đã ghi, tất cả đã về hub; sẵn sàng sau {} giây",
                name(d.province),
                d.province,
                sync178_hub::i18n::int(lang, d.nodes_run as u64),
                sync178_hub::i18n::int(lang, d.tally.events),
                secs.replace('.', ",")
            );
        }
        if let Some(reform) = d.reform {
            let communes = |p: UnitId| topo.communes_under(p);
            let districts = |p: UnitId| {
                topo.subtree(p)
                    .iter()
                    .filter(|u| u.level() == sync178_shared::unit::Level::District)
                    .count()
            };
            let olds: Vec<String> = d
                .old_provinces
                .iter()
                .map(|p| {
                    if en {
                        format!(
                            "{} ({p}: {} districts, {} communes)",
                            name(*p),
                            districts(*p),
                            communes(*p)
                        )
                    } else {
                        format!(
                            "{} ({p}: {} huyện, {} xã)",
                            name(*p),
                            districts(*p),
                            communes(*p)
                        )
                    }
                })
                .collect();
            let day = sync178_shared::period::format_date(reform);
            if en {
                println!(
                    "until the reform: {}; from {day}: {} communes under the province",
                    olds.join(" and "),
                    communes(d.province)
                );
            } else {
                println!(
                    "trước cải cách: {}; từ {day}: {} xã trực thuộc tỉnh",
                    olds.join(" và "),
                    communes(d.province)
                );
            }
        }
        let (today, then) = if en {
            ("BY TODAY'S STRUCTURE", "BY THE STRUCTURE AT THE TIME")
        } else {
            (
                "THEO ĐỊA GIỚI HIỆN NAY",
                "THEO ĐỊA GIỚI TẠI THỜI ĐIỂM BÁO CÁO",
            )
        };
        println!();
        if d.reform.is_some() {
            println!("== {today}");
        }
        println!("{}", cli::render_kpis(&kpis.today, lang));
        if d.reform.is_some() {
            println!("== {then}");
            for k in &kpis.as_recorded {
                println!("{}", cli::render_kpis(k, lang));
            }
        }
        let (data, grpc) = if en {
            ("data", "hub gRPC (role operator)")
        } else {
            ("dữ liệu", "hub gRPC (vai trò operator)")
        };
        println!("{data}: {}", dir.display());
        // Addresses only while something answers at them.
        if !no_serve {
            let operator = sync178_node::certs::province_files(
                &dir.join("certs"),
                sync178_shared::tls::Identity::new(d.province, sync178_shared::tls::Role::Operator),
            );
            println!(
                "{grpc}: https://{}  (certs: {})",
                d.hub_addr,
                operator.cert.parent().unwrap_or(&dir).display()
            );
            let web = if en { "dashboard" } else { "trang tổng quan" };
            println!(
                "{web}: http://{}/{}",
                d.web_addr,
                if en { "?lang=en" } else { "" }
            );
            if d.reform.is_some() {
                let (label, q) = if en {
                    (
                        "  by the structure at the time",
                        "?lang=en&view=as-recorded",
                    )
                } else {
                    ("  theo địa giới tại thời điểm báo cáo", "?view=as-recorded")
                };
                println!("{label}: http://{}/{q}", d.web_addr);
            }
        }
    }
    if no_serve {
        d.stop().await;
        return 0;
    }
    eprintln!(
        "{}",
        if en {
            "serving; Ctrl-C to stop"
        } else {
            "đang phục vụ; Ctrl-C để dừng"
        }
    );
    let _ = tokio::signal::ctrl_c().await;
    d.stop().await;
    0
}

/// Endpoints from `UNIT=URL` options and a deploy folder's nodes.tsv.
fn endpoints(
    list: &[String],
    deploy: Option<&Path>,
) -> Result<std::collections::HashMap<UnitId, String>, String> {
    let mut map = std::collections::HashMap::new();
    if let Some(dir) = deploy {
        let path = dir.join("nodes.tsv");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (n, line) in text.lines().enumerate().skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            let unit = f.first().and_then(|u| u.parse::<UnitId>().ok());
            let listen = f.get(2);
            match (unit, listen) {
                (Some(u), Some(l)) => {
                    map.insert(u, format!("https://{l}"));
                }
                _ => {
                    return Err(format!(
                        "{} line {}: expected unit, parent, listen, …",
                        path.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    for e in list {
        let (u, url) = e
            .split_once('=')
            .ok_or_else(|| format!("--endpoint {e}: expected UNIT=URL"))?;
        let u: UnitId = u.parse().map_err(|err| format!("--endpoint {e}: {err}"))?;
        map.insert(u, url.to_string());
    }
    Ok(map)
}

/// `reconcile`: run one job and print its report.
async fn reconcile(args: ReconcileArgs, lang: Lang) -> u8 {
    use sync178_hub::reconcile::{EXIT_CANNOT_RUN, projections, tiers};
    init_tracing(LevelFilter::WARN, false);
    let history = match sync178_shared::history::History::from_path(&args.topology) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("reconcile: {e}");
            return EXIT_CANNOT_RUN;
        }
    };
    let topology = std::sync::Arc::new(history.topology().clone());
    let today = history.today().edition();
    let Some(&province) = topology.roots().iter().find(|u| u.edition() == today) else {
        eprintln!("reconcile: {} has no province", args.topology.display());
        return EXIT_CANNOT_RUN;
    };
    let tls = TlsFiles {
        ca: args.ca.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
    };
    let print = |text: String, json: serde_json::Value, csv: String| {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        } else if args.csv {
            print!("{csv}");
        } else {
            print!("{text}");
        }
    };
    match args.job {
        ReconcileJob::Tiers {
            root,
            endpoints: list,
            deploy_dir,
            walk,
            repair,
            checkpoint_every,
            verify,
        } => {
            let map = match endpoints(&list, deploy_dir.as_deref()) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("reconcile: {e}");
                    return EXIT_CANNOT_RUN;
                }
            };
            let mut opts = tiers::TierOptions::new(root.unwrap_or(province), map, tls, topology);
            opts.walk = walk;
            opts.repair = repair;
            opts.checkpoint_every = checkpoint_every;
            opts.verify = verify;
            match tiers::check_tiers(&opts).await {
                Ok(r) => {
                    print(r.render_text(lang), r.to_json(), r.to_csv());
                    r.exit_code()
                }
                Err(e) => {
                    eprintln!("reconcile: {e}");
                    e.exit_code()
                }
            }
        }
        ReconcileJob::Projections { hub, node } => {
            match projections::check_projections(&hub, &node, province, &tls, &history).await {
                Ok(r) => {
                    print(
                        r.render_text(),
                        serde_json::to_value(&r).unwrap_or_default(),
                        r.to_csv(),
                    );
                    u8::from(!r.is_consistent())
                }
                Err(e) => {
                    eprintln!("reconcile: {e}");
                    e.exit_code()
                }
            }
        }
        ReconcileJob::Completeness {
            hub,
            unit,
            period,
            stale_after_secs,
        } => {
            let unit = unit.unwrap_or(province);
            match projections::check_completeness(
                &hub,
                province,
                &tls,
                &topology,
                unit,
                &period,
                Duration::from_secs(stale_after_secs),
            )
            .await
            {
                Ok(r) => {
                    print(
                        r.render_text(),
                        serde_json::to_value(&r).unwrap_or_default(),
                        r.to_csv(),
                    );
                    u8::from(!r.is_consistent())
                }
                Err(e) => {
                    eprintln!("reconcile: {e}");
                    e.exit_code()
                }
            }
        }
    }
}
