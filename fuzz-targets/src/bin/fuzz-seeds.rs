//! Write every target's seeds to `DIR/<target>/seed-<n>` (default
//! `fuzz/seeds`), for `cargo fuzz run <target> fuzz/corpus/<target>
//! fuzz/seeds/<target>`.

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds".to_string());
    for (target, seeds) in kopnet_fuzz_targets::seeds::all() {
        let target_dir = std::path::Path::new(&dir).join(target);
        std::fs::create_dir_all(&target_dir)?;
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(target_dir.join(format!("seed-{i}")), seed)?;
        }
        println!("{target}: {} seeds", seeds.len());
    }
    Ok(())
}
