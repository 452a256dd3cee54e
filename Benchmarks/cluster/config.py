"""Every command line the cluster benchmark runs is built here, and only here.

The sidecar's CLI changes while the scheduler is being rewritten; adjust the flags in this file. Flags that not every
build has (`serve --micro-batches`, `serve --hidden-dtype`) are passed only when `shard-sidecar serve --help` lists
them (see `Sidecar.has_serve_flag`). The pinning policy (which core each process gets) is here too.
"""
import functools
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# ---- the load ----------------------------------------------------------------------------------------------------
CONCURRENCY = [1, 4, 16, 64, 256]
QUICK_CONCURRENCY = [1, 16, 64]
STREAM_TOKENS = 64           # max_new_tokens (and min_tokens) of every stream in a wave
QUICK_STREAM_TOKENS = 16
BATCH1_TOKENS = 128          # tokens of one batch-1 measurement (decode tok/s over tokens 2..N)
QUICK_BATCH1_TOKENS = 32
BATCH1_REPEATS = 3           # batch-1 runs per configuration (the median is reported)
QUICK_BATCH1_REPEATS = 1
LATENCIES_MS = [0, 1, 5]     # one-way delay added to every sidecar <-> peer link, both directions
QUICK_LATENCIES_MS = [0, 5]
SCALING_STREAMS = 16         # "two peers vs one peer" is measured at this many streams
SCALING_REPEATS = 3          # ... on direct links, alternating one and two peers this many times (medians)
REMOTE_REPEATS = 5           # "one remote peer / an in-process stage" at batch 1: both deployed at once, alternately
GROWTH_LEVELS = (16, 64)     # "agg tok/s at 64 streams / at 16": each configuration runs these two levels
GROWTH_REPEATS = 3           # ... alternately this many times (the sweep's waves count as the first; medians)
PEER_SECRET = "bench-cluster-secret"
MAX_BATCH = 64               # serve --max-batch (its default today; named so the table can say it)

# ---- pinning (2-core policy; on more cores the same cores 0 and 1 are used) --------------------------------------
# one peer:     peer on core 0, sidecar on core 1
# N peers:      peer i on core i mod 2, sidecar unpinned
# in-process:   the sidecar unpinned (its stages use every core), and once pinned to core 0 for the
#               "remote peer / in-process stage" ratio (both then compute on one core)
# llama-server: unpinned, -t = THREADS
THREADS = int(os.environ.get("BENCH_THREADS", "2"))


def peer_cores(n_peers):
    return [str(i % 2) for i in range(n_peers)]


def sidecar_core(n_peers):
    return "1" if n_peers == 1 else None


def taskset(core, argv):
    """argv pinned to `core` (a taskset -c list), or unchanged for None."""
    return argv if core is None else ["taskset", "-c", core] + argv


# ---- the models -----------------------------------------------------------------------------------------------------
MODEL_DIR = Path(os.environ.get("SHARD_MODEL_DIR")
                 or Path(os.environ.get("SHARD_CACHE_DIR") or Path.home() / ".cache/shard") / "models")


@dataclass
class Model:
    key: str                 # name in BENCH_MODELS
    label: str               # name in the tables
    path: Path
    layers: int
    tokenizer: Path = None   # SentencePiece file; None: the GGUF's own vocabulary
    prompts: list = field(default_factory=list)


KJV_PROMPTS = [
    "In the beginning God created the heaven and the earth.",
    "And the LORD spake unto Moses, saying,",
    "Blessed are the poor in spirit: for theirs is the kingdom of heaven.",
    "The LORD is my shepherd; I shall not want.",
    "And it came to pass in those days,",
    "Let not your heart be troubled: ye believe in God,",
    "For God so loved the world, that he gave his only begotten Son,",
    "And God said, Let there be light: and there was light.",
]
CHAT_PROMPTS = [
    "The history of the printing press begins",
    "Here is a short recipe for bread:",
    "The three most important ideas in physics are",
    "Once upon a time, in a small village by the sea,",
    "To install the program, first",
    "The difference between a list and a tuple in Python is",
    "Dear team, I am writing to let you know",
    "The weather in the mountains changes quickly because",
]
FIXTURE_DIR = REPO / "Fixtures/kjv-tiny"

MODELS = {
    "synthetic": Model("synthetic", "synthetic 100M Q8_0", REPO / ".build-bench/synthetic-100m-q8_0.gguf", 9,
                       FIXTURE_DIR / "tokenizer.model", KJV_PROMPTS),
    "smollm2": Model("smollm2", "SmolLM2-135M Q8_0", MODEL_DIR / "SmolLM2-135M-Instruct.Q8_0.gguf", 30,
                     None, CHAT_PROMPTS),
    "smollm2-q4_1": Model("smollm2-q4_1", "SmolLM2-135M Q4_1", MODEL_DIR / "SmolLM2-135M-Instruct.Q4_1.gguf", 30,
                          None, CHAT_PROMPTS),
}
DEFAULT_MODELS = "synthetic,smollm2"
QUICK_MODELS = "synthetic"
# The fixture ends most prompts with end-of-sequence within a few tokens, and `complete` has no min_tokens: this
# prompt runs past 200 tokens greedily, so both sides of the fixture ratio generate the same tokens.
FIXTURE = Model("fixture", "kjv-tiny Q8_0 (fixture)", FIXTURE_DIR / "model-q8_0.gguf", 6,
                FIXTURE_DIR / "tokenizer.model", ["For God so loved the world"])
FIXTURE_REPEATS = 7          # alternating `complete` and sidecar runs (the fixture decodes in ~30 ms: noisy)
FIXTURE_TOKENS = 128         # also on a quick run: fewer tokens arrive in too few bursts to time decode


def layer_ranges(layers, parts):
    """Even split of 0..<layers into `parts` contiguous ranges (9, 3 -> 0:3, 3:6, 6:9); [] for no parts. Only for
    builds without `peer --part`."""
    if parts <= 0:
        return []
    bounds = [layers * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts)]


# ---- shard-sidecar ----------------------------------------------------------------------------------------------------
class Sidecar:
    def __init__(self, binary):
        self.binary = str(binary)

    @functools.cached_property
    def serve_help(self):
        return subprocess.run([self.binary, "serve", "--help"], capture_output=True, text=True).stdout

    def has_serve_flag(self, flag):
        return f"{flag} " in self.serve_help or f"{flag}\n" in self.serve_help

    def serve(self, model, host, port, local_shards, peers=(), core=None):
        argv = [self.binary, "serve", "--model", str(model.path), "--host", host, "--port", str(port),
                "--local-shards", str(local_shards), "--max-batch", str(MAX_BATCH)]
        if model.tokenizer:
            argv += ["--tokenizer", str(model.tokenizer)]
        for url in peers:
            argv += ["--peer", url]
        if peers:
            argv += ["--peer-secret", PEER_SECRET]
        if self.has_serve_flag("--micro-batches"):
            argv += ["--micro-batches", "0"]           # 0 = the sidecar's own choice
        return taskset(core, argv)

    @functools.cached_property
    def peer_help(self):
        return subprocess.run([self.binary, "peer", "--help"], capture_output=True, text=True).stdout

    def peer(self, model, part, parts, host, port, core=None):
        """Peer `part` (0-based) of `parts`: `--part` (the sidecar's split by cost) where the build has it, else the
        even split by layer count."""
        if "--part " in self.peer_help:
            layers = ["--part", f"{part + 1}/{parts}"]
        else:
            start, end = layer_ranges(model.layers, parts)[part]
            layers = ["--layers", f"{start}:{end}"]
        argv = [self.binary, "peer", "--model", str(model.path)] + layers + [
                "--host", host, "--port", str(port), "--secret", PEER_SECRET]
        return taskset(core, argv)

    def complete(self, model, prompt, tokens, shards=1, core=None):
        argv = [self.binary, "complete", "--model", str(model.path), "--prompt", prompt,
                "--max-new-tokens", str(tokens), "--temperature", "0", "--shards", str(shards)]
        if model.tokenizer:
            argv += ["--tokenizer", str(model.tokenizer)]
        return taskset(core, argv)


def peer_url(host, port):
    return f"ws://{host}:{port}/peer"


# ---- the delay relay --------------------------------------------------------------------------------------------------
def relay(listen_host, target_host, target_port, delay_ms, python=sys.executable):
    return [python, str(HERE / "relay.py"), "--listen", f"{listen_host}:0",
            "--connect", f"{target_host}:{target_port}", "--delay-ms", str(delay_ms)]


# ---- llama.cpp's llama-server -----------------------------------------------------------------------------------------
LLAMA_SLOT_CONTEXT = 256     # context per slot: prompt (< 40 tokens) + 64 generated, with room


def llama_server(binary, model, host, port, slots, threads=THREADS):
    # -np slots decode together (continuous batching); -c is the context of all slots together.
    return [str(binary), "-m", str(model.path), "--host", host, "--port", str(port), "-t", str(threads),
            "-tb", str(threads), "-np", str(slots), "-c", str(LLAMA_SLOT_CONTEXT * slots), "-b", "2048",
            "-ub", "512", "--no-warmup"]
