// The orders module's tables. No other module may name them.

diesel::table! {
    orders (id) {
        id -> Text,
        user_id -> Text,
        status -> Text,
        total_cents -> BigInt,
        currency -> Text,
        ship_line1 -> Nullable<Text>,
        ship_line2 -> Nullable<Text>,
        ship_city -> Nullable<Text>,
        ship_postal_code -> Nullable<Text>,
        ship_country -> Nullable<Text>,
        payment_id -> Nullable<Text>,
        payment_pending -> Bool,
        stock_pending -> Bool,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    order_items (order_id, product_id) {
        order_id -> Text,
        product_id -> Text,
        name -> Text,
        unit_price_cents -> BigInt,
        quantity -> BigInt,
        line_total_cents -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (user_id, scope, idempotency_key) {
        user_id -> Text,
        scope -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(orders, order_items, idempotency_keys);
