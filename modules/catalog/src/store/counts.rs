//! Active products per list scope (`all`, `category:<id>`), kept in the same
//! transaction as every product write, so a list's total is one primary-key
//! read instead of a count of every matching row.

use diesel::prelude::*;
use kernel::db::{execute, DbConnection};

use super::QueryResult;
use crate::schema::{product_counts, products};

pub const ALL: &str = "all";

pub fn category(id: &str) -> String {
    format!("category:{id}")
}

/// The scope counted for these filters, if there is one: no filter, or a category alone.
pub fn scope_of(category_id: Option<&str>) -> String {
    category_id.map_or_else(|| ALL.to_owned(), category)
}

pub fn active_products(conn: &mut DbConnection, scope: &str) -> QueryResult<Option<i64>> {
    product_counts::table.find(scope).select(product_counts::active_products).first(conn).optional()
}

/// Starts counting a new scope (a new category) at zero.
pub fn start(conn: &mut DbConnection, scope: &str) -> QueryResult<()> {
    diesel::insert_into(product_counts::table)
        .values((product_counts::scope.eq(scope), product_counts::active_products.eq(0_i64)))
        .execute(conn)
        .map(drop)
}

/// Adds `delta` to a scope's count; a scope missing its row (it cannot be,
/// but a count must never drift) is counted afresh.
pub fn add(conn: &mut DbConnection, scope: &str, delta: i64) -> QueryResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let changed = execute(
        conn,
        diesel::update(product_counts::table.find(scope))
            .set(product_counts::active_products.eq(product_counts::active_products + delta)),
    )?;
    if changed == 0 {
        let mut active = products::table.filter(products::active.eq(true)).into_boxed();
        if let Some(id) = scope.strip_prefix("category:") {
            active = active.filter(products::category_id.eq(id.to_owned()));
        }
        let counted: i64 = active.count().get_result(conn)?;
        diesel::insert_into(product_counts::table)
            .values((product_counts::scope.eq(scope), product_counts::active_products.eq(counted)))
            .execute(conn)?;
    }
    Ok(())
}

/// Moves one product's contribution from `before` to `after` (each: whether
/// it is active, and its category).
pub fn product_changed(
    conn: &mut DbConnection,
    before: Option<(bool, Option<&str>)>,
    after: (bool, Option<&str>),
) -> QueryResult<()> {
    let mut deltas: Vec<(String, i64)> = Vec::new();
    let mut count = |active: bool, category_id: Option<&str>, sign: i64| {
        if active {
            deltas.push((ALL.to_owned(), sign));
            if let Some(id) = category_id {
                deltas.push((category(id), sign));
            }
        }
    };
    if let Some((active, category_id)) = before {
        count(active, category_id, -1);
    }
    count(after.0, after.1, 1);
    // Net per scope, so an unchanged product writes nothing.
    deltas.sort();
    let mut net: Vec<(String, i64)> = Vec::new();
    for (scope, delta) in deltas {
        match net.last_mut() {
            Some((last, sum)) if *last == scope => *sum += delta,
            _ => net.push((scope, delta)),
        }
    }
    for (scope, delta) in net {
        add(conn, &scope, delta)?;
    }
    Ok(())
}
