//! Process identity, a leaf below every layer: who holds an outbox claim or
//! the daemon's lease (host, PID and a random id), and whether such a holder
//! on this host is still running. The store persists holders; the sender and
//! the daemon decide what a dead one means.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A random id for one process (or one test holder): tells two holders apart
/// even when a PID is reused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceId(pub String);

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl InstanceId {
    /// A fresh random id (64 bits, hex). std's `RandomState` is seeded from
    /// the operating system's randomness, so no dependency is needed for an
    /// id that only has to differ between processes.
    pub fn random() -> InstanceId {
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        h.write_u128(nanos);
        InstanceId(format!("{:016x}", h.finish()))
    }
}

/// Who holds a claim or a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: InstanceId,
    pub host: String,
    pub pid: u32,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (PID {}, id {})", self.host, self.pid, self.id)
    }
}

/// What can be known about a holder from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// It runs on this host and its process is alive (or may be: a PID that
    /// was reused by another program also counts, which only means waiting
    /// for the lease or claim to expire).
    Alive,
    /// It ran on this host and its process is gone (or a zombie).
    Gone,
    /// Another host, or a system without `/proc`: only expiry tells.
    Unknown,
}

impl Holder {
    /// This process: one id for its whole life, so that every claim it makes
    /// and the lease it holds name the same holder.
    pub fn current() -> &'static Holder {
        static CURRENT: OnceLock<Holder> = OnceLock::new();
        CURRENT.get_or_init(|| Holder::new(this_host(), std::process::id()))
    }

    /// A holder with a fresh random id (tests build several in one process).
    pub fn new(host: String, pid: u32) -> Holder {
        Holder { id: InstanceId::random(), host, pid }
    }

    /// Whether this holder still runs, as far as this host can tell.
    pub fn presence(&self) -> Presence {
        let me = Holder::current();
        if self.host != me.host {
            return Presence::Unknown;
        }
        if self.pid == me.pid {
            // Our own PID with another id is an earlier process whose PID we
            // now have (a container restarted with the same PID 1): it is
            // gone. With our own id it is us.
            return if self.id == me.id { Presence::Alive } else { Presence::Gone };
        }
        process_presence(self.pid)
    }
}

/// Whether process `pid` on this host is alive, read from `/proc` (unsafe
/// code, and so `kill(pid, 0)`, is forbidden in this crate).
pub fn process_presence(pid: u32) -> Presence {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return Presence::Unknown;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself
        // contain ") ": take the last one.
        Ok(stat) => match stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()) {
            Some('Z' | 'X') => Presence::Gone,
            _ => Presence::Alive,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Presence::Gone,
        // Not allowed to look (hidepid): it may be alive.
        Err(_) => Presence::Unknown,
    }
}

/// This machine's name, as the kernel reports it (`/proc/sys/kernel/hostname`),
/// else `$HOSTNAME`, else a fixed word (then every holder looks remote and
/// only expiry counts).
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "okänd-värd".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn two_ids_differ() {
        assert_ne!(InstanceId::random(), InstanceId::random());
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_one_is_gone() {
        let me = Holder::current();
        assert_eq!(me.presence(), Presence::Alive);
        assert_eq!(process_presence(std::process::id()), Presence::Alive);
        let dead = Holder::new(this_host(), dead_pid());
        assert_eq!(dead.presence(), Presence::Gone);
    }

    #[test]
    fn a_zombie_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: a zombie until wait().
        let started = std::time::Instant::now();
        while process_presence(pid) == Presence::Alive && started.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(process_presence(pid), Presence::Gone);
        child.wait().unwrap();
    }

    #[test]
    fn our_pid_with_another_id_is_an_earlier_process_and_another_host_is_unknown() {
        let me = Holder::current();
        assert_eq!(Holder::new(me.host.clone(), me.pid).presence(), Presence::Gone);
        assert_eq!(Holder::new("en-annan-värd".into(), me.pid).presence(), Presence::Unknown);
    }
}
