// Re-embed the migrations when one is added or changed (sqlx::migrate! reads the folder).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
