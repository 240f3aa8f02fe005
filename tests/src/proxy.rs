//! A loopback TCP proxy that a test can cut, heal and point elsewhere, to
//! play a network partition or a restarted parent on a new port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A proxy listening on `127.0.0.1:0`.
#[derive(Debug, Clone)]
pub struct Proxy {
    addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    /// `true` while the link is up; every change closes live connections.
    up: Arc<watch::Sender<bool>>,
}

impl Proxy {
    /// Starts a proxy to `target`, running until `shutdown`.
    pub async fn start(
        target: SocketAddr,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (up, _) = watch::channel(true);
        let p = Proxy {
            addr,
            target: Arc::new(Mutex::new(target)),
            up: Arc::new(up),
        };
        let me = p.clone();
        let t = tasks.clone();
        tasks.spawn(async move {
            loop {
                let conn = tokio::select! {
                    c = listener.accept() => c,
                    _ = shutdown.cancelled() => return,
                };
                let Ok((client, _)) = conn else { continue };
                if !*me.up.borrow() {
                    drop(client);
                    continue;
                }
                let target = *me.target.lock().unwrap_or_else(|e| e.into_inner());
                let mut up = me.up.subscribe();
                let shutdown = shutdown.clone();
                t.spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = server.set_nodelay(true);
                    let _ = client.set_nodelay(true);
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = up.changed() => {}
                        _ = shutdown.cancelled() => {}
                    }
                });
            }
        });
        Ok(p)
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every live connection and refuses new ones.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// Accepts connections again.
    pub fn heal(&self) {
        self.up.send_replace(true);
    }

    /// Sends new connections to `target` and drops the live ones.
    pub fn retarget(&self, target: SocketAddr) {
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = target;
        let up = *self.up.borrow();
        self.up.send_replace(up);
    }
}
