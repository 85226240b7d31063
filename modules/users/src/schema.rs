// The users module's tables. No other module may name them.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        access_changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    addresses (id) {
        id -> Text,
        user_id -> Text,
        line1 -> Text,
        line2 -> Nullable<Text>,
        city -> Text,
        postal_code -> Text,
        country -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(addresses -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, addresses);
