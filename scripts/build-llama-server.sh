#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (CPU only, Release, no curl) from the llama.cpp sources vendored in the
# llama-cpp-python 0.3.36 sdist (the same llama.cpp version as scripts/llama-venv.sh), and prints its path.
# Cached: ${SHARD_CACHE_DIR:-~/.cache/shard}/llama-server/bin/llama-server; a second run only prints the path.
# Only the sdist itself is taken from source (`--no-binary llama-cpp-python`: with `:all:` pip would also build
# the sdist's build backend's own dependencies, cmake included, from source just to read its metadata). The server is
# built without its web UI (no npm, no download) and without OpenSSL; it still serves /completion.
# cmake comes from PyPI into a small pinned venv (${SHARD_CACHE_DIR:-~/.cache/shard}/cmake-venv).
# The first build takes 10-25 minutes on two cores; JOBS (default: nproc) sets the parallelism.
# Usage: server="$(scripts/build-llama-server.sh)"   (progress and errors on stderr)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/pinned-venv.sh

VERSION=0.3.36
CACHE="${SHARD_CACHE_DIR:-$HOME/.cache/shard}"
DEST="$CACHE/llama-server"
BIN="$DEST/bin/llama-server"
STAMP="$DEST/.shard-version"

if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "llama-cpp-python==$VERSION" ]; then
    echo "$BIN"
    exit 0
fi

py="$(pinned_venv cmake-venv cmake==4.2.1)"
cmake="$(dirname "$py")/cmake"

work="$DEST/work"
rm -rf "$work"
mkdir -p "$work"
echo "downloading the llama-cpp-python $VERSION sdist..." >&2
"$py" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
    --dest "$work" "llama-cpp-python==$VERSION" >&2
sdist="$(ls "$work"/llama_cpp_python-"$VERSION".tar.gz)"
tar -xzf "$sdist" -C "$work"
src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
[ -f "$src/CMakeLists.txt" ] || { echo "error: no llama.cpp sources in $sdist" >&2; exit 1; }

echo "building llama-server (Release, CPU, $(nproc) cores: 10-25 minutes)..." >&2
"$cmake" -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF >"$work/cmake.log" 2>&1 \
    || { tail -n 30 "$work/cmake.log" >&2; exit 1; }
"$cmake" --build "$work/build" --target llama-server -j "${JOBS:-$(nproc)}" >"$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; exit 1; }

mkdir -p "$DEST/bin"
cp "$work/build/bin/llama-server" "$BIN"
echo "llama-cpp-python==$VERSION" > "$STAMP"
rm -rf "$work"
echo "$BIN"
