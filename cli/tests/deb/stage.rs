//! The Debian package built from `[package.metadata.deb]` of
//! cli/Cargo.toml with dpkg-deb, the way cargo-deb reads that table
//! (`deploy/deb/build.sh` is the release path): every asset at its
//! destination with its mode (`target/release/` meaning the binary under
//! test and what it generates, manual pages gzipped as build.sh does), the
//! maintainer scripts, and a control file from the table's fields. (Not
//! what build.sh adds on cargo-deb's command line: the debug symbols moved
//! to a separate file.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// The table, parsed.
pub struct DebMetadata {
    pub name: String,
    pub depends: String,
    table: toml::Table,
}

fn text<'a>(table: &'a toml::Table, key: &str) -> &'a str {
    table
        .get(key)
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("[package.metadata.deb] has no {key}"))
}

pub fn metadata() -> DebMetadata {
    let manifest = cli_dir().join("Cargo.toml");
    let parsed: toml::Table = std::fs::read_to_string(&manifest).unwrap().parse().unwrap();
    let table = parsed["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]")
        .clone();
    DebMetadata {
        name: text(&table, "name").to_string(),
        depends: text(&table, "depends").to_string(),
        table,
    }
}

fn cli_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `target/release/PATH` is here: the binary under test, or what it
/// generates (`generated/`, as `deploy/deb/build.sh` makes it).
fn built(path: &str, generated: &Path) -> PathBuf {
    match path.strip_prefix("generated/") {
        Some(rest) => generated.join(rest),
        None if path == "kopnet" => PathBuf::from(env!("CARGO_BIN_EXE_kopnet")),
        None => panic!("no built file {path}"),
    }
}

/// Copy `from` to `to` (a folder when it ends in `/`) with `mode`.
fn place(from: &Path, to: &str, mode: u32, root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut target = root.join(to.trim_start_matches('/'));
    if to.ends_with('/') {
        target = target.join(from.file_name().unwrap());
    }
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(from, &target).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Build the package into `work`; returns the .deb's path.
pub fn build(meta: &DebMetadata, work: &Path) -> PathBuf {
    let generated = work.join("generated");
    let kopnet = env!("CARGO_BIN_EXE_kopnet");
    let completions = generated.join("completions");
    run(Command::new(kopnet)
        .arg("completions")
        .arg("--dir")
        .arg(&completions));
    run(Command::new(kopnet)
        .arg("man")
        .arg("--dir")
        .arg(generated.join("man")));
    // As build.sh: Debian ships manual pages compressed.
    let pages: Vec<PathBuf> = std::fs::read_dir(generated.join("man"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    run(Command::new("gzip").arg("-9n").args(&pages));
    let root = work.join("root");
    for asset in meta.table["assets"].as_array().unwrap() {
        let asset = asset.as_array().unwrap();
        let (source, to, mode) = (
            asset[0].as_str().unwrap(),
            asset[1].as_str().unwrap(),
            u32::from_str_radix(asset[2].as_str().unwrap(), 8).unwrap(),
        );
        let sources: Vec<PathBuf> = match source.strip_prefix("target/release/") {
            Some(path) => match path.strip_suffix("/*") {
                Some(dir) => std::fs::read_dir(built(dir, &generated))
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect(),
                None => vec![built(path, &generated)],
            },
            None => vec![cli_dir().join(source)],
        };
        assert!(!sources.is_empty(), "asset {source} matched nothing");
        for from in sources {
            place(&from, to, mode, &root);
        }
    }
    let debian = root.join("DEBIAN");
    std::fs::create_dir_all(&debian).unwrap();
    let scripts = cli_dir().join(text(&meta.table, "maintainer-scripts"));
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        if scripts.join(script).is_file() {
            place(
                &scripts.join(script),
                &format!("DEBIAN/{script}"),
                0o755,
                &root,
            );
        }
    }
    std::fs::write(debian.join("control"), control(meta, &root)).unwrap();
    let deb = work.join(format!("{}.deb", meta.name));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(&deb));
    deb
}

/// `DEBIAN/control` from the table (and the workspace's version).
fn control(meta: &DebMetadata, root: &Path) -> String {
    let t = &meta.table;
    let arch = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .unwrap();
    let arch = String::from_utf8_lossy(&arch.stdout).trim().to_string();
    let size_kib = {
        let out = Command::new("du").args(["-sk"]).arg(root).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or("0")
            .to_string()
    };
    let extended: String = text(t, "extended-description")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "Package: {}\nVersion: {}\nArchitecture: {arch}\nMaintainer: {}\nInstalled-Size: {size_kib}\n\
         Depends: {}\nSection: {}\nPriority: {}\nDescription: {}\n {extended}\n",
        meta.name,
        env!("CARGO_PKG_VERSION"),
        text(t, "maintainer"),
        meta.depends,
        text(t, "section"),
        text(t, "priority"),
        env!("CARGO_PKG_DESCRIPTION"),
    )
}
