// The payments module's table. No other module may name it.

diesel::table! {
    payments (id) {
        id -> Text,
        idempotency_key -> Text,
        order_id -> Text,
        user_id -> Text,
        amount_cents -> BigInt,
        currency -> Text,
        status -> Text,
        provider_ref -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
