//! The node's one configuration, read from TOML once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync178_shared::tls::TlsFiles;
use sync178_shared::unit::UnitId;

/// Configuration of one `sync178-node`. Relative paths are relative to the
/// folder of the config file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This node's unit id (`c00292`, `d008`, `p01`).
    pub unit: UnitId,
    /// Topology CSV in the GSO listing format.
    pub topology: PathBuf,
    /// Folder of the event log.
    pub data_dir: PathBuf,
    /// Address to listen on for recorders, children, hubs and operators.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The parent to sync to; absent at the root of the tree.
    #[serde(default)]
    pub parent: Option<ParentConfig>,
    /// CA, certificate and key (the certificate must carry role `node` and this unit).
    pub tls: TlsFiles,
    /// Size and concurrency limits.
    #[serde(default)]
    pub limits: Limits,
    /// Reconnection behaviour of the uplink.
    #[serde(default)]
    pub uplink: UplinkConfig,
    /// The officers' data-entry page; absent, the node serves none.
    #[serde(default)]
    pub entry: Option<EntryConfig>,
}

/// The data-entry web page (`[entry]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EntryConfig {
    /// Address of the page; loopback only (the officer's own PC) until
    /// officers sign in to it.
    #[serde(default = "default_entry_listen")]
    pub listen: SocketAddr,
}

/// The page's default address: this PC only.
pub fn default_entry_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7180))
}

/// Where the parent is.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParentConfig {
    /// gRPC endpoint, e.g. `https://10.0.0.5:7100`.
    pub endpoint: String,
    /// The parent's unit id; defaults to this unit's parent in the topology.
    #[serde(default)]
    pub unit: Option<UnitId>,
}

/// Limits on what the node accepts and sends.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest gRPC message accepted or sent, bytes.
    pub max_message_bytes: usize,
    /// Most events in one submit or push batch.
    pub max_batch_events: usize,
    /// Most bytes of events in one push batch the uplink builds.
    pub max_batch_bytes: usize,
    /// Push batches in flight on the uplink before waiting for acks.
    pub max_inflight_batches: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            max_batch_events: 1000,
            max_batch_bytes: 1 << 20,
            max_inflight_batches: 8,
        }
    }
}

/// Reconnection behaviour of the uplink.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UplinkConfig {
    /// First reconnect delay, ms.
    pub backoff_min_ms: u64,
    /// Longest reconnect delay, ms.
    pub backoff_max_ms: u64,
    /// Seconds before an origin stalled by a refusal is offered again.
    pub stall_retry_secs: u64,
    /// Connect timeout, ms.
    pub connect_timeout_ms: u64,
    /// Lets a node on a new, empty store record before its parent has been
    /// reached once. Only for a unit that has never recorded anywhere: on a
    /// reinstalled PC it forks the unit's chain (the link then stalls and
    /// says so). Off by default: a new store records once the parent has
    /// said what it holds of the unit's chain.
    pub record_before_first_contact: bool,
}

impl Default for UplinkConfig {
    fn default() -> Self {
        UplinkConfig {
            backoff_min_ms: 200,
            backoff_max_ms: 30_000,
            stall_retry_secs: 60,
            connect_timeout_ms: 5_000,
            record_before_first_contact: false,
        }
    }
}

impl UplinkConfig {
    /// First reconnect delay.
    pub fn backoff_min(&self) -> Duration {
        Duration::from_millis(self.backoff_min_ms)
    }

    /// Longest reconnect delay.
    pub fn backoff_max(&self) -> Duration {
        Duration::from_millis(self.backoff_max_ms)
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7000))
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or missing fields.
    #[error("config {path}: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// What toml said (names the field and line).
        message: String,
    },
    /// A value is out of range.
    #[error("config {path}: {field}: {reason}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// Reads the TOML config at `path` (unknown or missing fields are errors
/// that name the field and line); returns it with the folder its relative
/// paths are relative to. Shared by the node's and the hub's configs.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(T, PathBuf), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // The path of the section at fault (`tls`, `parent`) leads the message.
    let c = serde_path_to_error::deserialize(toml::Deserializer::new(&text)).map_err(|e| {
        let at = e.path().to_string();
        let said = e.inner().to_string().trim().replace('\n', " ");
        ConfigError::Parse {
            path: path.to_path_buf(),
            message: if at.is_empty() || at == "." {
                said
            } else {
                format!("{at}: {said}")
            },
        }
    })?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    Ok((c, base))
}

/// Makes each relative path of `paths` relative to `base`.
pub fn resolve<'a>(base: &Path, paths: impl IntoIterator<Item = &'a mut PathBuf>) {
    for p in paths {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
}

/// Checks that `endpoint` is an `https://` URL with a host (and a port or
/// not), nothing after it: a gRPC link's address. Says why not.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    const EXAMPLE: &str = "e.g. https://10.0.0.5:7100";
    if !endpoint.starts_with("https://") {
        return Err(format!(
            "{endpoint:?} must be an https:// URL (links are always mutual TLS), {EXAMPLE}"
        ));
    }
    let rest = &endpoint["https://".len()..];
    if rest.is_empty() || rest.starts_with([':', '/', '?', '#', '@']) {
        return Err(format!("{endpoint:?} names no host, {EXAMPLE}"));
    }
    let uri: tonic::transport::Uri = endpoint
        .parse()
        .map_err(|e| format!("{endpoint:?} is not a URL ({e}), {EXAMPLE}"))?;
    let authority = uri.authority().map_or("", |a| a.as_str());
    let after_host = authority.rsplit_once(']').map_or(authority, |(_, r)| r);
    if let Some((_, port)) = after_host.rsplit_once(':')
        && port.parse::<u16>().is_err()
    {
        return Err(format!(
            "{endpoint:?} has a port that is not a number from 0 to 65535, {EXAMPLE}"
        ));
    }
    let host = uri.host().unwrap_or_default();
    if host.is_empty() || host == "[]" {
        return Err(format!("{endpoint:?} names no host, {EXAMPLE}"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(format!(
            "{endpoint:?} carries a user name; give only the host and port, {EXAMPLE}"
        ));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(format!(
            "{endpoint:?} has a path or query; give only the host and port, {EXAMPLE}"
        ));
    }
    Ok(())
}

impl Config {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let (mut c, base): (Config, _) = read_toml(path)?;
        c.resolve_paths(&base);
        c.check(path)?;
        Ok(c)
    }

    /// Makes relative paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        resolve(
            base,
            [
                &mut self.topology,
                &mut self.data_dir,
                &mut self.tls.ca,
                &mut self.tls.cert,
                &mut self.tls.key,
            ],
        );
    }

    /// Checks ranges.
    pub fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |field, reason: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            reason: reason.into(),
        };
        let l = &self.limits;
        if !(64 * 1024..=64 << 20).contains(&l.max_message_bytes) {
            return Err(bad(
                "limits.max_message_bytes",
                "must be between 65536 and 67108864",
            ));
        }
        if !(1..=10_000).contains(&l.max_batch_events) {
            return Err(bad(
                "limits.max_batch_events",
                "must be between 1 and 10000",
            ));
        }
        if l.max_batch_bytes == 0 || l.max_batch_bytes + (64 << 10) > l.max_message_bytes {
            return Err(bad(
                "limits.max_batch_bytes",
                "must be positive and at least 64 KiB below limits.max_message_bytes",
            ));
        }
        if !(1..=64).contains(&l.max_inflight_batches) {
            return Err(bad(
                "limits.max_inflight_batches",
                "must be between 1 and 64",
            ));
        }
        let u = &self.uplink;
        if u.backoff_min_ms == 0 || u.backoff_min_ms > u.backoff_max_ms {
            return Err(bad(
                "uplink.backoff_min_ms",
                "must be positive and at most backoff_max_ms",
            ));
        }
        if let Some(p) = &self.parent {
            check_endpoint(&p.endpoint).map_err(|reason| bad("parent.endpoint", &reason))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("node.toml");
        std::fs::write(&p, text).expect("writes");
        Config::load(&p)
    }

    const GOOD: &str = r#"
unit = "c00292"
topology = "topology.csv"
data_dir = "data"
listen = "127.0.0.1:7101"
[parent]
endpoint = "https://127.0.0.1:7100"
[tls]
ca = "certs/ca.pem"
cert = "certs/c00292/node.pem"
key = "certs/c00292/node.key"
"#;

    #[test]
    fn a_good_config_loads_with_defaults_and_resolved_paths() {
        let c = load(GOOD).expect("loads");
        assert_eq!(c.unit.to_string(), "c00292");
        assert!(c.topology.is_absolute() && c.topology.ends_with("topology.csv"));
        assert_eq!(c.limits.max_message_bytes, 4 << 20);
        assert_eq!(c.parent.expect("parent").unit, None);
    }

    #[test]
    fn bad_configs_name_the_field() {
        let cases = [
            (GOOD.replace("c00292\"\ntopology", "x1\"\ntopology"), "unit"),
            (
                GOOD.replace("data_dir", "datadir"),
                "unknown field `datadir`",
            ),
            (
                format!("{GOOD}\n[limits]\nmax_batch_events = 0\n"),
                "limits.max_batch_events",
            ),
            (
                GOOD.replace("https://127.0.0.1:7100", "http://127.0.0.1:7100"),
                "parent.endpoint",
            ),
            (
                GOOD.replace("listen = \"127.0.0.1:7101\"", "listen = \"nowhere\""),
                "listen",
            ),
            (
                GOOD.replace("https://127.0.0.1:7100", "https://"),
                "parent.endpoint",
            ),
            (format!("{GOOD}extra = 1\n"), "unknown field `extra`"),
        ];
        for (text, expect) in cases {
            let err = load(&text).expect_err("refused").to_string();
            assert!(err.contains(expect), "{err} should mention {expect}");
        }
        let err = Config::load(Path::new("/nonexistent/node.toml")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/node.toml"));
    }

    #[test]
    fn endpoints_need_a_host() {
        for good in [
            "https://127.0.0.1:7100",
            "https://node.p33.example:7000/",
            "https://[::1]:7000",
        ] {
            assert_eq!(check_endpoint(good), Ok(()), "{good}");
        }
        for bad in [
            "https://",
            "https://:7000",
            "http://127.0.0.1:7100",
            "https://127.0.0.1:7100/sync",
            "https://a@127.0.0.1:7100",
            "https://127.0.0.1:7100?x=1",
            "https://127.0.0.1:notaport",
            "",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad} accepted");
        }
    }
}
