//! Choosing free loopback ports.
//!
//! Tests run in parallel threads and processes, so a port found free may be taken
//! before the server binds it. The kit therefore picks a random candidate, checks it
//! (and its cluster bus port, +10000) can be bound, and the server start retries with
//! a new port when the server reports the address in use.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Lowest candidate port; below the kernel's ephemeral range (32768+) so outgoing
/// connections rarely occupy it.
const LOW: u16 = 20_000;
/// One past the highest candidate: keeps `port + 10000` (the cluster bus) <= 42000.
const HIGH: u16 = 32_000;

/// Returns a port on 127.0.0.1 that is free now; with `bus`, port + 10000 is free too.
pub(crate) fn free_port(bus: bool) -> u16 {
    for _ in 0..10_000 {
        let port = LOW + (next_random() % u64::from(HIGH - LOW)) as u16;
        if bindable(port) && (!bus || bindable(port + 10_000)) {
            return port;
        }
    }
    panic!("no free loopback port found between {LOW} and {HIGH}");
}

fn bindable(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// A splitmix64 sequence over a per-process seed (clock and process id), so parallel
/// threads never draw the same value and parallel processes draw different sequences.
fn next_random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (u64::from(std::process::id()) << 40);
    let mut z = seed.wrapping_add(
        COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
