//! A read rate limit: a token bucket that lets a reader send at most so many
//! commands a second, with bursts of up to one second's worth.

use std::time::Duration;

use tokio::time::Instant;

/// Commands per second, as a token bucket; unlimited without a rate.
#[derive(Debug)]
pub(crate) struct Rate {
    per_sec: Option<f64>,
    tokens: f64,
    last: Instant,
}

impl Rate {
    /// At most `qps` commands a second (`None`: no limit).
    pub(crate) fn new(qps: Option<u64>) -> Rate {
        let per_sec = qps.map(|q| q.max(1) as f64);
        Rate {
            per_sec,
            tokens: per_sec.unwrap_or(0.0),
            last: Instant::now(),
        }
    }

    /// Takes `n` tokens, waiting until they have accrued. A batch larger than the
    /// bucket goes into debt, paid by the wait.
    pub(crate) async fn take(&mut self, n: usize) {
        let Some(rate) = self.per_sec else { return };
        let now = Instant::now();
        let accrued = now.duration_since(self.last).as_secs_f64() * rate;
        self.tokens = (self.tokens + accrued).min(rate);
        self.last = now;
        self.tokens -= n as f64;
        if self.tokens < 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(-self.tokens / rate)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_tokens_it_lacks() {
        let mut rate = Rate::new(Some(1000));
        let start = Instant::now();
        rate.take(1000).await;
        rate.take(200).await;
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "a fifth of a second's debt"
        );
        let mut free = Rate::new(None);
        let start = Instant::now();
        free.take(1_000_000).await;
        assert!(start.elapsed() < Duration::from_millis(100));
    }
}
