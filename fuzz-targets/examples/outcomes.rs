//! How deep each corpus reaches: every file of `fuzz/corpus/<target>/`
//! (or of DIR) through its target, counted by outcome (accepted, or the
//! first words of the refusal), most frequent first.
//!
//! `cargo run -p kopnet-fuzz-targets --example outcomes [TARGET [DIR]]`

use kopnet_fuzz_targets::{Outcome, TARGETS};
use std::collections::BTreeMap;

fn main() -> std::io::Result<()> {
    let only = std::env::args().nth(1);
    let dir = std::env::args().nth(2);
    for (name, target) in TARGETS {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let dir = dir.clone().unwrap_or(format!("fuzz/corpus/{name}"));
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for entry in std::fs::read_dir(&dir)? {
            let data = std::fs::read(entry?.path())?;
            let key = match target(&data) {
                Outcome::Accepted => "ACCEPTED".to_string(),
                Outcome::Refused(why) => why.chars().take(60).collect(),
            };
            *counts.entry(key).or_default() += 1;
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        println!("== {name} ({dir})");
        for (outcome, count) in counts.iter() {
            println!("  {count:5} {outcome}");
        }
    }
    Ok(())
}
