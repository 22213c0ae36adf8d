fn main() {
    // Embedded migrations must rebuild the crate when a migration file changes.
    println!("cargo:rerun-if-changed=migrations");
}
