# Sourced by the demo scripts: start_sidecar LOG OUT ARGS... starts `shard-sidecar ARGS...` in the background,
# stops it when the script exits (also on Ctrl-C), and returns once it listens (`listening on HOST:PORT` on
# stdout), or exits with its log if it fails or takes more than a minute.
start_sidecar() {
    local log="$1" out="$2"
    shift 2
    .build/release/shard-sidecar "$@" >"$out" 2>"$log" &
    SIDECAR=$!
    trap 'kill -TERM "$SIDECAR" 2>/dev/null || true; wait "$SIDECAR" 2>/dev/null || true' EXIT
    trap 'exit 130' INT TERM
    for _ in $(seq 1 600); do
        grep -q "listening on" "$out" 2>/dev/null && return 0
        if ! kill -0 "$SIDECAR" 2>/dev/null; then
            echo "shard-sidecar failed to start:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "shard-sidecar did not start in 60 s" >&2
    exit 1
}
