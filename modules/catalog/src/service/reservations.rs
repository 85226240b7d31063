use std::collections::BTreeMap;

use catalog_api::{
    CatalogApi, CatalogError, ProductOffer, Reservation, ReservationLine, ReservationStatus, ReserveRequest,
    Shortfall, MAX_RESERVATION_LINES, MAX_UNITS_PER_PRODUCT,
};
use diesel::r2d2::R2D2Connection;
use kernel::db::{
    is_unique_violation, retry_on_lock_conflict, stored_id, transaction, Combined, Database, DbConnection,
    QueryError, TxError,
};
use kernel::error::FieldError;
use kernel::module::JobOutcome;
use uuid::Uuid;

use super::{offer, CatalogService, Result};
use crate::store::products as product_store;
use crate::store::reservations::{self as store, encode_lines, Line, ReservationRow};

const MAX_HOLD_SECONDS: u64 = 7 * 24 * 3600;
/// Transactions retried when the database reports a deadlock or a busy lock.
const LOCK_RETRIES: u32 = 5;
/// Attempts when a line was short but had the stock by the time it was looked at.
const RACE_RETRIES: u32 = 3;

type Tx<T> = std::result::Result<T, TxError<CatalogError>>;

/// One line per product, sorted by product id: the order rows are locked in,
/// so concurrent reservations cannot deadlock each other.
fn normalise(lines: &[ReservationLine]) -> Result<Vec<ReservationLine>> {
    let mut errors = Vec::new();
    if lines.is_empty() || lines.len() > MAX_RESERVATION_LINES {
        errors.push(FieldError {
            field: "lines".into(),
            message: format!("must have 1 to {MAX_RESERVATION_LINES} lines"),
        });
    }
    let mut merged: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if !(1..=MAX_UNITS_PER_PRODUCT).contains(&line.quantity) {
            errors.push(FieldError {
                field: format!("lines[{i}].quantity"),
                message: format!("must be between 1 and {MAX_UNITS_PER_PRODUCT}"),
            });
        }
        *merged.entry(line.product_id).or_default() += line.quantity;
    }
    if merged.values().any(|&units| units > MAX_UNITS_PER_PRODUCT) {
        errors.push(FieldError {
            field: "lines".into(),
            message: format!("at most {MAX_UNITS_PER_PRODUCT} units of one product"),
        });
    }
    if !errors.is_empty() {
        return Err(CatalogError::Invalid(errors));
    }
    Ok(merged.into_iter().map(|(product_id, quantity)| ReservationLine { product_id, quantity }).collect())
}

fn status_of(row: &ReservationRow) -> Result<ReservationStatus> {
    ReservationStatus::parse(&row.status).ok_or_else(|| {
        CatalogError::Internal(format!("stored reservation status `{}` is unknown", row.status))
    })
}

/// The lines a stored reservation holds; unreadable lines are a corrupted row.
fn lines_of(row: &ReservationRow) -> Result<Vec<Line>> {
    row.lines().map_err(|e| {
        CatalogError::Internal(format!("stored lines of reservation {} are unreadable: {e}", row.order_id))
    })
}

fn reservation(row: &ReservationRow) -> Result<Reservation> {
    Ok(Reservation {
        order_id: stored_id(&row.order_id)?,
        status: status_of(row)?,
        lines: lines_of(row)?
            .iter()
            .map(|l| Ok(ReservationLine { product_id: stored_id(&l.product_id)?, quantity: l.quantity }))
            .collect::<Result<_>>()?,
        expires_at: row.expires_at.and_utc(),
    })
}

/// Why a reservation attempt rolled back.
enum Rejection {
    Catalog(CatalogError),
    /// Some line could not be taken; what exactly is read after the rollback.
    Short,
}

impl From<CatalogError> for Rejection {
    fn from(e: CatalogError) -> Self {
        Rejection::Catalog(e)
    }
}

/// One attempt, in a transaction: the reservation row claims the order id (a
/// replay finds the reservation it made), then every line's stock is taken in one statement.
fn reserve_once(
    c: &mut DbConnection,
    row: &ReservationRow,
    lines: &[Line],
) -> std::result::Result<Reservation, TxError<Rejection>> {
    // The row goes first: on SQLite the transaction then starts by writing,
    // so it waits for the lock instead of failing.
    match store::insert(c, row) {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            let existing = store::find(c, &row.order_id)?.ok_or(TxError::Db(e))?;
            if lines_of(&existing).map_err(|e| TxError::Rejected(e.into()))? != lines {
                // The order id already holds a reservation of other lines.
                let status = status_of(&existing).map_err(|e| TxError::Rejected(e.into()))?;
                return Err(TxError::Rejected(CatalogError::ReservationConflict { status }.into()));
            }
            return reservation(&existing).map_err(|e| TxError::Rejected(e.into()));
        }
        Err(e) => return Err(TxError::Db(e)),
    }
    if product_store::take_stock(c, lines, row.created_at)? != lines.len() {
        return Err(TxError::Rejected(Rejection::Short));
    }
    reservation(row).map_err(|e| TxError::Rejected(e.into()))
}

/// A reservation waiting for its turn: its row and its lines, merged and sorted.
pub(super) struct Requested {
    row: ReservationRow,
    lines: Vec<Line>,
}

/// Reservations made at the same moment wait for one turn on a connection
/// thread and are made together (`kernel::db::Combined`): at most this many per turn.
const MAX_PER_TURN: usize = 16;

pub(super) fn combined(db: Database) -> Combined<Requested, Result<Reservation>> {
    Combined::new(db, MAX_PER_TURN, reserve_queued)
}

/// One turn: the reservations queued together in one transaction (their rows
/// in one INSERT, the sum of their lines' stock in one UPDATE). If a line is
/// short or an order id already reserved, each is then made alone, so each gets
/// exactly the answer it would have had alone. If the database fails (the
/// connection may be gone), each gets that error (503 when it is unavailable).
fn reserve_queued(
    c: &mut DbConnection,
    requested: &[Requested],
) -> std::result::Result<Vec<Result<Reservation>>, QueryError> {
    if requested.len() > 1 {
        match retry_on_lock_conflict(LOCK_RETRIES, || transaction(c, |c| reserve_together(c, requested))) {
            Ok(reservations) => return Ok(reservations.into_iter().map(Ok).collect()),
            Err(TxError::Db(e)) if !is_unique_violation(&e) => return Err(e),
            // The rollback failed: the transaction is still open on a connection that is going away.
            Err(_) if R2D2Connection::is_broken(c) => return Err(QueryError::BrokenTransactionManager),
            Err(_) => {}
        }
    }
    let alone = |r: &Requested, c: &mut DbConnection| {
        if R2D2Connection::is_broken(c) {
            // An earlier one lost the connection: no transaction can start on it.
            return Err(CatalogError::Unavailable("the catalog database connection was lost".into()));
        }
        reserve_alone(c, r)
    };
    Ok(requested.iter().map(|r| alone(r, c)).collect())
}

fn reserve_together(
    c: &mut DbConnection,
    requested: &[Requested],
) -> std::result::Result<Vec<Reservation>, TxError<Rejection>> {
    let rows: Vec<ReservationRow> = requested.iter().map(|r| r.row.clone()).collect();
    store::insert_many(c, &rows)?;
    let mut units: BTreeMap<&str, i64> = BTreeMap::new();
    for line in requested.iter().flat_map(|r| &r.lines) {
        *units.entry(&line.product_id).or_default() += line.quantity;
    }
    let lines: Vec<Line> =
        units.into_iter().map(|(id, quantity)| Line { product_id: id.to_owned(), quantity }).collect();
    if product_store::take_stock(c, &lines, kernel::now())? != lines.len() {
        // Which reservation was short is found out alone.
        return Err(TxError::Rejected(Rejection::Short));
    }
    rows.iter().map(|row| reservation(row).map_err(|e| TxError::Rejected(e.into()))).collect()
}

/// One reservation in its own transaction, retried when the stock it lacked came back meanwhile.
fn reserve_alone(c: &mut DbConnection, requested: &Requested) -> Result<Reservation> {
    let Requested { row, lines } = requested;
    for _ in 0..RACE_RETRIES {
        let attempt =
            retry_on_lock_conflict(LOCK_RETRIES, || transaction(c, |c| reserve_once(c, row, lines)));
        match attempt {
            Ok(reservation) => return Ok(reservation),
            Err(TxError::Db(e)) => return Err(e.into()),
            Err(TxError::Rejected(Rejection::Catalog(e))) => return Err(e),
            Err(TxError::Rejected(Rejection::Short)) => {
                if let Some(e) = shortfall(c, lines)? {
                    return Err(e);
                }
                // The stock came back between the attempt and the look: try again.
            }
        }
    }
    Err(CatalogError::Unavailable("the stock kept changing while reserving".into()))
}

/// After a rolled-back attempt: which lines cannot be served (unknown or
/// archived products first), or `None` if every line could be served now.
fn shortfall(c: &mut DbConnection, rows: &[Line]) -> Result<Option<CatalogError>> {
    let ids: Vec<String> = rows.iter().map(|l| l.product_id.clone()).collect();
    let products = product_store::find_many(c, &ids)?;
    let (mut unknown, mut short) = (Vec::new(), Vec::new());
    for line in rows {
        let product_id = stored_id(&line.product_id)?;
        match products.iter().find(|p| p.id == line.product_id) {
            Some(p) if !p.active => unknown.push(product_id),
            None => unknown.push(product_id),
            Some(p) if p.stock < line.quantity => {
                short.push(Shortfall { product_id, requested: line.quantity, available: p.stock })
            }
            Some(_) => {}
        }
    }
    Ok(if !unknown.is_empty() {
        Some(CatalogError::UnknownProducts { product_ids: unknown })
    } else if !short.is_empty() {
        Some(CatalogError::InsufficientStock { shortfalls: short })
    } else {
        None
    })
}

fn give_back(c: &mut DbConnection, order_id: &str, now: chrono::NaiveDateTime) -> Tx<()> {
    let Some(row) = store::find(c, order_id)? else {
        return Err(TxError::Rejected(CatalogError::ReservationNotFound));
    };
    product_store::return_stock(c, &lines_of(&row).map_err(TxError::Rejected)?, now)?;
    Ok(())
}

/// Moves a reservation `from` → `to` (returning its stock when `give_back`),
/// or explains why not: `ok_when` lists the states in which the call has
/// already had its effect (idempotent replays).
fn transition(
    c: &mut DbConnection,
    order_id: &str,
    from: ReservationStatus,
    to: ReservationStatus,
    returns_stock: bool,
    ok_when: &[ReservationStatus],
) -> Tx<()> {
    let now = kernel::now();
    if store::transition(c, order_id, from.as_str(), to.as_str(), now)? == 1 {
        return if returns_stock { give_back(c, order_id, now) } else { Ok(()) };
    }
    let Some(row) = store::find(c, order_id)? else {
        return Err(TxError::Rejected(CatalogError::ReservationNotFound));
    };
    let status = status_of(&row).map_err(TxError::Rejected)?;
    if ok_when.contains(&status) {
        Ok(())
    } else {
        Err(TxError::Rejected(CatalogError::ReservationConflict { status }))
    }
}

impl CatalogService {
    /// Releases held reservations whose order never confirmed them in time.
    /// Safe alongside other replicas: each release is a conditional update.
    pub async fn release_expired(&self) -> Result<JobOutcome> {
        let expired = self.db.query(|c| store::expired_held(c, kernel::now(), 100)).await?;
        let mut outcome = JobOutcome::default();
        for order_id in expired {
            let released = match stored_id(&order_id) {
                Ok(id) => self.release(id).await,
                Err(e) => Err(e.into()),
            };
            outcome.count("release expired reservations", &order_id, released);
        }
        Ok(outcome)
    }

    async fn move_reservation(
        &self,
        order_id: Uuid,
        from: ReservationStatus,
        to: ReservationStatus,
        returns_stock: bool,
        ok_when: &'static [ReservationStatus],
    ) -> Result<()> {
        let key = order_id.to_string();
        let moved = self
            .db
            .run(move |c| {
                // Only a move that returns stock writes twice and needs a transaction.
                retry_on_lock_conflict(LOCK_RETRIES, || {
                    if returns_stock {
                        transaction(c, |c| transition(c, &key, from, to, true, ok_when))
                    } else {
                        transition(c, &key, from, to, false, ok_when)
                    }
                })
                .map_err(TxError::into_inner)
            })
            .await;
        if returns_stock {
            self.cache.forget_all_stock();
        }
        moved
    }
}

#[async_trait::async_trait]
impl CatalogApi for CatalogService {
    async fn offers(&self, ids: Vec<Uuid>) -> Result<Vec<ProductOffer>> {
        if ids.len() > MAX_RESERVATION_LINES {
            return Err(CatalogError::invalid("ids", format!("at most {MAX_RESERVATION_LINES} ids")));
        }
        let (mut offers, missing) = self.cache.offers(&ids);
        if missing.is_empty() {
            return Ok(offers);
        }
        let start = self.cache.start_read();
        let keys: Vec<String> = missing.iter().map(Uuid::to_string).collect();
        let rows = self.lookups.run(keys).await?;
        let read = rows.into_iter().map(offer).collect::<Result<Vec<_>>>()?;
        self.cache.keep_offers(start, &read);
        offers.extend(read);
        Ok(offers)
    }

    async fn reserve(&self, request: ReserveRequest) -> Result<Reservation> {
        let lines = normalise(&request.lines)?;
        let products: Vec<Uuid> = lines.iter().map(|l| l.product_id).collect();
        if !(1..=MAX_HOLD_SECONDS).contains(&request.hold_seconds) {
            return Err(CatalogError::invalid("hold_seconds", "must be between 1 s and 7 days"));
        }
        let now = kernel::now();
        let lines: Vec<Line> = lines
            .iter()
            .map(|l| Line { product_id: l.product_id.to_string(), quantity: l.quantity })
            .collect();
        let row = ReservationRow {
            order_id: request.order_id.to_string(),
            status: ReservationStatus::Held.as_str().into(),
            items: encode_lines(&lines),
            expires_at: now + chrono::Duration::seconds(request.hold_seconds as i64),
            created_at: now,
            updated_at: now,
        };
        let reserved = match self.reservations.run(Requested { row, lines }).await {
            Ok(outcome) => outcome,
            Err(e) => Err(e.into()),
        };
        self.cache.forget_stock(&products);
        reserved
    }

    async fn release(&self, order_id: Uuid) -> Result<()> {
        use ReservationStatus::*;
        match self.move_reservation(order_id, Held, Released, true, &[Released, Restocked]).await {
            Err(CatalogError::ReservationNotFound) => Ok(()),
            other => other,
        }
    }

    async fn commit(&self, order_id: Uuid) -> Result<()> {
        use ReservationStatus::*;
        self.move_reservation(order_id, Held, Committed, false, &[Committed, Restocked]).await
    }

    async fn restock(&self, order_id: Uuid) -> Result<()> {
        use ReservationStatus::*;
        self.move_reservation(order_id, Committed, Restocked, true, &[Restocked]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_merged_sorted_and_bounded() {
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let merged = normalise(&[
            ReservationLine { product_id: a, quantity: 1 },
            ReservationLine { product_id: b, quantity: 2 },
            ReservationLine { product_id: a, quantity: 3 },
        ])
        .expect("valid");
        assert_eq!(
            merged,
            vec![
                ReservationLine { product_id: b, quantity: 2 },
                ReservationLine { product_id: a, quantity: 4 }
            ]
        );
        assert!(normalise(&[]).is_err());
        assert!(normalise(&[ReservationLine { product_id: a, quantity: 0 }]).is_err());
        assert!(normalise(&[ReservationLine { product_id: a, quantity: -1 }]).is_err());
    }
}
