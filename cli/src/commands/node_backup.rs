//! `kopnet node backup` and `kopnet node restore` (the work is in
//! `kopnet_node::backup`).

use super::node::Progress;
use anyhow::Result;
use std::path::Path;

/// Back up the node at `home` into `out` (read at `node` when given).
pub async fn backup(home: &Path, out: &Path, node: Option<&str>) -> Result<i32> {
    let mut progress = Progress::new("backing up");
    let summary =
        kopnet_node::backup::create::create(home, out, node, |h, top| progress.show(h, top))
            .await?;
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!({
            "node": summary.header.node,
            "chain_id": summary.header.chain_id,
            "height": summary.header.height,
            "read_from": summary.source,
            "file": out.display().to_string(),
            "home_files": summary.files,
            "snapshot_height": summary.snapshot,
            "blocks": summary.blocks,
            "members": summary.members,
            "bytes": summary.bytes,
        }));
    }
    say!(
        "backed up {} (chain {}, height {}, read from its {}) to {}: {} home files, {}{} blocks, {} members' personal data, {} bytes",
        summary.header.node,
        summary.header.chain_id,
        summary.header.height,
        summary.source,
        out.display(),
        summary.files,
        starting_point(summary.snapshot),
        summary.blocks,
        summary.members,
        summary.bytes
    );
    say!("the file holds the node's keys and its members' personal data: keep it like the keys");
    Ok(0)
}

/// How the chain in a backup starts, before its block count: from block 1
/// (nothing said) or from a snapshot.
fn starting_point(snapshot: Option<u64>) -> String {
    snapshot.map_or_else(String::new, |h| {
        format!("the snapshot at height {h} and the ")
    })
}

/// Restore the backup `from` into the new home `home`.
pub async fn restore(from: &Path, home: &Path) -> Result<i32> {
    let (from, home) = (from.to_path_buf(), home.to_path_buf());
    let shown = home.display().to_string();
    let summary = tokio::task::spawn_blocking(move || {
        let mut progress = Progress::new("restoring");
        kopnet_node::backup::restore::restore(&from, &home, |h, top| progress.show(h, top))
    })
    .await??;
    let start = if summary.header.role == "validator" {
        format!("kopnet node run --home {shown} --new-safety-record")
    } else {
        format!("kopnet node run --home {shown}")
    };
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!({
            "node": summary.header.node,
            "chain_id": summary.header.chain_id,
            "home": shown,
            "home_files": summary.files,
            "snapshot_height": summary.header.snapshot_height,
            "blocks": summary.blocks,
            "members": summary.members,
            "start": start,
        }));
        return Ok(0);
    }
    say!(
        "restored {} (chain {}) into {shown}: {} home files, {}{} blocks verified and executed, {} members' personal data",
        summary.header.node,
        summary.header.chain_id,
        summary.files,
        starting_point(summary.header.snapshot_height),
        summary.blocks,
        summary.members
    );
    if summary.header.role == "validator" {
        say!(
            "start it with: {start}  (the safety record is never in a backup: the node follows the chain without signing until its double-sign check passes)"
        );
    } else {
        say!("start it with: {start}");
    }
    Ok(0)
}
