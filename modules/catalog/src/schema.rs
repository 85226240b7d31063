// The catalog module's tables. No other module may name them.

diesel::table! {
    categories (id) {
        id -> Text,
        name -> Text,
        slug -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        sku -> Text,
        name -> Text,
        description -> Text,
        price_cents -> BigInt,
        currency -> Text,
        stock -> BigInt,
        category_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reservations (order_id) {
        order_id -> Text,
        status -> Text,
        /// JSON: `[{"product_id": …, "quantity": …}]`, sorted by product id.
        items -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Active products per list scope: `all`, or `category:<id>`.
    product_counts (scope) {
        scope -> Text,
        active_products -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(categories, products, reservations, product_counts);
