//! A loopback TCP proxy between phones and the server that behaves like a bad mobile link: one-way latency,
//! a bandwidth cap (2G-like: ~30 kB/s, 300 ms), connections cut at chosen byte offsets in either direction,
//! and "no signal" (every connection dropped, the port closed). It counts the bytes it carried, the cuts it made
//! in each direction, and, per connection, whose turn it is: whether the server holds a whole request it has
//! not begun to answer (what the kill tests check at the moment of a kill).
//!
//! Each direction of a connection is two threads: a reader that timestamps chunks and a writer that delivers
//! them `latency` later at no more than the rate. A cut forwards exactly the planned number of bytes of its
//! direction, then closes both sides.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::Error;

/// How the link behaves (both directions alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// One-way delay of every chunk.
    pub latency: Duration,
    /// Bytes per second in each direction; `None` = as fast as loopback.
    pub bytes_per_second: Option<u64>,
}

impl Link {
    /// A 2G (EDGE) link as phones in the field see it: ~30 kB/s, 300 ms one way.
    pub fn edge() -> Link {
        Link {
            latency: Duration::from_millis(300),
            bytes_per_second: Some(30_000),
        }
    }
}

/// Where a connection breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// After this many bytes from the phone (the request breaks on its way).
    Up(u64),
    /// After this many bytes from the server (the answer breaks on its way back).
    Down(u64),
    /// Not a cut: the byte at this offset from the phone arrives with its lowest bit flipped (damage in transit
    /// that TCP's checksum missed; over TLS the record check catches it and the connection fails instead).
    FlipUp(u64),
}

/// What the proxy carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxyStats {
    pub connections: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Connections actually cut (a planned cut beyond the end of a connection never happens).
    pub cuts: u64,
    /// Of those, cut on the way up (the request broke) and on the way down (the answer broke).
    pub cuts_up: u64,
    pub cuts_down: u64,
    /// Bytes flipped on the way up (`Cut::FlipUp`).
    pub flips: u64,
}

/// One connection as the proxy saw it, by its number (connections are numbered from 0 in the order accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionStats {
    /// Bytes read from the phone, and of those, delivered to the server.
    pub from_phone: u64,
    pub to_server: u64,
    /// Bytes read from the server.
    pub from_server: u64,
    /// Bytes delivered to the server since the server last sent anything on this connection: the phone's turn,
    /// not answered yet. With HTTP/1.1 (one request at a time), plain or inside TLS, a whole request the server
    /// has not begun to answer.
    pub unanswered: u64,
    /// The phone opened with a TLS record (a handshake): its first turn is the `ClientHello`, not a request.
    pub tls: bool,
    /// The server's side ended: closed, reset, or the server died.
    pub server_closed: bool,
}

impl ConnectionStats {
    /// The server holds a whole request of at least `min_request` bytes and has sent nothing since: every byte
    /// the phone sent was delivered, and over TLS the handshake was already answered.
    pub fn server_holds_request(&self, min_request: u64) -> bool {
        self.from_phone == self.to_server
            && self.unanswered >= min_request
            && (!self.tls || self.from_server > 0)
            && !self.server_closed
    }
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    link: Mutex<Link>,
    plan: Mutex<VecDeque<Option<Cut>>>,
    offline: AtomicBool,
    stop: AtomicBool,
    connections: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    cuts: AtomicU64,
    cuts_up: AtomicU64,
    cuts_down: AtomicU64,
    flips: AtomicU64,
    /// Every connection's counts, by number (kept after it closes, for the checks after a kill).
    turns: Mutex<HashMap<u64, ConnectionStats>>,
    /// Open connections by number, so "offline" can drop them.
    open: Mutex<HashMap<u64, [TcpStream; 2]>>,
}

/// The running proxy; stops accepting when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The accept loop while the proxy listens (not while "offline": then the port is closed).
    listening: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Result<Proxy, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            link: Mutex::new(Link::default()),
            plan: Mutex::new(VecDeque::new()),
            offline: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            cuts_up: AtomicU64::new(0),
            cuts_down: AtomicU64::new(0),
            flips: AtomicU64::new(0),
            turns: Mutex::new(HashMap::new()),
            open: Mutex::new(HashMap::new()),
        });
        let proxy = Proxy {
            addr,
            shared,
            listening: Mutex::new(None),
        };
        proxy.listen(listener);
        Ok(proxy)
    }

    fn listen(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        let thread = std::thread::spawn(move || accept_loop(&listener, &shared));
        *lock(&self.listening) = Some(thread);
    }

    /// Closes the port: the accept loop sees the flag on the connection that wakes it and drops the listener.
    fn stop_listening(&self) {
        if let Some(thread) = lock(&self.listening).take() {
            let _ = TcpStream::connect(self.addr);
            let _ = thread.join();
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points the proxy at another server (a restarted one); phones keep their address.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *lock(&self.shared.upstream) = upstream;
    }

    pub fn set_link(&self, link: Link) {
        *lock(&self.shared.link) = link;
    }

    /// Plans how the next connections break, in order (`None` = that connection is left alone). Open
    /// connections are closed first, so the phone's next request opens a new one (and meets the plan) rather
    /// than reusing a kept-alive one.
    pub fn plan_cuts(&self, cuts: impl IntoIterator<Item = Option<Cut>>) {
        lock(&self.shared.plan).extend(cuts);
        self.drop_connections();
    }

    fn drop_connections(&self) {
        for (_, streams) in lock(&self.shared.open).drain() {
            for stream in streams {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Forgets planned cuts not used yet.
    pub fn clear_plan(&self) {
        lock(&self.shared.plan).clear();
    }

    /// No signal: open connections drop and the port closes, so phones cannot connect at all. `false` brings
    /// the link back on the same port.
    pub fn set_offline(&self, offline: bool) -> Result<(), Error> {
        self.shared.offline.store(offline, Ordering::SeqCst);
        if !offline {
            if lock(&self.listening).is_none() {
                self.listen(TcpListener::bind(self.addr)?);
            }
            return Ok(());
        }
        self.stop_listening();
        self.drop_connections();
        Ok(())
    }

    pub fn stats(&self) -> ProxyStats {
        let s = &self.shared;
        ProxyStats {
            connections: s.connections.load(Ordering::SeqCst),
            bytes_up: s.bytes_up.load(Ordering::SeqCst),
            bytes_down: s.bytes_down.load(Ordering::SeqCst),
            cuts: s.cuts.load(Ordering::SeqCst),
            cuts_up: s.cuts_up.load(Ordering::SeqCst),
            cuts_down: s.cuts_down.load(Ordering::SeqCst),
            flips: s.flips.load(Ordering::SeqCst),
        }
    }

    /// Connection `id` as it stands now.
    pub fn connection(&self, id: u64) -> Option<ConnectionStats> {
        lock(&self.shared.turns).get(&id).copied()
    }

    /// Every connection numbered `first` or later (`stats().connections` before a phone starts: its own).
    pub fn connections_from(&self, first: u64) -> Vec<(u64, ConnectionStats)> {
        let mut all: Vec<_> = lock(&self.shared.turns)
            .iter()
            .filter(|(id, _)| **id >= first)
            .map(|(id, c)| (*id, *c))
            .collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all
    }

    /// The connections on which the server now holds a whole request of at least `min_request` bytes that it
    /// has not begun to answer ([`ConnectionStats::server_holds_request`]).
    pub fn held_by_server(&self, min_request: u64) -> Vec<(u64, ConnectionStats)> {
        self.connections_from(0)
            .into_iter()
            .filter(|(_, c)| c.server_holds_request(min_request))
            .collect()
    }

    /// Waits until the server's side of connection `id` has ended (as after the server was killed), at most
    /// `timeout`; the connection as it ended, or `None` if it did not end in time.
    pub fn wait_server_closed(&self, id: u64, timeout: Duration) -> Option<ConnectionStats> {
        let since = Instant::now();
        loop {
            let connection = self.connection(id)?;
            if connection.server_closed {
                return Some(connection);
            }
            if since.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.set_offline(true);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for phone in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(phone) = phone else { continue };
        if shared.offline.load(Ordering::SeqCst) {
            // Woken to close the port.
            let _ = phone.shutdown(Shutdown::Both);
            return;
        }
        let id = shared.connections.fetch_add(1, Ordering::SeqCst);
        let upstream = *lock(&shared.upstream);
        let Ok(server) = TcpStream::connect(upstream) else {
            // The server is down: the phone sees its connection closed.
            let _ = phone.shutdown(Shutdown::Both);
            continue;
        };
        lock(&shared.turns).insert(id, ConnectionStats::default());
        let cut = lock(&shared.plan).pop_front().flatten();
        let link = *lock(&shared.link);
        let _ = phone.set_nodelay(true);
        let _ = server.set_nodelay(true);
        if let (Ok(a), Ok(b)) = (phone.try_clone(), server.try_clone()) {
            lock(&shared.open).insert(id, [a, b]);
        }
        let (Ok(phone2), Ok(server2)) = (phone.try_clone(), server.try_clone()) else {
            continue;
        };
        let limit_up = match cut {
            Some(Cut::Up(n)) => Some(n),
            _ => None,
        };
        let limit_down = match cut {
            Some(Cut::Down(n)) => Some(n),
            _ => None,
        };
        let flip_up = match cut {
            Some(Cut::FlipUp(n)) => Some(n),
            _ => None,
        };
        let up = Direction {
            from: phone,
            to: server,
            link,
            limit: limit_up,
            flip: flip_up,
            shared: shared.clone(),
            upward: true,
            id,
        };
        let down = Direction {
            from: server2,
            to: phone2,
            link,
            limit: limit_down,
            flip: None,
            shared: shared.clone(),
            upward: false,
            id,
        };
        up.spawn();
        down.spawn();
    }
}

struct Direction {
    from: TcpStream,
    to: TcpStream,
    link: Link,
    /// Bytes to forward before cutting the connection.
    limit: Option<u64>,
    /// The offset of a byte to deliver damaged.
    flip: Option<u64>,
    shared: Arc<Shared>,
    upward: bool,
    /// The connection's number in `Shared::open`.
    id: u64,
}

/// A chunk read at `at`, or the end of the stream.
enum Chunk {
    Data(Instant, Vec<u8>),
    End,
}

impl Direction {
    fn spawn(self) {
        let (tx, rx) = channel();
        let Ok(from) = self.from.try_clone() else {
            return;
        };
        let (shared, id, upward) = (self.shared.clone(), self.id, self.upward);
        std::thread::spawn(move || read_side(from, &tx, &shared, id, upward));
        std::thread::spawn(move || self.write_side(&rx));
    }

    fn write_side(mut self, chunks: &Receiver<Chunk>) {
        let mut sent: u64 = 0;
        let counter = if self.upward {
            &self.shared.bytes_up
        } else {
            &self.shared.bytes_down
        };
        while let Ok(Chunk::Data(at, mut bytes)) = chunks.recv() {
            let due = at + self.link.latency;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if let Some(at) = self.flip
                && at >= sent
                && let Some(byte) = bytes.get_mut(usize::try_from(at - sent).unwrap_or(usize::MAX))
            {
                *byte ^= 0x01;
                self.flip = None;
                self.shared.flips.fetch_add(1, Ordering::SeqCst);
            }
            let mut cut_here = false;
            if let Some(limit) = self.limit {
                let room = limit.saturating_sub(sent);
                if (bytes.len() as u64) >= room {
                    bytes.truncate(usize::try_from(room).unwrap_or(usize::MAX));
                    cut_here = true;
                }
            }
            // At most ~50 ms of data per write, so the rate holds at any chunk size.
            let step = self
                .link
                .bytes_per_second
                .map_or(bytes.len().max(1), |r| (r as usize / 20).max(1));
            for piece in bytes.chunks(step) {
                let started = Instant::now();
                if self.to.write_all(piece).is_err() {
                    return self.close();
                }
                sent += piece.len() as u64;
                if self.upward {
                    // Counted under the lock the readers take, so a turn is never seen half-updated.
                    if let Some(turn) = lock(&self.shared.turns).get_mut(&self.id) {
                        turn.to_server += piece.len() as u64;
                        turn.unanswered += piece.len() as u64;
                    }
                }
                counter.fetch_add(piece.len() as u64, Ordering::SeqCst);
                if let Some(rate) = self.link.bytes_per_second {
                    let budget = Duration::from_secs_f64(piece.len() as f64 / rate.max(1) as f64);
                    let spent = started.elapsed();
                    if budget > spent {
                        std::thread::sleep(budget - spent);
                    }
                }
            }
            if cut_here {
                self.shared.cuts.fetch_add(1, Ordering::SeqCst);
                let direction = if self.upward {
                    &self.shared.cuts_up
                } else {
                    &self.shared.cuts_down
                };
                direction.fetch_add(1, Ordering::SeqCst);
                return self.close();
            }
        }
        // The other side finished sending: pass the half-close on.
        let _ = self.to.shutdown(Shutdown::Write);
        if !self.upward {
            // The server is done with this connection: forget it (its sockets close with the threads).
            lock(&self.shared.open).remove(&self.id);
        }
    }

    fn close(&self) {
        let _ = self.to.shutdown(Shutdown::Both);
        let _ = self.from.shutdown(Shutdown::Both);
        lock(&self.shared.open).remove(&self.id);
    }
}

/// Reads one direction of connection `id` into `chunks`, counting what it read (from the phone when `upward`).
fn read_side(mut from: TcpStream, chunks: &Sender<Chunk>, shared: &Shared, id: u64, upward: bool) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => {
                if !upward && let Some(turn) = lock(&shared.turns).get_mut(&id) {
                    turn.server_closed = true;
                }
                let _ = chunks.send(Chunk::End);
                return;
            }
            Ok(n) => {
                let data = buffer.get(..n).unwrap_or_default().to_vec();
                if let Some(turn) = lock(&shared.turns).get_mut(&id) {
                    if upward {
                        turn.tls |= turn.from_phone == 0 && data.first() == Some(&0x16);
                        turn.from_phone += n as u64;
                    } else {
                        turn.from_server += n as u64;
                        turn.unanswered = 0;
                    }
                }
                if chunks.send(Chunk::Data(Instant::now(), data)).is_err() {
                    return;
                }
            }
        }
    }
}
