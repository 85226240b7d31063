// `embed_migrations!` does not notice edited SQL by itself.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/orders");
}
