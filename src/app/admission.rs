//! Which connections the REST server takes, so that one address cannot take them all.
//!
//! A connection is *unproven* until it presents a verified client certificate or makes a request
//! with a valid credential. Unproven connections are capped per address
//! (`max_connections_per_address`) and in all (`max_connections - reserved_connections`: the
//! rest is kept for connections that have authenticated). When a new connection finds no room,
//! it takes the place of the oldest connection that has sent nothing yet (an idle socket, the
//! cheapest thing to hold open); only when there is none is it refused. A connection that sends
//! nothing is closed after `first_byte_timeout` anyway (the listener's).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::api::access::ConnectionProof;
use crate::config::ServerLimits;

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds as many unauthenticated connections as it may.
    PerAddress,
    /// No room, and no idle connection to close for it.
    Full,
}

/// The counts behind the limits.
#[derive(Default)]
struct Counts {
    total: usize,
    unproven: usize,
    unproven_by_address: HashMap<IpAddr, usize>,
    /// Connections that have sent nothing yet (all unproven), oldest first (by admission
    /// number): the ones a newcomer may displace.
    idle: BTreeMap<u64, Idle>,
    next: u64,
}

struct Idle {
    ip: IpAddr,
    close: Arc<Notify>,
    displaced: Arc<AtomicBool>,
}

/// The limits and counts of one listener.
pub struct Admission {
    max: usize,
    max_unproven: usize,
    per_address: usize,
    counts: Mutex<Counts>,
}

impl Admission {
    pub fn new(limits: &ServerLimits) -> Arc<Self> {
        let max = limits.max_connections.max(1);
        Arc::new(Self {
            max,
            max_unproven: max.saturating_sub(limits.reserved_connections).max(1),
            per_address: limits.max_connections_per_address.max(1),
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a new connection from `ip` (unproven), or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refused> {
        let mut c = self.counts();
        if c.unproven_by_address.get(&ip).copied().unwrap_or(0) >= self.per_address {
            return Err(Refused::PerAddress);
        }
        if c.total >= self.max || c.unproven >= self.max_unproven {
            // Room is made by closing the oldest connection that has sent nothing yet; its
            // place is given back at once.
            let Some((_, idle)) = c.idle.pop_first() else {
                return Err(Refused::Full);
            };
            idle.displaced.store(true, Ordering::SeqCst);
            c.total -= 1;
            c.unproven -= 1;
            release_address(&mut c, idle.ip);
            idle.close.notify_one();
        }
        c.next += 1;
        let id = c.next;
        c.total += 1;
        c.unproven += 1;
        *c.unproven_by_address.entry(ip).or_default() += 1;
        let close = Arc::new(Notify::new());
        let displaced = Arc::new(AtomicBool::new(false));
        c.idle.insert(
            id,
            Idle {
                ip,
                close: close.clone(),
                displaced: displaced.clone(),
            },
        );
        Ok(Ticket(Arc::new(TicketInner {
            admission: self.clone(),
            id,
            ip,
            close,
            proven: AtomicBool::new(false),
            displaced,
        })))
    }

    /// Connections open, and of those unproven.
    #[cfg(test)]
    fn open(&self) -> (usize, usize) {
        let c = self.counts();
        (c.total, c.unproven)
    }
}

struct TicketInner {
    admission: Arc<Admission>,
    id: u64,
    ip: IpAddr,
    /// Notified when a newcomer takes this connection's place (it had sent nothing yet).
    close: Arc<Notify>,
    proven: AtomicBool,
    /// Its place was taken (its counts given back then).
    displaced: Arc<AtomicBool>,
}

/// One admitted connection's place; given back when dropped.
#[derive(Clone)]
pub struct Ticket(Arc<TicketInner>);

impl Ticket {
    /// The connection sent its first byte: it is no longer idle, and never displaced.
    pub fn arrived(&self) {
        let t = &self.0;
        t.admission.counts().idle.remove(&t.id);
    }

    /// Completes when a newcomer takes this idle connection's place (it is then to be closed).
    pub async fn displaced(&self) {
        self.0.close.notified().await;
    }

    /// The connection authenticated: it leaves the unproven counts.
    pub fn prove(&self) {
        let t = &self.0;
        let mut c = t.admission.counts();
        if t.displaced.load(Ordering::SeqCst) || t.proven.swap(true, Ordering::SeqCst) {
            return;
        }
        c.idle.remove(&t.id);
        c.unproven -= 1;
        release_address(&mut c, t.ip);
    }

    /// What the access guard is given, to prove the connection on a valid credential.
    pub fn proof(&self) -> ConnectionProof {
        let t = self.clone();
        ConnectionProof::new(move || t.prove())
    }
}

fn release_address(c: &mut Counts, ip: IpAddr) {
    if let Some(n) = c.unproven_by_address.get_mut(&ip) {
        *n -= 1;
        if *n == 0 {
            c.unproven_by_address.remove(&ip);
        }
    }
}

impl Drop for TicketInner {
    fn drop(&mut self) {
        let mut c = self.admission.counts();
        if self.displaced.load(Ordering::SeqCst) {
            return;
        }
        c.idle.remove(&self.id);
        c.total -= 1;
        if !self.proven.load(Ordering::SeqCst) {
            c.unproven -= 1;
            release_address(&mut c, self.ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(max: usize, reserved: usize, per_address: usize) -> ServerLimits {
        ServerLimits {
            max_connections: max,
            reserved_connections: reserved,
            max_connections_per_address: per_address,
            first_byte_timeout: Duration::from_secs(2),
            ..Default::default()
        }
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn one_address_cannot_take_every_place() {
        let a = Admission::new(&limits(10, 2, 3));
        let mine: Vec<_> = (0..3).map(|_| a.admit(ip(1)).unwrap()).collect();
        for t in &mine {
            t.arrived();
        }
        assert_eq!(a.admit(ip(1)).err(), Some(Refused::PerAddress));
        let other = a.admit(ip(2)).unwrap();
        // Proven, a connection no longer counts against its address.
        mine[0].prove();
        let again = a.admit(ip(1)).unwrap();
        assert_eq!(a.open(), (5, 4));
        drop((mine, other, again));
        assert_eq!(a.open(), (0, 0));
    }

    #[tokio::test]
    async fn a_newcomer_takes_the_place_of_the_oldest_idle_connection() {
        let a = Admission::new(&limits(4, 1, 10));
        // Three unproven is the most (one place kept): the first two idle, the third active.
        let first = a.admit(ip(1)).unwrap();
        let second = a.admit(ip(2)).unwrap();
        let busy = a.admit(ip(3)).unwrap();
        busy.arrived();
        let fourth = a.admit(ip(4)).unwrap();
        first.displaced().await; // told to close, and its place given
        assert_eq!(a.open(), (3, 3));
        drop(first);
        assert_eq!(
            a.open(),
            (3, 3),
            "a displaced connection gives nothing back twice"
        );
        second.arrived();
        fourth.arrived();
        // Nothing idle left: refused.
        assert_eq!(a.admit(ip(5)).err(), Some(Refused::Full));
        // A proven connection frees an unproven place, and the reserve holds it.
        busy.prove();
        let fifth = a.admit(ip(5)).unwrap();
        fifth.arrived();
        assert_eq!(a.open(), (4, 3));
        assert_eq!(a.admit(ip(6)).err(), Some(Refused::Full));
        drop((second, busy, fourth, fifth));
        assert_eq!(a.open(), (0, 0));
    }
}
