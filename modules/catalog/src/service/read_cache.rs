//! What the catalog keeps of its reads, for at most `catalog.read_cache_ttl`
//! (1 s at most) counted from the moment their database read began:
//! - the public reads (a product, a page of the list), as the JSON they were answered with;
//! - the offers orders price their lines with (name, price, currency, active; no stock).
//!
//! So no replica answers with a price or a stock older than a write by more than
//! that, and this replica forgets what its own writes change at once, so it reads
//! its own writes. An offer holds no stock, so reservations leave offers alone:
//! only a change of the product itself forgets them.
//!
//! Why: a list page costs the database ten times a product read, a popular
//! product or the first page is asked for many times a second, and every order
//! would otherwise read its products' prices once more just before reserving them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use catalog_api::ProductOffer;
use uuid::Uuid;

/// Bounds on what is kept; a full map starts over.
const MAX_PRODUCTS: usize = 4096;
const MAX_PAGES: usize = 256;

struct Entry<V> {
    read_at: Instant,
    value: V,
}

/// Entries of one kind, each fresh for the TTL from its read.
struct Kept<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
    max: usize,
}

impl<K: std::hash::Hash + Eq, V: Clone> Kept<K, V> {
    fn new(max: usize) -> Self {
        Self { entries: Mutex::default(), max }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fresh<Q>(&self, key: &Q, ttl: Duration) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.lock().get(key).filter(|e| e.read_at.elapsed() < ttl).map(|e| e.value.clone())
    }

    fn keep(&self, entries: impl IntoIterator<Item = (K, V)>, read_at: Instant, ttl: Duration) {
        let mut kept = self.lock();
        for (key, value) in entries {
            if kept.len() >= self.max {
                kept.retain(|_, e| e.read_at.elapsed() < ttl);
                if kept.len() >= self.max {
                    kept.clear();
                }
            }
            kept.insert(key, Entry { read_at, value });
        }
    }

    fn forget(&self, keys: &[K]) {
        let mut kept = self.lock();
        for key in keys {
            kept.remove(key);
        }
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

pub struct ReadCache {
    /// How stale an answer may be (`catalog.read_cache_ttl`, at most 1 s); zero keeps nothing.
    ttl: Duration,
    products: Kept<Uuid, Bytes>,
    pages: Kept<String, Bytes>,
    offers: Kept<Uuid, ProductOffer>,
    /// Moves on with every write, so an answer read before a write is not kept after it.
    writes: AtomicU64,
    /// Moves on with every change of a product itself (not of its stock), for the offers.
    product_writes: AtomicU64,
}

/// When a read began, to keep its answer only if no write came in meanwhile.
#[derive(Clone, Copy)]
pub struct ReadStart {
    at: Instant,
    writes: u64,
    product_writes: u64,
}

impl ReadCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            products: Kept::new(MAX_PRODUCTS),
            pages: Kept::new(MAX_PAGES),
            offers: Kept::new(MAX_PRODUCTS),
            writes: AtomicU64::new(0),
            product_writes: AtomicU64::new(0),
        }
    }

    pub fn start_read(&self) -> ReadStart {
        ReadStart {
            at: Instant::now(),
            writes: self.writes.load(Ordering::Acquire),
            product_writes: self.product_writes.load(Ordering::Acquire),
        }
    }

    pub fn product(&self, id: Uuid) -> Option<Bytes> {
        self.products.fresh(&id, self.ttl)
    }

    pub fn page(&self, query: &str) -> Option<Bytes> {
        self.pages.fresh(query, self.ttl)
    }

    /// The fresh offers among `ids`, and the ids that must be read.
    pub fn offers(&self, ids: &[Uuid]) -> (Vec<ProductOffer>, Vec<Uuid>) {
        let (mut found, mut missing) = (Vec::with_capacity(ids.len()), Vec::new());
        for id in ids {
            match self.offers.fresh(id, self.ttl) {
                Some(offer) => found.push(offer),
                None => missing.push(*id),
            }
        }
        (found, missing)
    }

    /// Keeps a product's JSON, read from the database since `start`.
    pub fn keep_product(&self, id: Uuid, start: ReadStart, json: Bytes) {
        if self.unchanged(&self.writes, start.writes) {
            self.products.keep([(id, json)], start.at, self.ttl);
        }
    }

    pub fn keep_page(&self, query: String, start: ReadStart, json: Bytes) {
        if self.unchanged(&self.writes, start.writes) {
            self.pages.keep([(query, json)], start.at, self.ttl);
        }
    }

    /// Keeps offers read from the database since `start`.
    pub fn keep_offers(&self, start: ReadStart, offers: &[ProductOffer]) {
        if self.unchanged(&self.product_writes, start.product_writes) {
            self.offers.keep(offers.iter().map(|o| (o.id, o.clone())), start.at, self.ttl);
        }
    }

    /// Whether an answer may be kept: the cache is on and `writes` has not
    /// moved on since the read saw it at `seen`.
    fn unchanged(&self, writes: &AtomicU64, seen: u64) -> bool {
        !self.ttl.is_zero() && writes.load(Ordering::Acquire) == seen
    }

    /// This replica changed these products' stock: their entries and every page go.
    pub fn forget_stock(&self, products: &[Uuid]) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.products.forget(products);
        self.pages.clear();
    }

    /// This replica changed stock it cannot name here (a release, a restock):
    /// every public answer goes.
    pub fn forget_all_stock(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.products.clear();
        self.pages.clear();
    }

    /// This replica changed these products themselves (name, price, activity, …):
    /// their offers go too.
    pub fn forget_products(&self, products: &[Uuid]) {
        self.product_writes.fetch_add(1, Ordering::AcqRel);
        self.forget_stock(products);
        self.offers.forget(products);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(1);

    fn offer(id: Uuid) -> ProductOffer {
        ProductOffer { id, name: "Mug".into(), price_cents: 100, currency: "EUR".into(), active: true }
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = ReadCache::new(Duration::ZERO);
        cache.keep_product(Uuid::nil(), cache.start_read(), Bytes::from_static(b"{}"));
        cache.keep_offers(cache.start_read(), &[offer(Uuid::nil())]);
        assert!(cache.product(Uuid::nil()).is_none());
        assert_eq!(cache.offers(&[Uuid::nil()]).1, [Uuid::nil()]);
    }

    #[test]
    fn an_entry_lives_for_the_ttl_from_its_read_and_writes_forget_it() {
        let cache = ReadCache::new(TTL);
        let id = Uuid::from_u128(1);
        cache.keep_product(id, cache.start_read(), Bytes::from_static(b"{}"));
        assert!(cache.product(id).is_some());
        cache.keep_page("page=1".into(), cache.start_read(), Bytes::from_static(b"[]"));
        cache.forget_stock(&[id]);
        assert!(cache.product(id).is_none() && cache.page("page=1").is_none());
        let mut old = cache.start_read();
        old.at = Instant::now().checked_sub(TTL).expect("a second ago");
        cache.keep_product(id, old, Bytes::from_static(b"{}"));
        assert!(cache.product(id).is_none(), "read a TTL ago: too old to answer with");
        cache.keep_offers(old, &[offer(id)]);
        assert_eq!(cache.offers(&[id]).1, [id], "an offer read a TTL ago is too old too");
    }

    #[test]
    fn an_answer_read_before_a_write_is_not_kept_after_it() {
        let cache = ReadCache::new(TTL);
        let id = Uuid::from_u128(1);
        let start = cache.start_read();
        cache.forget_stock(&[id]);
        cache.keep_product(id, start, Bytes::from_static(b"{}"));
        assert!(cache.product(id).is_none());

        let start = cache.start_read();
        cache.forget_products(&[id]);
        cache.keep_offers(start, &[offer(id)]);
        assert_eq!(cache.offers(&[id]).1, [id], "an offer read before a price change");
    }

    #[test]
    fn stock_changes_keep_offers_and_product_changes_forget_them() {
        let cache = ReadCache::new(TTL);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let start = cache.start_read();
        cache.forget_stock(&[a]);
        cache.keep_offers(start, &[offer(a), offer(b)]);
        assert_eq!(cache.offers(&[a, b]), (vec![offer(a), offer(b)], vec![]), "a reservation in between");
        cache.forget_all_stock();
        assert_eq!(cache.offers(&[a, b]).0.len(), 2, "a release changes no offer");
        cache.forget_products(&[a]);
        assert_eq!(cache.offers(&[a, b]), (vec![offer(b)], vec![a]));
    }
}
