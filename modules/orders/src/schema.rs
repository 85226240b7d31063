// The orders module's tables. No other module may name them.

diesel::table! {
    orders (id) {
        id -> Text,
        user_id -> Text,
        status -> Text,
        total_cents -> BigInt,
        currency -> Text,
        /// JSON: the items as placed (see `store::orders::Item`), sorted by product id.
        items -> Text,
        /// JSON: the shipping address as placed (see `store::orders::Address`).
        shipping_address -> Nullable<Text>,
        payment_id -> Nullable<Text>,
        payment_pending -> Bool,
        stock_pending -> Bool,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
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

diesel::allow_tables_to_appear_in_same_query!(orders, idempotency_keys);
