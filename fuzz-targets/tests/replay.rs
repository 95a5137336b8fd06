//! Replays every kept corpus file (`fuzz/corpus/<target>/`) through the
//! function its fuzz target runs: a fast regression on the stable
//! toolchain, not a fuzz run. A file that panics here is a crash the
//! fuzzer once found (or a property since broken). Also checks that every
//! target accepts its seeds, so no target stops short at its first check.

use kopnet_fuzz_targets::{seeds, Outcome, TARGETS};
use std::path::{Path, PathBuf};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_replays_through_its_target() {
    let mut summary = Vec::new();
    for (name, target) in TARGETS {
        let dir = corpus_dir(name);
        let files = files(&dir);
        assert!(!files.is_empty(), "{} has no corpus", dir.display());
        let mut accepted = 0;
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data))
                .unwrap_or_else(|_| panic!("{} panics {name}", file.display()));
            accepted += usize::from(outcome == Outcome::Accepted);
        }
        summary.push(format!(
            "{name}: {} files, {accepted} accepted",
            files.len()
        ));
    }
    println!("{}", summary.join("\n"));
}

#[test]
fn every_target_accepts_its_seeds() {
    let all = seeds::all();
    assert_eq!(
        all.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        TARGETS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "one seed list per target, in order"
    );
    for (name, seeds) in all {
        let target = kopnet_fuzz_targets::target(name).unwrap();
        assert!(!seeds.is_empty(), "{name} has no seeds");
        for (i, seed) in seeds.iter().enumerate() {
            assert_eq!(
                target(seed),
                Outcome::Accepted,
                "{name} seed {i}: {}",
                String::from_utf8_lossy(seed)
            );
        }
    }
}

/// Every fuzz binary in `fuzz/fuzz_targets/` is a target here, and back.
#[test]
fn fuzz_binaries_and_targets_match() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    let mut binaries: Vec<String> = files(&dir)
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    binaries.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(binaries, names);
}
