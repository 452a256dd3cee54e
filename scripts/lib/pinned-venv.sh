# Sourced by the venv scripts: pinned_venv NAME PIN... ensures ${SHARD_CACHE_DIR:-~/.cache/shard}/NAME is a venv
# holding exactly the pinned PyPI packages (re-made when the pins change) and prints its python.
# PYTHON=... picks the base python3.
pinned_venv() {
    local name="$1"
    shift
    local cache="${SHARD_CACHE_DIR:-$HOME/.cache/shard}"
    local venv="$cache/$name" stamp="$cache/$name/.shard-pins"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
        mkdir -p "$cache"
        "${PYTHON:-python3}" -m venv "$venv" >&2 \
            || { echo "error: '${PYTHON:-python3} -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2 \
            || { echo "error: pip install $* failed (PyPI unreachable?)" >&2; exit 1; }
        echo "$*" > "$stamp"
    fi
    echo "$venv/bin/python"
}
