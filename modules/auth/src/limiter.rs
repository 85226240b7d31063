//! Failed-login throttling per account and per client address. In memory and
//! per process: a replica counts its own failures, so N replicas allow up to
//! N times the limit (a shared store is the upgrade path; see docs/auth.md).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before expired ones are swept, bounding memory under attack.
const SWEEP_ABOVE: usize = 10_000;

struct Window {
    started: Instant,
    failures: u32,
}

pub struct LoginLimiter {
    window: Duration,
    max_per_account: u32,
    max_per_client: u32,
    entries: Mutex<HashMap<String, Window>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, max_per_account: u32, max_per_client: u32) -> Self {
        Self {
            window,
            max_per_account: max_per_account.max(1),
            max_per_client: max_per_client.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` to wait when either the account or the client is locked out.
    pub fn check(&self, account: &str, client: &str) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let wait = [(account_key(account), self.max_per_account), (client_key(client), self.max_per_client)]
            .into_iter()
            .filter_map(|(key, max)| {
                let w = entries.get(&key)?;
                let elapsed = w.started.elapsed();
                (w.failures >= max && elapsed < self.window).then(|| (self.window - elapsed).as_secs().max(1))
            })
            .max();
        wait.map_or(Ok(()), Err)
    }

    pub fn record_failure(&self, account: &str, client: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > SWEEP_ABOVE {
            let window = self.window;
            entries.retain(|_, w| w.started.elapsed() < window);
        }
        for key in [account_key(account), client_key(client)] {
            let w = entries.entry(key).or_insert(Window { started: Instant::now(), failures: 0 });
            if w.started.elapsed() >= self.window {
                *w = Window { started: Instant::now(), failures: 0 };
            }
            w.failures += 1;
        }
    }

    /// A successful login clears the account's failures (not the client's).
    pub fn record_success(&self, account: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&account_key(account));
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn client_key(client: &str) -> String {
    format!("client:{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_the_limit_and_reports_the_wait() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 100);
        for _ in 0..3 {
            assert!(limiter.check("a@x.io", "1.1.1.1").is_ok());
            limiter.record_failure("a@x.io", "1.1.1.1");
        }
        let wait = limiter.check("a@x.io", "2.2.2.2").expect_err("locked");
        assert!((1..=60).contains(&wait));
        assert!(limiter.check("b@x.io", "1.1.1.1").is_ok(), "other accounts are not locked");
    }

    #[test]
    fn locks_a_client_spraying_many_accounts() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 100, 3);
        for i in 0..3 {
            limiter.record_failure(&format!("user{i}@x.io"), "6.6.6.6");
        }
        assert!(limiter.check("fresh@x.io", "6.6.6.6").is_err());
        assert!(limiter.check("fresh@x.io", "7.7.7.7").is_ok());
    }

    #[test]
    fn success_clears_the_account() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 2, 100);
        limiter.record_failure("a@x.io", "1.1.1.1");
        limiter.record_success("a@x.io");
        limiter.record_failure("a@x.io", "1.1.1.1");
        assert!(limiter.check("a@x.io", "1.1.1.1").is_ok());
    }

    #[test]
    fn the_window_expires() {
        let limiter = LoginLimiter::new(Duration::from_millis(1), 1, 1);
        limiter.record_failure("a@x.io", "1.1.1.1");
        std::thread::sleep(Duration::from_millis(5));
        assert!(limiter.check("a@x.io", "1.1.1.1").is_ok());
    }
}
