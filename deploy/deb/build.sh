#!/usr/bin/env bash
# Build the kopnet Debian package:
#   deploy/deb/build.sh            -> target/debian/kopnet_<version>_<arch>.deb
# A release build of kopnet, the completion scripts and manual pages it
# generates from its own command definitions (`kopnet completions --dir`,
# `kopnet man --dir`), then cargo-deb with the table
# [package.metadata.deb] of cli/Cargo.toml. Needs cargo-deb once:
#   cargo install cargo-deb
# The commit in `kopnet --version` comes from git, or from
# KOPNET_GIT_COMMIT when building outside a checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -p kopnet-cli
generated="$target/release/generated"
rm -rf "$generated"
"$target/release/kopnet" completions --dir "$generated/completions"
"$target/release/kopnet" man --dir "$generated/man"
if ! cargo deb --version >/dev/null 2>&1; then
  echo "cargo-deb is not installed: cargo install cargo-deb" >&2
  exit 1
fi
cargo deb -p kopnet-cli --no-build
