//! A minimal Debian image made from this host's own installed packages,
//! because no image can be pulled from a registry: the essential packages
//! a `dpkg -i` and the package's maintainer scripts need (and what they
//! depend on), their files as `dpkg -L` lists them, their records in the
//! dpkg database, and `/etc/passwd` and `/etc/group` from base-passwd's
//! masters. Only on a Debian host (dpkg-query); imported with `docker
//! import` under a tag made of the packages and their versions, so it is
//! built once per host and reused.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What the image starts from; their dependencies come along.
const SEED_PACKAGES: &[&str] = &[
    "base-files",
    "base-passwd",
    "bash",
    "coreutils",
    "dash",
    "debianutils",
    "diffutils",
    "dpkg",
    "findutils",
    "grep",
    "gzip",
    "init-system-helpers",
    "libc-bin",
    "login",
    "passwd",
    "sed",
    "tar",
    "util-linux",
];
/// Most packages the closure may hold (a few dozen in practice).
const PACKAGES_MAX: usize = 200;

fn query(args: &[&str]) -> Option<String> {
    let out = Command::new("dpkg-query").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn installed(package: &str) -> bool {
    query(&["-W", "-f=${db:Status-Status}", package]).is_some_and(|s| s.trim() == "installed")
}

/// `a (>= 1) | b, c:any` → `[[a, b], [c]]`.
fn parse_depends(field: &str) -> Vec<Vec<String>> {
    field
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|alternatives| {
            alternatives
                .split('|')
                .filter_map(|a| a.split_whitespace().next())
                .map(|a| a.split(':').next().unwrap_or(a).to_string())
                .collect()
        })
        .collect()
}

/// The seeds and `extra` with everything they depend on (installed here).
fn closure(extra: &[String]) -> Result<BTreeSet<String>, String> {
    let mut todo: Vec<String> = SEED_PACKAGES.iter().map(|s| s.to_string()).collect();
    todo.extend(extra.iter().cloned());
    let mut have = BTreeSet::new();
    while let Some(package) = todo.pop() {
        if have.contains(&package) {
            continue;
        }
        if !installed(&package) {
            return Err(format!("package {package} is not installed on this host"));
        }
        let depends = query(&["-W", "-f=${Pre-Depends}, ${Depends}", &package]).unwrap_or_default();
        have.insert(package);
        if have.len() > PACKAGES_MAX {
            return Err(format!("more than {PACKAGES_MAX} packages"));
        }
        for alternatives in parse_depends(&depends) {
            // The first alternative installed here; a virtual package
            // (awk) is met by the real one its alternative names.
            if let Some(real) = alternatives.into_iter().find(|a| installed(a)) {
                todo.push(real);
            }
        }
    }
    Ok(have)
}

/// `path` with its parent's symbolic links resolved (`/bin/sh` is
/// `/usr/bin/sh` on a merged-/usr system), if it exists.
fn canonical(path: &str) -> Option<PathBuf> {
    let path = Path::new(path);
    let parent = path.parent()?.canonicalize().ok()?;
    let full = parent.join(path.file_name()?);
    full.symlink_metadata().ok().map(|_| full)
}

/// Every path under `dir`, relative to `root`, parents first.
fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_path_buf());
        }
        if path.is_dir() {
            collect(root, &path, out);
        }
    }
}

/// The image's tag for these packages at their versions.
fn tag_for(packages: &BTreeSet<String>) -> String {
    let mut hasher = blake3::Hasher::new();
    // How the image is made: a change to this file makes a new tag.
    hasher.update(include_bytes!("host_image.rs"));
    for p in packages {
        let version = query(&["-W", "-f=${Version}", p]).unwrap_or_default();
        hasher.update(format!("{p}={version}\n").as_bytes());
    }
    let hex = hasher.finalize().to_hex();
    format!("kopnet-debian-host:{}", &hex[..16])
}

/// Make (or find) the image; `extra` are the package's own dependencies.
/// Err says why it cannot be made here.
pub fn ensure(extra: &[String]) -> Result<String, String> {
    if query(&["--version"]).is_none() {
        return Err("this host has no dpkg-query (not Debian)".into());
    }
    let packages = closure(extra)?;
    let tag = tag_for(&packages);
    let exists = Command::new("docker")
        .args(["image", "inspect", &tag])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if exists {
        return Ok(tag);
    }
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let extra_root = work.path().join("root");
    std::fs::create_dir_all(&extra_root).map_err(|e| e.to_string())?;
    {
        // The archive's `./` entry becomes the image's `/`.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&extra_root, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut status = String::new();
    for package in &packages {
        let listed = query(&["-L", package]).unwrap_or_default();
        files.extend(listed.lines().filter(|l| *l != "/.").filter_map(canonical));
        status.push_str(&query(&["-s", package]).unwrap_or_default());
        status.push('\n');
        for entry in std::fs::read_dir("/var/lib/dpkg/info").map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let stem = name.rsplit_once('.').map_or("", |(stem, _)| stem);
            if stem == package || stem.strip_suffix(":amd64") == Some(package) {
                files.insert(path);
            }
        }
    }
    // The merged-/usr links, the alternatives (awk -> mawk) and the dpkg
    // database's other files.
    for link in [
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/etc/alternatives",
        "/var/lib/dpkg/alternatives",
    ] {
        if Path::new(link).symlink_metadata().is_ok() {
            files.insert(PathBuf::from(link));
        }
    }
    for dir in ["/etc/alternatives", "/var/lib/dpkg/alternatives"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            files.insert(entry.path());
        }
    }
    // Made fresh rather than copied from this host.
    let write = |path: &str, text: &str| -> Result<(), String> {
        let target = extra_root.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::write(&target, text).map_err(|e| e.to_string())
    };
    let master =
        |name: &str| std::fs::read_to_string(format!("/usr/share/base-passwd/{name}.master"));
    let passwd = master("passwd").map_err(|e| format!("base-passwd: {e}"))?;
    let group = master("group").map_err(|e| format!("base-passwd: {e}"))?;
    let shadow: String = passwd
        .lines()
        .filter_map(|l| l.split(':').next())
        .map(|user| format!("{user}:*:19000:0:99999:7:::\n"))
        .collect();
    let gshadow: String = group
        .lines()
        .filter_map(|l| l.split(':').next())
        .map(|g| format!("{g}:*::\n"))
        .collect();
    write("etc/passwd", &passwd)?;
    write("etc/group", &group)?;
    write("etc/shadow", &shadow)?;
    write("etc/gshadow", &gshadow)?;
    write(
        "etc/nsswitch.conf",
        "passwd: files\ngroup: files\nshadow: files\nhosts: files\n",
    )?;
    write("var/lib/dpkg/status", &status)?;
    write("var/lib/dpkg/available", "")?;
    write("var/lib/dpkg/diversions", "")?;
    write("var/lib/dpkg/statoverride", "")?;
    for dir in [
        "tmp",
        "var/tmp",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
        "var/log",
        "root",
        "run",
    ] {
        std::fs::create_dir_all(extra_root.join(dir)).map_err(|e| e.to_string())?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        for tmp in ["tmp", "var/tmp"] {
            std::fs::set_permissions(
                extra_root.join(tmp),
                std::fs::Permissions::from_mode(0o1777),
            )
            .map_err(|e| e.to_string())?;
        }
    }
    // The host's files (without recursion: exactly the listed ones; the
    // leading `/` dropped from names, not from link targets), then the
    // made ones, as one stream into `docker import`.
    let list = work.path().join("files");
    // What was made replaces the host's; a path may be in the archive
    // once only (`docker import` refuses duplicates).
    let mut made: Vec<PathBuf> = Vec::new();
    collect(&extra_root, &extra_root, &mut made);
    let made_set: BTreeSet<PathBuf> = made
        .iter()
        .filter(|p| !extra_root.join(p).is_dir())
        .map(|p| Path::new("/").join(p))
        .collect();
    let names: String = files
        .iter()
        .filter(|p| !made_set.contains(*p))
        .map(|p| format!("{}\n", p.display()))
        .collect();
    std::fs::write(&list, names).map_err(|e| e.to_string())?;
    let made_list = work.path().join("made");
    let made_names: String = made
        .iter()
        .filter(|p| {
            let absolute = Path::new("/").join(p);
            // A folder the host's files already bring stays theirs.
            !(files.contains(&absolute) && extra_root.join(p).is_dir())
        })
        .map(|p| format!("{}\n", p.display()))
        .collect();
    std::fs::write(&made_list, made_names).map_err(|e| e.to_string())?;
    let archive = work.path().join("image.tar");
    let tar = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("tar")
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "tar {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let archive_arg = archive.to_str().unwrap();
    let list_arg = list.to_str().unwrap();
    tar(&[
        "-cf",
        archive_arg,
        "--no-recursion",
        "-P",
        "--transform",
        "s,^/,,S",
        "-T",
        list_arg,
    ])?;
    let made_arg = made_list.to_str().unwrap();
    tar(&[
        "-rf",
        archive_arg,
        "--no-recursion",
        "-C",
        extra_root.to_str().unwrap(),
        "-T",
        made_arg,
    ])?;
    let mut import = Command::new("docker")
        .args(["import", "-", &tag])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("docker import: {e}"))?;
    let bytes = std::fs::read(&archive).map_err(|e| e.to_string())?;
    import
        .stdin
        .take()
        .ok_or("docker import: no stdin")?
        .write_all(&bytes)
        .map_err(|e| format!("docker import: {e}"))?;
    let out = import.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "docker import: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(tag)
}
