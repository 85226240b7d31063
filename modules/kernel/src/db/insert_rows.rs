//! Multi-row INSERTs that one [`DbConnection`](super::DbConnection) can run on
//! either backend.
//!
//! Diesel builds a multi-row INSERT for each backend, but as different types
//! (SQLite has no `DEFAULT` keyword), so no single statement both accept. A row
//! type says which columns it fills and binds its values in that order;
//! [`InsertRows`] writes `INSERT INTO table (columns) VALUES (…), (…), …`.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::QueryResult;

/// A row [`InsertRows`] can write.
pub trait InsertRow<DB: Backend> {
    /// `table (column, column, …)`, in the order [`InsertRow::bind_values`] binds them.
    const INTO: &'static str;

    /// Binds this row's values, one [`RowValues::bind`] per column of [`InsertRow::INTO`].
    fn bind_values<'b>(&'b self, values: &mut RowValues<'_, '_, 'b, DB>) -> QueryResult<()>;
}

/// The values of one row, separated as they are bound.
pub struct RowValues<'p, 'a, 'b, DB: Backend> {
    out: &'p mut AstPass<'a, 'b, DB>,
    bound: usize,
}

impl<'b, DB: Backend> RowValues<'_, '_, 'b, DB> {
    /// Binds the next column's value as SQL type `T`.
    pub fn bind<T, U>(&mut self, value: &'b U) -> QueryResult<&mut Self>
    where
        DB: HasSqlType<T>,
        U: ToSql<T, DB> + ?Sized,
    {
        if self.bound > 0 {
            self.out.push_sql(", ");
        }
        self.out.push_bind_param::<T, U>(value)?;
        self.bound += 1;
        Ok(self)
    }
}

/// `INSERT INTO table (columns) VALUES (…), (…), …`: every row in one statement.
/// Run it with [`execute`](super::execute), which keeps it prepared per row count.
pub struct InsertRows<'a, R>(pub &'a [R]);

/// No static id: its SQL depends on how many rows it has.
impl<R> QueryId for InsertRows<'_, R> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend, R: InsertRow<DB>> QueryFragment<DB> for InsertRows<'_, R> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO ");
        out.push_sql(R::INTO);
        out.push_sql(" VALUES ");
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            row.bind_values(&mut RowValues { out: &mut out, bound: 0 })?;
            out.push_sql(")");
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use diesel::sql_types::{BigInt, Text};
    use diesel::sqlite::Sqlite;

    use super::*;

    struct Pair {
        name: String,
        count: i64,
    }

    impl<DB: Backend> InsertRow<DB> for Pair
    where
        String: ToSql<Text, DB>,
        i64: ToSql<BigInt, DB>,
    {
        const INTO: &'static str = "pairs (name, count)";

        fn bind_values<'b>(&'b self, values: &mut RowValues<'_, '_, 'b, DB>) -> QueryResult<()> {
            values.bind::<Text, _>(&self.name)?.bind::<BigInt, _>(&self.count)?;
            Ok(())
        }
    }

    #[test]
    fn every_row_is_one_parenthesised_group_of_its_binds() {
        let rows = [Pair { name: "a".into(), count: 1 }, Pair { name: "b".into(), count: 2 }];
        let sql = diesel::debug_query::<Sqlite, _>(&InsertRows(&rows)).to_string();
        assert_eq!(
            sql,
            r#"INSERT INTO pairs (name, count) VALUES (?, ?), (?, ?) -- binds: ["a", 1, "b", 2]"#
        );
    }
}
