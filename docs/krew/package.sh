#!/usr/bin/env bash
# Builds kubectl shipdeck's krew archives and writes the manifest with
# their digests: target/krew/kubectl-shipdeck-vVERSION-OS-ARCH.tar.gz and
# target/krew/shipdeck.yaml, from docs/krew/shipdeck.yaml.
#
#   docs/krew/package.sh                      # this machine's platform
#   docs/krew/package.sh x86_64-unknown-linux-gnu aarch64-apple-darwin
#
# Each Rust target given must be installed (rustup target add) with a
# linker for it. A platform of the manifest with no archive built keeps its
# SHA256_ placeholder, and the manifest says so at its top: krew refuses
# it until every platform it lists has been built.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
built_in=${CARGO_TARGET_DIR:-target}
out=$built_in/krew
mkdir -p "$out"
# The template without its comments, for this version.
manifest="# Written by docs/krew/package.sh from docs/krew/shipdeck.yaml.
$(grep -v '^#' docs/krew/shipdeck.yaml | sed "s/v[0-9][0-9.]*[0-9]/v$version/g")"

platform_of() {
  case "$1" in
    x86_64-unknown-linux-*) echo linux-amd64 ;;
    aarch64-unknown-linux-*) echo linux-arm64 ;;
    x86_64-apple-darwin) echo darwin-amd64 ;;
    aarch64-apple-darwin) echo darwin-arm64 ;;
    *) echo "no krew platform for the Rust target $1" >&2; exit 2 ;;
  esac
}

host=$(rustc -vV | sed -n 's/^host: //p')
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("$host")
for target in "${targets[@]}"; do
  platform=$(platform_of "$target")
  if [ "$target" = "$host" ]; then
    cargo build --release --locked --bin kubectl-shipdeck
    built=$built_in/release/kubectl-shipdeck
  else
    cargo build --release --locked --bin kubectl-shipdeck --target "$target"
    built=$built_in/$target/release/kubectl-shipdeck
  fi
  stage=$(mktemp -d)
  cp "$built" README.md "$stage/"
  archive="$out/kubectl-shipdeck-v$version-$platform.tar.gz"
  tar -C "$stage" -czf "$archive" kubectl-shipdeck README.md
  rm -rf "$stage"
  if command -v sha256sum >/dev/null; then
    digest=$(sha256sum "$archive" | cut -d' ' -f1)
  else
    digest=$(shasum -a 256 "$archive" | cut -d' ' -f1)   # macOS
  fi
  manifest=${manifest//SHA256_${platform//-/_}/$digest}
  echo "$archive  $digest"
done

if grep -q "sha256: SHA256_" <<<"$manifest"; then
  left=$(grep -o "SHA256_[a-z0-9_]*" <<<"$manifest" | sed 's/SHA256_//; s/_/-/' | tr '\n' ' ')
  manifest="# NOT READY: no archive built for: $left
$manifest"
fi
printf '%s\n' "$manifest" > "$out/shipdeck.yaml"
echo "$out/shipdeck.yaml"
