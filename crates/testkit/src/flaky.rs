//! A TCP link that cuts every connection through it after a random number
//! of bytes or a random time, mid-frame as often as not: a phone on a
//! train. Tests put it between real SDK clients and a real server to show
//! that cuts lose and duplicate nothing.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// When a connection is cut, in a storm.
#[derive(Debug, Clone)]
pub enum Cut {
    /// After this many bytes, both ways together since it was opened: the
    /// cut falls at a repeatable place in the stream, and a connection that
    /// must carry more than its budget before any answer comes back never
    /// gets one (which is why the SDK sends its outbox a window at a time).
    AfterBytes(RangeInclusive<usize>),
    /// After this many milliseconds since the storm began or it was
    /// opened, whichever is later: answers come back while a large upload
    /// is still going, as on a real link.
    AfterMillis(RangeInclusive<u64>),
}

pub struct FlakyLink {
    /// Where clients connect instead of the server.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

struct Shared {
    /// Whether connections are cut; every live connection watches it, so
    /// none keeps a budget after a calm or runs without one in a storm.
    cutting: watch::Sender<bool>,
    cuts: AtomicU64,
    connections: AtomicU64,
}

impl FlakyLink {
    /// Forwards to `target`, calm until [`FlakyLink::storm`]. In a storm
    /// each connection is cut as `cut` says, with a budget drawn from its
    /// range: both of its sockets are closed at once. `seed` makes the
    /// budgets repeatable.
    pub async fn start(target: SocketAddr, cut: Cut, seed: u64) -> std::io::Result<FlakyLink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cutting: watch::channel(false).0,
            cuts: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            while let Ok((client, _)) = listener.accept().await {
                accept_shared.connections.fetch_add(1, Ordering::Relaxed);
                let budget = match &cut {
                    Cut::AfterBytes(bytes) => Budget::Bytes(rng.random_range(bytes.clone())),
                    Cut::AfterMillis(ms) => {
                        Budget::Time(Duration::from_millis(rng.random_range(ms.clone())))
                    }
                };
                tokio::spawn(forward(client, target, budget, accept_shared.clone()));
            }
        });
        Ok(FlakyLink {
            addr,
            shared,
            accept,
        })
    }

    /// From now on connections are cut when they reach their budget
    /// (at once, those already past it).
    pub fn storm(&self) {
        self.shared.cutting.send_replace(true);
    }

    /// From now on connections carry any number of bytes.
    pub fn calm(&self) {
        self.shared.cutting.send_replace(false);
    }

    /// How many connections it has cut so far.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::Relaxed)
    }

    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FlakyLink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

#[derive(Clone, Copy)]
enum Budget {
    Bytes(usize),
    Time(Duration),
}

async fn forward(client: TcpStream, target: SocketAddr, budget: Budget, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let mut cutting = shared.cutting.subscribe();
    let mut carried = 0usize;
    // A time budget runs from the moment cutting starts, or from now.
    let mut cut_at: Option<tokio::time::Instant> = None;
    let (mut up, mut down) = (vec![0u8; 4096], vec![0u8; 4096]);
    loop {
        let storm = *cutting.borrow_and_update();
        let room = match (storm, budget) {
            (false, _) => {
                cut_at = None;
                usize::MAX
            }
            (true, Budget::Bytes(limit)) => limit.saturating_sub(carried),
            (true, Budget::Time(life)) => {
                let at = *cut_at.get_or_insert_with(|| tokio::time::Instant::now() + life);
                if tokio::time::Instant::now() >= at {
                    0
                } else {
                    usize::MAX
                }
            }
        };
        if room == 0 {
            shared.cuts.fetch_add(1, Ordering::Relaxed);
            return; // both halves of both sockets drop here
        }
        let take = room.min(up.len());
        let outcome = tokio::select! {
            read = client_read.read(&mut up[..take]) => match read {
                Ok(0) | Err(_) => Err(()),
                Ok(n) => server_write.write_all(&up[..n]).await.map(|()| n).map_err(|_| ()),
            },
            read = server_read.read(&mut down[..take]) => match read {
                Ok(0) | Err(_) => Err(()),
                Ok(n) => client_write.write_all(&down[..n]).await.map(|()| n).map_err(|_| ()),
            },
            // Wakes the loop to take up or drop the budget; carries nothing.
            changed = cutting.changed() => changed.map(|()| 0).map_err(|_| ()),
            // Wakes the loop to cut on time, even while nothing moves.
            () = tokio::time::sleep_until(cut_at.unwrap_or_else(tokio::time::Instant::now)),
                if cut_at.is_some() => Ok(0),
        };
        match outcome {
            Ok(n) => carried += n,
            Err(()) => return,
        }
    }
}
