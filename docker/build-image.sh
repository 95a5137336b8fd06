#!/usr/bin/env bash
# Build the kopnet node image FROM scratch from a release build:
#   docker/build-image.sh [TAG]        (default tag: kopnet-node:latest)
# Nothing is pulled: the context holds the binary, the shared libraries
# `ldd` lists for it and the dynamic loader, each at its absolute path.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-kopnet-node:latest}
cargo build --release --bin kopnet
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp target/release/kopnet "$ctx/kopnet"
ldd target/release/kopnet | grep -o '/[^ ]*' | while read -r lib; do
  mkdir -p "$ctx$(dirname "$lib")"
  cp -L "$lib" "$ctx$lib"
done
mkdir -p "$ctx/tmp"
chmod 1777 "$ctx/tmp"   # writable by the image's non-root user
cp docker/Dockerfile "$ctx/Dockerfile"
docker build -q -t "$tag" "$ctx"
echo "built $tag"
