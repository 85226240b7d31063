//! Abuse throttles of the auth module: failed logins and registrations,
//! counted in fixed windows per key. In memory and per process: a replica
//! counts its own attempts, so N replicas allow up to N times a limit (a
//! shared store is the upgrade path; see docs/auth.md).
//!
//! Login throttling never locks out the rightful owner: failures are counted
//! per (account, client), so the client guessing gets 429 while the owner's
//! client logs in. Failures of one account from all clients together only
//! slow further attempts on it (a wait of at most [`MAX_ACCOUNT_DELAY`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before expired ones are swept, bounding memory under attack.
const SWEEP_ABOVE: usize = 10_000;

/// The longest an account-wide slow-down makes any client wait.
pub const MAX_ACCOUNT_DELAY: Duration = Duration::from_secs(60);

struct Window {
    started: Instant,
    last: Instant,
    count: u32,
}

/// Counts events per key in fixed windows.
struct Counter {
    window: Duration,
    entries: Mutex<HashMap<String, Window>>,
}

impl Counter {
    fn new(window: Duration) -> Self {
        Self { window, entries: Mutex::new(HashMap::new()) }
    }

    /// Events of `key` in its current window, with the time since the window
    /// started and since the last event.
    fn get(&self, key: &str) -> Option<(u32, Duration, Duration)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let w = entries.get(key)?;
        let elapsed = w.started.elapsed();
        (elapsed < self.window).then(|| (w.count, elapsed, w.last.elapsed()))
    }

    fn add(&self, key: String) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > SWEEP_ABOVE {
            let window = self.window;
            entries.retain(|_, w| w.started.elapsed() < window);
        }
        let now = Instant::now();
        let w = entries.entry(key).or_insert(Window { started: now, last: now, count: 0 });
        if w.started.elapsed() >= self.window {
            *w = Window { started: now, last: now, count: 0 };
        }
        w.count += 1;
        w.last = now;
    }

    fn remove(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// `Some(seconds to wait)` once `key` has `max` events in its window.
    fn wait(&self, key: &str, max: u32) -> Option<u64> {
        let (count, elapsed, _) = self.get(key)?;
        (count >= max).then(|| seconds(self.window - elapsed))
    }
}

fn seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// The auth module's throttles, built from its settings.
pub struct Throttles {
    pub logins: LoginLimiter,
    pub registrations: RegistrationLimiter,
}

impl Throttles {
    pub fn new(settings: &crate::settings::AuthSettings) -> Self {
        Self {
            logins: LoginLimiter::new(
                settings.failed_login_window,
                settings.max_failed_logins_per_account,
                settings.max_failed_logins_per_client,
            ),
            registrations: RegistrationLimiter::new(
                settings.registration_window,
                settings.max_registrations_per_client,
            ),
        }
    }
}

pub struct LoginLimiter {
    max_per_account: u32,
    max_per_client: u32,
    failures: Counter,
}

impl LoginLimiter {
    pub fn new(window: Duration, max_per_account: u32, max_per_client: u32) -> Self {
        Self {
            max_per_account: max_per_account.max(1),
            max_per_client: max_per_client.max(1),
            failures: Counter::new(window),
        }
    }

    /// `Err(seconds)` to wait: this client failed too often on this account or
    /// on any accounts, or the account as a whole is being slowed down.
    pub fn check(&self, account: &str, client: &str) -> Result<(), u64> {
        let locked = [
            self.failures.wait(&pair_key(account, client), self.max_per_account),
            self.failures.wait(&client_key(client), self.max_per_client),
        ];
        match locked.into_iter().flatten().max() {
            Some(wait) => Err(wait),
            None => self.account_delay(account).map_or(Ok(()), Err),
        }
    }

    /// Account-wide slow-down: once failures from all clients reach twice
    /// `auth.max_failed_logins_per_account`, each further attempt waits 2^(excess) seconds after
    /// the last failure, at most [`MAX_ACCOUNT_DELAY`].
    fn account_delay(&self, account: &str) -> Option<u64> {
        let (count, _, since_last) = self.failures.get(&account_key(account))?;
        let excess = count.checked_sub(2 * self.max_per_account)?;
        let delay = Duration::from_secs(1u64 << excess.min(6)).min(MAX_ACCOUNT_DELAY);
        (since_last < delay).then(|| seconds(delay - since_last))
    }

    pub fn record_failure(&self, account: &str, client: &str) {
        self.failures.add(pair_key(account, client));
        self.failures.add(client_key(client));
        self.failures.add(account_key(account));
    }

    /// The owner logged in: the account's failures are cleared (not the
    /// client's failures on other accounts).
    pub fn record_success(&self, account: &str, client: &str) {
        self.failures.remove(&pair_key(account, client));
        self.failures.remove(&account_key(account));
    }
}

/// Registrations per client address (`auth.max_registrations_per_client`
/// within `auth.registration_window`).
pub struct RegistrationLimiter {
    max_per_client: u32,
    attempts: Counter,
}

impl RegistrationLimiter {
    pub fn new(window: Duration, max_per_client: u32) -> Self {
        Self { max_per_client: max_per_client.max(1), attempts: Counter::new(window) }
    }

    /// Counts one registration attempt of `client`; `Err(seconds)` once the
    /// client is over its limit (the refused attempt is not counted).
    pub fn admit(&self, client: &str) -> Result<(), u64> {
        let key = client_key(client);
        if let Some(wait) = self.attempts.wait(&key, self.max_per_client) {
            return Err(wait);
        }
        self.attempts.add(key);
        Ok(())
    }
}

fn pair_key(account: &str, client: &str) -> String {
    format!("pair:{client}:{account}")
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
    fn locks_the_guessing_client_out_of_the_account_but_not_the_owner() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 100);
        for _ in 0..3 {
            assert!(limiter.check("a@x.io", "1.1.1.1").is_ok());
            limiter.record_failure("a@x.io", "1.1.1.1");
        }
        let wait = limiter.check("a@x.io", "1.1.1.1").expect_err("locked");
        assert!((1..=60).contains(&wait));
        assert!(limiter.check("a@x.io", "2.2.2.2").is_ok(), "another client may still log in");
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
    fn many_clients_failing_on_one_account_only_slow_it_down() {
        let limiter = LoginLimiter::new(Duration::from_secs(600), 2, 100);
        for i in 0..10 {
            limiter.record_failure("a@x.io", &format!("10.0.0.{i}"));
        }
        let wait = limiter.check("a@x.io", "192.0.2.1").expect_err("slowed down");
        assert!(wait <= MAX_ACCOUNT_DELAY.as_secs(), "waits {wait} s");
        assert!(limiter.check("b@x.io", "192.0.2.1").is_ok());
    }

    #[test]
    fn success_clears_the_account() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 2, 100);
        limiter.record_failure("a@x.io", "1.1.1.1");
        limiter.record_success("a@x.io", "1.1.1.1");
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

    #[test]
    fn registrations_are_limited_per_client() {
        let limiter = RegistrationLimiter::new(Duration::from_secs(600), 2);
        assert!(limiter.admit("1.1.1.1").is_ok());
        assert!(limiter.admit("1.1.1.1").is_ok());
        let wait = limiter.admit("1.1.1.1").expect_err("third refused");
        assert!((1..=600).contains(&wait));
        assert!(limiter.admit("2.2.2.2").is_ok());
    }
}
