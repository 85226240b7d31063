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
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reservation_lines (order_id, product_id) {
        order_id -> Text,
        product_id -> Text,
        quantity -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(categories, products, reservations, reservation_lines);
