// No code: a build script only so that the [build-dependencies] features apply (see Cargo.toml).
fn main() {}
