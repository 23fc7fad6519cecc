//! Rebuilds the crate when the schema changes: `sqlx::migrate!` embeds `migrations/` at build time.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
