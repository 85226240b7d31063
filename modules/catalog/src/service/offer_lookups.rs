//! The offers orders ask for (prices, names) when they are not kept: lookups
//! made at the same moment are answered by one SELECT (`kernel::db::Combined`).

use kernel::db::{Combined, Database, DbConnection, QueryError};

use crate::store::products::{self as product_store, ProductRow};

/// Lookups answered per turn at most.
const MAX_PER_TURN: usize = 16;

/// Each lookup is the ids of the products it wants.
pub(super) fn combined(db: Database) -> Combined<Vec<String>, Vec<ProductRow>> {
    Combined::new(db, MAX_PER_TURN, find_queued)
}

/// The products of every queued lookup in one statement, each lookup answered with its own.
fn find_queued(c: &mut DbConnection, lookups: &[Vec<String>]) -> Result<Vec<Vec<ProductRow>>, QueryError> {
    let mut ids = lookups.concat();
    ids.sort_unstable();
    ids.dedup();
    let rows = product_store::find_many(c, &ids)?;
    Ok(lookups
        .iter()
        .map(|wanted| rows.iter().filter(|row| wanted.contains(&row.id)).cloned().collect())
        .collect())
}
