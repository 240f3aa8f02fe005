//! The hub's one configuration, read from TOML once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sync178_node::config::{read_toml, resolve};
use sync178_shared::tls::TlsFiles;
use sync178_shared::unit::UnitId;

/// Configuration of one `sync178-hub`. Relative paths are relative to the
/// folder of the config file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Folder of the hub's own store (projection state and checkpoint).
    pub data_dir: PathBuf,
    /// Topology CSV in the GSO listing format (the same as the nodes').
    pub topology: PathBuf,
    /// Address of the gRPC `Query` service (mutual TLS, role `operator`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The node whose feed the hub follows (usually the province's).
    pub node: NodeLink,
    /// CA, certificate and key (the certificate must carry role `hub`).
    pub tls: TlsFiles,
    /// Days within which a tip-off must be closed to count as on time.
    #[serde(default = "default_deadline")]
    pub tipoff_deadline_days: u32,
    /// How often the state and its checkpoint are written, ms, at most: a
    /// snapshot also waits ten times as long as the last one took.
    #[serde(default = "default_snapshot")]
    pub snapshot_every_ms: u64,
    /// The operator web page (`[web]`); none without the section.
    #[serde(default)]
    pub web: Option<WebConfig>,
}

/// The operator web page: where it listens and how operators authenticate.
///
/// Bound to loopback by default, where it needs no authentication. Off
/// loopback the hub refuses to start unless `tls` or `tokens_file` is set,
/// and every request from a peer that is not loopback must authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address of the page (HTTP, or HTTPS with `tls`).
    #[serde(default = "default_web_listen")]
    pub listen: SocketAddr,
    /// HTTPS with the hub's own certificate and key; client certificates of
    /// the province CA with role `operator` are accepted as authentication.
    #[serde(default)]
    pub tls: bool,
    /// Per-operator tokens, stored hashed: lines `name:sha256-hex-of-token`
    /// (`#` starts a comment). Operators send `Authorization: Bearer <token>`
    /// or sign in on `/login`.
    #[serde(default)]
    pub tokens_file: Option<PathBuf>,
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            listen: default_web_listen(),
            tls: false,
            tokens_file: None,
        }
    }
}

fn default_web_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7380))
}

/// Where the followed node is.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeLink {
    /// gRPC endpoint, `https://…`.
    pub endpoint: String,
    /// The node's unit id (its certificate is checked against it).
    pub unit: UnitId,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7300))
}

fn default_deadline() -> u32 {
    20
}

fn default_snapshot() -> u64 {
    1000
}

/// A configuration that cannot be used (the node's: same file rules).
pub use sync178_node::config::ConfigError;

impl Config {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let (mut c, base): (Config, _) = read_toml(path)?;
        let tokens = c.web.as_mut().and_then(|w| w.tokens_file.as_mut());
        resolve(
            &base,
            [
                &mut c.data_dir,
                &mut c.topology,
                &mut c.tls.ca,
                &mut c.tls.cert,
                &mut c.tls.key,
            ]
            .into_iter()
            .chain(tokens),
        );
        let bad = |field, reason: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            reason: reason.into(),
        };
        sync178_node::config::check_endpoint(&c.node.endpoint)
            .map_err(|reason| bad("node.endpoint", &reason))?;
        if !(1..=365).contains(&c.tipoff_deadline_days) {
            return Err(bad("tipoff_deadline_days", "must be between 1 and 365"));
        }
        if !(10..=600_000).contains(&c.snapshot_every_ms) {
            return Err(bad("snapshot_every_ms", "must be between 10 and 600000"));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (tempfile::TempDir, Result<Config, ConfigError>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, text).expect("write");
        let c = Config::load(&path);
        (dir, c)
    }

    const GOOD: &str = r#"
data_dir = "data/hub"
topology = "/srv/topology.csv"
[node]
endpoint = "https://127.0.0.1:7100"
unit = "p33"
[tls]
ca = "certs/ca.pem"
cert = "certs/hub/hub.pem"
key = "certs/hub/hub.key"
[web]
listen = "127.0.0.1:7380"
tokens_file = "web-tokens.txt"
"#;

    #[test]
    fn relative_paths_are_relative_to_the_file_and_defaults_apply() {
        let (dir, c) = load(GOOD);
        let c = c.expect("loads");
        assert_eq!(c.data_dir, dir.path().join("data/hub"));
        assert_eq!(c.topology, PathBuf::from("/srv/topology.csv"));
        assert_eq!(c.tls.key, dir.path().join("certs/hub/hub.key"));
        let web = c.web.expect("web");
        assert_eq!(web.tokens_file, Some(dir.path().join("web-tokens.txt")));
        assert_eq!(c.tipoff_deadline_days, 20);
    }

    #[test]
    fn bad_files_name_the_field() {
        let (_d, c) = load(&GOOD.replace("data_dir", "data_folder"));
        let e = c.expect_err("unknown field").to_string();
        assert!(e.contains("data_folder"), "{e}");
        let (_d, c) = load(&GOOD.replace("https://", "http://"));
        let e = c.expect_err("plain http").to_string();
        assert!(e.contains("node.endpoint") && e.contains("https://"), "{e}");
        let (_d, c) = load(&GOOD.replace("https://127.0.0.1:7100", "https://"));
        let e = c.expect_err("no host").to_string();
        assert!(e.contains("node.endpoint") && e.contains("no host"), "{e}");
        let (_d, c) = load(&GOOD.replace("[tls]", "[tls]\npassword = \"x\""));
        let e = c.expect_err("unknown tls key").to_string();
        assert!(e.contains("password"), "{e}");
        let (_d, c) = load(&format!("tipoff_deadline_days = 0\n{GOOD}"));
        let e = c.expect_err("zero days").to_string();
        assert!(e.contains("tipoff_deadline_days"), "{e}");
    }
}
