//! `kopnet node state-sync` (the work is in
//! `kopnet_node::snapshots::state_sync`).

use super::node::Progress;
use anyhow::{bail, Result};
use kopnet_node::snapshots::state_sync::{self, Trust};
use std::path::Path;

/// Start the ledger of the home at `home` from a snapshot of `from`.
pub async fn state_sync(
    home: &Path,
    from: &[String],
    trust_block: Option<&str>,
    trust_from: Option<&str>,
    json: bool,
) -> Result<i32> {
    let trust = match (trust_block, trust_from) {
        (Some(block), None) => Trust::parse_block(block)?,
        (None, Some(url)) => Trust::From(url.to_string()),
        _ => bail!(
            "name the block you trust: --trust-block HEIGHT:HASH, or --trust-from URL (a node you trust; its newest block)"
        ),
    };
    let mut headers = Progress::new("headers");
    let mut chunks = Progress::new("snapshot chunks");
    let summary = state_sync::state_sync(home, from, trust, |p| match p {
        state_sync::Progress::Headers { done, total } => headers.show(done, total),
        state_sync::Progress::Chunk { done, total } => chunks.show(done as u64, total as u64),
    })
    .await?;
    if json {
        crate::output::print_json(&serde_json::json!({
                "trusted_height": summary.trusted_height,
                "snapshot_height": summary.snapshot_height,
                "manifest_id": summary.manifest_id.to_hex(),
                "state_root": summary.state_root.to_hex(),
                "chunks": summary.chunks,
                "snapshot_bytes": summary.snapshot_bytes,
                "downloaded_bytes": summary.downloaded_bytes,
                "headers": summary.headers,
                "height": summary.height,
                "refused_chunks": summary.refused_chunks,
                "sources": summary.sources,
                "elapsed_ms": summary.elapsed_ms,
                "fetch_ms": summary.fetch_ms,
                "import_ms": summary.import_ms,
                "open_ms": summary.open_ms,
                "blocks_ms": summary.blocks_ms,
        }));
        return Ok(0);
    }
    say!(
        "state-synced {} to height {} from the snapshot at height {} (root {}), tied to trusted block {} by {} headers",
        home.display(),
        summary.height,
        summary.snapshot_height,
        summary.state_root,
        summary.trusted_height,
        summary.headers
    );
    say!(
        "downloaded {} bytes ({} of snapshot in {} chunks, {} refused) from {} in {} ms (fetching {} ms, importing {} ms, opening {} ms, two blocks {} ms)",
        summary.downloaded_bytes,
        summary.snapshot_bytes,
        summary.chunks,
        summary.refused_chunks,
        summary.sources.join(", "),
        summary.elapsed_ms,
        summary.fetch_ms,
        summary.import_ms,
        summary.open_ms,
        summary.blocks_ms
    );
    say!(
        "start it with: kopnet node run --home {}  (it catches up the blocks after height {})",
        home.display(),
        summary.height
    );
    Ok(0)
}
