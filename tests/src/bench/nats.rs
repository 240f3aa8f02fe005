//! The NATS JetStream comparison: three `nats-server` processes on loopback
//! as commune, district and province — each a JetStream domain, the district
//! a leaf node of the province and the commune a leaf node of the district —
//! with file-stored streams where the province's sources the district's,
//! which sources the commune's. A Rust client (`async-nats`) publishes the
//! same event bytes at the commune with acks and a dedup id (`Nats-Msg-Id` =
//! event id in hex); the figure is the time until the province's stream holds
//! them all.
//!
//! Ports are picked free at run time (bind `127.0.0.1:0`, read, close, hand
//! to the server's config), stores live in a tempdir, readiness is polled
//! (client connect, then JetStream requests across the leaf links), and the
//! servers are killed by their own handles when a run ends.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, context::ContextBuilder, stream};
use bytes::Bytes;

/// The install script the benchmark runs when `nats-server` is missing.
pub const INSTALL_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-nats.sh");

/// Subject the commune publishes events on.
const SUBJECT: &str = "ev.c00292";
/// Stream names per tier.
const COMMUNE_STREAM: &str = "EV_COMMUNE";
const DISTRICT_STREAM: &str = "EV_DISTRICT";
const PROVINCE_STREAM: &str = "EV_PROVINCE";
/// Credentials of the application account (JetStream enabled) on every server.
const USER: &str = "app";
const PASSWORD: &str = "app";
/// How long a server, a leaf link or the warm-up may take before we give up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often readiness and the province's message count are polled.
const POLL: Duration = Duration::from_millis(5);

/// Finds `nats-server`: `explicit` if given, else on `PATH` or in `/usr/sbin`
/// (where the Debian package puts it). When missing and `install` is set, runs
/// [`INSTALL_SCRIPT`] once and looks again. `Err` says why NATS is skipped.
pub fn find_server(explicit: Option<&Path>, install: bool) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("--nats-server {} does not exist", p.display()))
        };
    }
    if let Some(p) = search_path() {
        return Ok(p);
    }
    if !install {
        return Err(format!(
            "nats-server is not on PATH (install it with {INSTALL_SCRIPT}; \
             --quick and --no-install never install)"
        ));
    }
    println!("   nats-server not found: running {INSTALL_SCRIPT}");
    let status = Command::new("bash")
        .arg(INSTALL_SCRIPT)
        .status()
        .map_err(|e| format!("cannot run {INSTALL_SCRIPT}: {e}"))?;
    if !status.success() {
        return Err(format!("{INSTALL_SCRIPT} failed ({status})"));
    }
    search_path().ok_or_else(|| format!("{INSTALL_SCRIPT} ran but nats-server is still missing"))
}

fn search_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// The server's own version line (`nats-server: v2.9.10`).
pub fn version(bin: &Path) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", bin.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether this server accepts `sync_interval: always` (fsync before every
/// ack; added in 2.10), checked by asking it to test such a config (`-t`).
/// `Err` carries the server's own refusal.
pub fn sync_always_supported(bin: &Path) -> anyhow::Result<Result<(), String>> {
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("probe.conf");
    let store = dir.path().join("store");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{}\njetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
            free_ports(1)?[0],
            store.display()
        ),
    )?;
    let out = Command::new(bin)
        .arg("-t")
        .arg("-c")
        .arg(&conf)
        .output()
        .with_context(|| format!("running {} -t", bin.display()))?;
    if out.status.success() {
        return Ok(Ok(()));
    }
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let line = said
        .lines()
        .find(|l| l.contains("sync_interval"))
        .unwrap_or(said.trim());
    // "nats-server: /tmp/…/probe.conf:4:3: unknown field …": keep the server's words.
    let reason = line
        .find("unknown field")
        .map_or(line, |i| &line[i..])
        .to_string();
    Ok(Err(reason))
}

/// `n` distinct free TCP ports on 127.0.0.1, all held until all are chosen.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    held.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// One tier's server process, killed (by its own handle) when dropped.
struct Server {
    name: &'static str,
    port: u16,
    log: PathBuf,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The last lines the server logged, to explain a failure.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// What a tier's config says.
struct Tier<'a> {
    name: &'static str,
    port: u16,
    /// Port this server accepts leaf nodes on (the district and the province).
    leaf_listen: Option<u16>,
    /// The parent's leaf port this server connects to (the commune and the district).
    parent_leaf: Option<u16>,
    store: &'a Path,
    sync_always: bool,
}

fn config(t: &Tier<'_>) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "server_name: {}", t.name);
    let _ = writeln!(c, "listen: 127.0.0.1:{}", t.port);
    let _ = writeln!(c, "jetstream {{");
    let _ = writeln!(c, "  store_dir: \"{}\"", t.store.display());
    let _ = writeln!(c, "  domain: {}", t.name);
    if t.sync_always {
        let _ = writeln!(c, "  sync_interval: always");
    }
    let _ = writeln!(c, "}}");
    let _ = writeln!(c, "accounts {{");
    let _ = writeln!(c, "  SYS: {{ users: [ {{ user: sys, password: sys }} ] }}");
    let _ = writeln!(
        c,
        "  APP: {{ users: [ {{ user: {USER}, password: {PASSWORD} }} ], jetstream: enabled }}"
    );
    let _ = writeln!(c, "}}");
    let _ = writeln!(c, "system_account: SYS");
    if t.leaf_listen.is_some() || t.parent_leaf.is_some() {
        let _ = writeln!(c, "leafnodes {{");
        if let Some(p) = t.leaf_listen {
            let _ = writeln!(c, "  listen: 127.0.0.1:{p}");
        }
        if let Some(p) = t.parent_leaf {
            let _ = writeln!(
                c,
                "  remotes: [ {{ url: \"nats-leaf://{USER}:{PASSWORD}@127.0.0.1:{p}\", account: APP }} ]"
            );
        }
        let _ = writeln!(c, "}}");
    }
    c
}

fn spawn(bin: &Path, dir: &Path, t: &Tier<'_>) -> anyhow::Result<Server> {
    let conf = dir.join(format!("{}.conf", t.name));
    std::fs::write(&conf, config(t))?;
    let log = dir.join(format!("{}.log", t.name));
    let out = std::fs::File::create(&log)?;
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Server {
        name: t.name,
        port: t.port,
        log,
        child,
    })
}

/// Whether the JetStream API under `prefix` (`$JS.API`, or `$JS.<domain>.API`
/// for another server's) answers an account-info request through `client`.
/// Raw request on purpose: async-nats 0.51's `query_account` expects the
/// account reservations that servers report only since 2.10, so against 2.9
/// it fails to decode even when JetStream is up.
async fn js_answers(client: &async_nats::Client, prefix: &str) -> Result<(), String> {
    let reply = tokio::time::timeout(
        Duration::from_millis(500),
        client.request(format!("{prefix}.INFO"), Bytes::new()),
    )
    .await
    .map_err(|_| "no answer within 500 ms".to_string())?
    .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&reply.payload);
    if text.contains("account_info_response") && !text.contains("\"error\"") {
        Ok(())
    } else {
        Err(text.into_owned())
    }
}

/// Connects to `s` as the application user, retrying until it accepts
/// connections and its JetStream answers.
async fn connect(s: &mut Server) -> anyhow::Result<async_nats::Client> {
    let start = Instant::now();
    let mut last;
    loop {
        if let Some(status) = s.child.try_wait()? {
            anyhow::bail!(
                "nats-server {} exited ({status}):\n{}",
                s.name,
                s.log_tail()
            );
        }
        let attempt = async_nats::ConnectOptions::with_user_and_password(
            USER.to_string(),
            PASSWORD.to_string(),
        )
        .connect(s.url())
        .await;
        match attempt {
            Ok(client) => match js_answers(&client, "$JS.API").await {
                Ok(()) => return Ok(client),
                Err(e) => last = format!("JetStream: {e}"),
            },
            Err(e) => last = format!("connect: {e}"),
        }
        anyhow::ensure!(
            start.elapsed() < READY_TIMEOUT,
            "nats-server {} not ready within {READY_TIMEOUT:?} ({last}):\n{}",
            s.name,
            s.log_tail()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `domain`'s JetStream answers through `client`'s server (i.e.
/// the leaf link carrying it is up and its interest has propagated).
async fn reach_domain(client: &async_nats::Client, domain: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while let Err(e) = js_answers(client, &format!("$JS.{domain}.API")).await {
        anyhow::ensure!(
            start.elapsed() < READY_TIMEOUT,
            "JetStream domain {domain} not reachable over the leaf link within {READY_TIMEOUT:?}: {e}"
        );
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

async fn messages(s: &mut stream::Stream) -> anyhow::Result<u64> {
    Ok(s.info().await?.state.messages)
}

/// Polls `s` until it holds `n` messages.
async fn wait_for_count(s: &mut stream::Stream, n: u64, timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let have = messages(s).await?;
        if have >= n {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < timeout,
            "the stream held {have} of {n} messages after {timeout:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Figures of one end-to-end run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Events per second from the first publish until the province's stream holds them all.
    pub end_to_end: f64,
    /// Events per second from the first publish until the commune acked the last.
    pub acked: f64,
}

/// One run on fresh servers and stores: `publishers` tasks publish `events`
/// (with `ids`, the event ids in hex, as `Nats-Msg-Id`) at the commune with
/// at most `window` acks outstanding in all, and the arrival of all of them
/// in the province's stream is timed.
pub async fn end_to_end(
    bin: &Path,
    events: &[Bytes],
    ids: &[String],
    window: usize,
    publishers: usize,
    sync_always: bool,
) -> anyhow::Result<Run> {
    anyhow::ensure!(events.len() == ids.len(), "one id per event");
    let dir = tempfile::tempdir()?;
    let ports = free_ports(5)?;
    let store = |name: &str| dir.path().join("store").join(name);
    let (ps, ds, cs) = (store("province"), store("district"), store("commune"));
    let tiers = [
        Tier {
            name: "province",
            port: ports[0],
            leaf_listen: Some(ports[1]),
            parent_leaf: None,
            store: &ps,
            sync_always,
        },
        Tier {
            name: "district",
            port: ports[2],
            leaf_listen: Some(ports[3]),
            parent_leaf: Some(ports[1]),
            store: &ds,
            sync_always,
        },
        Tier {
            name: "commune",
            port: ports[4],
            leaf_listen: None,
            parent_leaf: Some(ports[3]),
            store: &cs,
            sync_always,
        },
    ];
    // Top down, each ready before its leaf connects to it.
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    for t in &tiers {
        let mut s = spawn(bin, dir.path(), t)?;
        clients.push(connect(&mut s).await?);
        servers.push(s);
    }
    let (province, district, commune) = (&clients[0], &clients[1], &clients[2]);
    reach_domain(district, "commune").await?;
    reach_domain(province, "district").await?;

    let file = |name: &str, sources: Option<(&str, &str)>| stream::Config {
        name: name.to_string(),
        subjects: if sources.is_none() {
            vec![SUBJECT.to_string()]
        } else {
            Vec::new()
        },
        storage: stream::StorageType::File,
        sources: sources.map(|(from, domain)| {
            vec![stream::Source {
                name: from.to_string(),
                domain: Some(domain.to_string()),
                ..stream::Source::default()
            }]
        }),
        ..stream::Config::default()
    };
    let js_c = ContextBuilder::new()
        .timeout(Duration::from_secs(30))
        .max_ack_inflight(window.max(1))
        .backpressure_on_inflight(true)
        .build(commune.clone());
    let mut commune_stream = js_c.create_stream(file(COMMUNE_STREAM, None)).await?;
    jetstream::new(district.clone())
        .create_stream(file(DISTRICT_STREAM, Some((COMMUNE_STREAM, "commune"))))
        .await?;
    let mut province_stream = jetstream::new(province.clone())
        .create_stream(file(PROVINCE_STREAM, Some((DISTRICT_STREAM, "district"))))
        .await?;

    // Warm-up: one message through the whole chain, so the source consumers
    // exist before the clock starts.
    js_c.send_publish(
        SUBJECT,
        jetstream::message::PublishMessage::build()
            .payload(Bytes::from_static(b"warm-up"))
            .message_id("warm-up"),
    )
    .await?
    .await?;
    wait_for_count(&mut province_stream, 1, READY_TIMEOUT)
        .await
        .context("warm-up message did not reach the province")?;

    let n = events.len() as u64;
    let publishers = publishers.clamp(1, events.len().max(1));
    let per = events.len().div_ceil(publishers);
    let work: Vec<Vec<(Bytes, String)>> = events
        .iter()
        .cloned()
        .zip(ids.iter().cloned())
        .collect::<Vec<_>>()
        .chunks(per.max(1))
        .map(<[_]>::to_vec)
        .collect();
    let share = (window / publishers).max(1);
    let start = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|chunk| tokio::spawn(publish_all(js_c.clone(), chunk, share)))
        .collect();
    for t in tasks {
        t.await??;
    }
    let acked = start.elapsed();
    wait_for_count(&mut province_stream, n + 1, Duration::from_secs(600)).await?;
    let all = start.elapsed();
    let at_commune = messages(&mut commune_stream).await?;
    let at_province = messages(&mut province_stream).await?;
    anyhow::ensure!(
        at_commune == n + 1 && at_province == n + 1,
        "expected {} messages in every stream, commune holds {at_commune}, province {at_province}",
        n + 1
    );
    drop(clients);
    drop(servers);
    Ok(Run {
        end_to_end: n as f64 / all.as_secs_f64(),
        acked: n as f64 / acked.as_secs_f64(),
    })
}

/// Publishes `events` with their dedup ids, at most `window` acks outstanding,
/// and checks every ack.
async fn publish_all(
    js: jetstream::Context,
    events: Vec<(Bytes, String)>,
    window: usize,
) -> anyhow::Result<()> {
    let mut pending = VecDeque::with_capacity(window);
    for (ev, id) in events {
        if pending.len() >= window
            && let Some(ack) = pending.pop_front()
        {
            check_ack(ack).await?;
        }
        let publish = jetstream::message::PublishMessage::build()
            .payload(ev)
            .message_id(id);
        pending.push_back(js.send_publish(SUBJECT, publish).await?);
    }
    for ack in pending {
        check_ack(ack).await?;
    }
    Ok(())
}

async fn check_ack(ack: jetstream::context::PublishAckFuture) -> anyhow::Result<()> {
    let ack = ack.await?;
    anyhow::ensure!(!ack.duplicate, "seq {} acked as a duplicate", ack.sequence);
    Ok(())
}
