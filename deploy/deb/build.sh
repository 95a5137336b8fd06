#!/usr/bin/env bash
# Build the kopnet Debian package:
#   deploy/deb/build.sh        -> $CARGO_TARGET_DIR/debian/kopnet_<version>-1_<arch>.deb
# A release build of kopnet, the completion scripts and manual pages it
# generates from its own command definitions (`kopnet completions --dir`,
# `kopnet man --dir`), then cargo-deb with the table
# [package.metadata.deb] of cli/Cargo.toml. Needs cargo-deb once:
#   cargo install --locked cargo-deb
# The commit in `kopnet --version` comes from git, or from
# KOPNET_GIT_COMMIT when building outside a checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! cargo deb --version >/dev/null 2>&1; then
  echo "cargo-deb is not installed: cargo install --locked cargo-deb" >&2
  exit 1
fi
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -p kopnet-cli
generated="$target/release/generated"
rm -rf "$generated"
"$target/release/kopnet" completions --dir "$generated/completions"
"$target/release/kopnet" man --dir "$generated/man"
gzip -9n "$generated"/man/*.1   # Debian ships manual pages compressed
# The release profile keeps debug info (Cargo.toml, for backtraces): in the
# package it moves, compressed, to /usr/lib/debug/.build-id/ (where
# debuggers look for it by build id), and /usr/bin/kopnet is stripped.
cargo deb -p kopnet-cli --no-build --separate-debug-symbols --compress-debug-symbols=zlib
