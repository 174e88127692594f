//! A read rate limit: a token bucket that lets a reader send at most so many
//! commands a second, with bursts of up to one second's worth. Clones share
//! the bucket (several connections to one side).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The tokens left, and when they were counted.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Commands per second, as a token bucket; unlimited without a rate.
#[derive(Clone, Debug)]
pub(crate) struct Rate {
    per_sec: Option<f64>,
    bucket: Arc<Mutex<Bucket>>,
}

impl Rate {
    /// At most `qps` commands a second (`None`: no limit).
    pub(crate) fn new(qps: Option<u64>) -> Rate {
        let per_sec = qps.map(|q| q.max(1) as f64);
        Rate {
            per_sec,
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: per_sec.unwrap_or(0.0),
                last: Instant::now(),
            })),
        }
    }

    /// Takes `n` tokens, waiting until they have accrued. A batch larger than the
    /// bucket goes into debt, paid by the wait.
    pub(crate) async fn take(&self, n: usize) {
        let Some(rate) = self.per_sec else { return };
        let debt = {
            let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let accrued = now.duration_since(b.last).as_secs_f64() * rate;
            b.tokens = (b.tokens + accrued).min(rate) - n as f64;
            b.last = now;
            -b.tokens
        };
        if debt > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(debt / rate)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_tokens_it_lacks() {
        let rate = Rate::new(Some(1000));
        let start = Instant::now();
        rate.take(1000).await;
        rate.take(200).await;
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "a fifth of a second's debt"
        );
        let free = Rate::new(None);
        let start = Instant::now();
        free.take(1_000_000).await;
        assert!(start.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn clones_share_the_bucket() {
        let rate = Rate::new(Some(1000));
        let other = rate.clone();
        let start = Instant::now();
        rate.take(1000).await;
        other.take(200).await;
        assert!(start.elapsed() >= Duration::from_millis(190));
    }
}
