//! Exit codes of every sync178 command and daemon, one table (BSD sysexits), so that a systemd unit's `RestartPreventExitStatus=` and an operator's script read the same numbers from each binary; and errors written on one line for a log or a terminal.

/// Done.
pub const SUCCESS: u8 = 0;
/// The daemon or command failed, or stopped badly.
pub const FAILURE: u8 = 1;
/// Bad command-line settings or configuration: endpoint, certificate files, listen address (`EX_USAGE`).
pub const USAGE: u8 = 64;
/// Bad input data (`EX_DATAERR`).
pub const DATAERR: u8 = 65;
/// An unreadable input file (`EX_NOINPUT`).
pub const NOINPUT: u8 = 66;
/// A node that cannot be reached or failed, a port that cannot be bound, a store that refuses writes (`EX_UNAVAILABLE`).
pub const UNAVAILABLE: u8 = 69;
/// A call refused for lack of permission (`EX_NOPERM`).
pub const NOPERM: u8 = 77;

/// An error with its sources, on one line: `outer: cause: root cause`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open store")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_joins_every_source() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&e), "cannot open store: disk full");
        assert_eq!(error_chain(&std::io::Error::other("alone")), "alone");
    }
}
