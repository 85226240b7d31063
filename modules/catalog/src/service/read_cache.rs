//! The public catalog reads (a product, a page of the list), kept as the JSON
//! they were answered with, for at most `catalog.read_cache_ttl` (1 s at most)
//! counted from the moment their database read began. So no replica answers
//! with a price or a stock older than a write by more than that; and this replica forgets what its own
//! writes change at once (a product's entry and every list page), so it reads
//! its own writes. The orders module's lookups (prices to charge) never use it.
//!
//! Why: a list page costs the database ten times a product read, and a
//! popular product or the first page is asked for many times a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use uuid::Uuid;

/// Bounds on what is kept; a full map starts over.
const MAX_PRODUCTS: usize = 4096;
const MAX_PAGES: usize = 256;

#[derive(Clone)]
struct Entry {
    read_at: Instant,
    json: Bytes,
}

pub struct ReadCache {
    /// How stale an answer may be (`catalog.read_cache_ttl`, at most 1 s); zero keeps nothing.
    ttl: Duration,
    products: Mutex<HashMap<Uuid, Entry>>,
    pages: Mutex<HashMap<String, Entry>>,
    /// Moves on with every write, so an answer read before a write is not kept after it.
    writes: AtomicU64,
}

/// When a read began, to keep its answer only if no write came in meanwhile.
#[derive(Clone, Copy)]
pub struct ReadStart {
    at: Instant,
    writes: u64,
}

impl ReadCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, products: Mutex::default(), pages: Mutex::default(), writes: AtomicU64::new(0) }
    }

    pub fn start_read(&self) -> ReadStart {
        ReadStart { at: Instant::now(), writes: self.writes.load(Ordering::Acquire) }
    }

    pub fn product(&self, id: Uuid) -> Option<Bytes> {
        fresh(&self.products, &id, self.ttl)
    }

    pub fn page(&self, query: &str) -> Option<Bytes> {
        fresh(&self.pages, query, self.ttl)
    }

    /// Keeps a product's JSON, read from the database since `start`.
    pub fn keep_product(&self, id: Uuid, start: ReadStart, json: Bytes) {
        if self.unchanged_since(start) {
            keep(&self.products, id, Entry { read_at: start.at, json }, MAX_PRODUCTS, self.ttl);
        }
    }

    pub fn keep_page(&self, query: String, start: ReadStart, json: Bytes) {
        if self.unchanged_since(start) {
            keep(&self.pages, query, Entry { read_at: start.at, json }, MAX_PAGES, self.ttl);
        }
    }

    fn unchanged_since(&self, start: ReadStart) -> bool {
        !self.ttl.is_zero() && self.writes.load(Ordering::Acquire) == start.writes
    }

    /// This replica changed these products: their entries and every page go.
    pub fn forget(&self, products: impl IntoIterator<Item = Uuid>) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        let mut kept = lock(&self.products);
        for id in products {
            kept.remove(&id);
        }
        drop(kept);
        lock(&self.pages).clear();
    }

    /// This replica changed stock it cannot name here (a release, a restock): everything goes.
    pub fn forget_all(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        lock(&self.products).clear();
        lock(&self.pages).clear();
    }
}

fn lock<K, V>(map: &Mutex<HashMap<K, V>>) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn fresh<K, Q>(map: &Mutex<HashMap<K, Entry>>, key: &Q, ttl: Duration) -> Option<Bytes>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    lock(map).get(key).filter(|e| e.read_at.elapsed() < ttl).map(|e| e.json.clone())
}

fn keep<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, Entry>>,
    key: K,
    entry: Entry,
    max: usize,
    ttl: Duration,
) {
    let mut kept = lock(map);
    if kept.len() >= max {
        kept.retain(|_, e| e.read_at.elapsed() < ttl);
        if kept.len() >= max {
            kept.clear();
        }
    }
    kept.insert(key, entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(1);

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = ReadCache::new(Duration::ZERO);
        cache.keep_product(Uuid::nil(), cache.start_read(), Bytes::from_static(b"{}"));
        assert!(cache.product(Uuid::nil()).is_none());
    }

    #[test]
    fn an_entry_lives_for_the_ttl_from_its_read_and_writes_forget_it() {
        let cache = ReadCache::new(TTL);
        let id = Uuid::from_u128(1);
        cache.keep_product(id, cache.start_read(), Bytes::from_static(b"{}"));
        assert!(cache.product(id).is_some());
        cache.keep_page("page=1".into(), cache.start_read(), Bytes::from_static(b"[]"));
        cache.forget([id]);
        assert!(cache.product(id).is_none() && cache.page("page=1").is_none());
        let mut old = cache.start_read();
        old.at = Instant::now().checked_sub(TTL).expect("a second ago");
        cache.keep_product(id, old, Bytes::from_static(b"{}"));
        assert!(cache.product(id).is_none(), "read a TTL ago: too old to answer with");
    }

    #[test]
    fn an_answer_read_before_a_write_is_not_kept_after_it() {
        let cache = ReadCache::new(TTL);
        let id = Uuid::from_u128(1);
        let start = cache.start_read();
        cache.forget([id]);
        cache.keep_product(id, start, Bytes::from_static(b"{}"));
        assert!(cache.product(id).is_none());
    }
}
