#!/usr/bin/env python3
"""The cluster benchmark (`make bench-cluster`): the sidecar and its peers as separate processes, in separate
network namespaces, pinned to cores; batch-1 decode, concurrent streams, peer scaling with added link latency, and
llama.cpp's llama-server as the single-machine anchor. Writes docs/performance.md (+ .png) on a full run.

Run through Benchmarks/run-cluster-bench.sh, which builds nothing itself but finds the binaries, models and venv.
`bench.py --cleanup` only removes what an aborted run left (namespaces, links, processes).
"""
import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import resource
import signal
import subprocess
import urllib.request
import sys
import time
from pathlib import Path

import config
import loadgen
import procs
import report
import topology

PID_FILE = config.REPO / ".build-bench/cluster/pids"


def log(message=""):
    print(message, flush=True)


def machine_description():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, {platform.system()} " \
           f"{platform.release()}"


# ---- configurations -------------------------------------------------------------------------------------------------
class Config:
    """One way of serving the model: in-process stages, N peers (optionally behind delay relays), or llama-server."""

    def __init__(self, key, label, pinning, local_shards=0, peers=0, latency_ms=0.0, relay=False,
                 sidecar_core=None, llama=False):
        self.key, self.label, self.pinning = key, label, pinning
        self.local_shards, self.peers, self.latency_ms = local_shards, peers, latency_ms
        self.relay = relay or latency_ms > 0
        self.sidecar_core = sidecar_core
        self.llama = llama


def inproc(shards, core=None):
    where = "unpinned" if core is None else f"core {core}"
    label = f"in-process, {shards} stage{'s' if shards > 1 else ''}" + ("" if core is None else f" (core {core})")
    return Config(f"inproc{shards}" + ("" if core is None else f"-c{core}"), label, where, local_shards=shards,
                  sidecar_core=core)


def peers(n, latency_ms=0.0, relay=False):
    cores = config.peer_cores(n)
    sidecar = config.sidecar_core(n)
    pinning = "peers on cores " + "/".join(cores) + "; sidecar " + (f"core {sidecar}" if sidecar else "unpinned")
    label = f"{n} peer{'s' if n > 1 else ''}"
    if relay or latency_ms:
        label += f", +{latency_ms:g} ms"
    return Config(f"peers{n}" + (f"-{latency_ms:g}ms" if relay or latency_ms else ""), label, pinning, peers=n,
                  latency_ms=latency_ms, relay=relay, sidecar_core=sidecar)


LLAMA = Config("llama", "llama.cpp llama-server", f"unpinned, -t {config.THREADS}", llama=True)


class Deployment:
    """The running processes of one configuration; `address` is where the load generator connects."""

    def __init__(self, bench, model, cfg, slots=1):
        self.bench, self.model, self.cfg, self.slots = bench, model, cfg, slots
        name = f"{model.key}-{cfg.key}" + (f"-np{slots}" if cfg.llama else "")
        self.group = procs.ProcessGroup(bench.log_dir / name, PID_FILE)
        self.address = None
        self.peer_health = []   # each peer's /health (its compute time and steps)

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.group.stop_all()
            raise
        return self

    def __exit__(self, *exc):
        self.group.stop_all()

    def _start(self):
        topo, sidecar, model, cfg = self.bench.topo, self.bench.sidecar, self.model, self.cfg
        if cfg.llama:
            host = topo.host("ls")
            port = 9300
            argv = topo.wrap("ls", config.llama_server(self.bench.llama_server, model, host, port, self.slots))
            process = self.group.start("llama-server", argv, listening_timeout=None)
            procs.wait_http(f"http://{host}:{port}/health", process, 180, "llama-server /health")
            self.address = (host, port)
            return
        urls = []
        for i, core in enumerate(config.peer_cores(cfg.peers)):
            role = f"p{i}"
            host = topo.host(role)
            peer = self.group.start(f"peer{i}", topo.wrap(role, sidecar.peer(model, i, cfg.peers, host, 0, core)))
            peer_host, peer_port = peer.address
            if cfg.relay:
                relay = self.group.start(f"relay{i}", topo.wrap(role, config.relay(
                    host, peer_host, peer_port, cfg.latency_ms)))
                peer_host, peer_port = relay.address
            self.peer_health.append(f"http://{peer.address[0]}:{peer.address[1]}/health")
            urls.append(config.peer_url(peer_host, peer_port))
        host = topo.host("sc")
        argv = topo.wrap("sc", sidecar.serve(model, host, 0, cfg.local_shards, urls, cfg.sidecar_core))
        process = self.group.start("sidecar", argv)
        self.address = process.address
        procs.sidecar_ready(f"http://{self.address[0]}:{self.address[1]}", process)

    def wave(self, streams, tokens, tag):
        host, port = self.address
        if self.cfg.llama:
            coroutine = loadgen.llama_wave(host, port, streams, tokens, self.model.prompts)
        else:
            coroutine = loadgen.sidecar_wave(host, port, streams, tokens, self.model.prompts, tag=tag)
        meter = OtherLoad(self.group)
        wave = asyncio.run(coroutine)
        wave.other_load = meter.cores()
        self.group.check_alive()
        return wave


def log_level(label, streams, summary, client_cpu=True):
    """One line per concurrency level of a sweep."""
    log(f"    {label:28s} {streams:4d} streams: {summary['agg_tok_s']:8.1f} tok/s  "
        f"TTFT p50 {report.fmt(summary['ttft_p50_ms'])} ms  ITL p50 {report.fmt(summary['itl_p50_ms'])} "
        f"p99 {report.fmt(summary['itl_p99_ms'])} ms  "
        + (f"client CPU {summary['client_cpu'] * 100:.0f}%  " if client_cpu else "")
        + f"other load {report.fmt(summary['other_load'], 2)}"
        + (f"  ERRORS: {'; '.join(summary['errors'])}" if summary["errors"] else ""))


def peer_health(urls):
    """Every peer's /health document, or None without peers (or on an error)."""
    if not urls:
        return None
    documents = []
    try:
        for url in urls:
            with urllib.request.urlopen(url, timeout=5) as answer:
                documents.append(json.loads(answer.read()))
    except (OSError, ValueError):
        return None
    return documents


def peer_compute(health):
    """(compute seconds, steps) of decode steps summed over the peers' /health documents, or None (or on a missing
    field). Decode steps alone: a prefill step computes many rows, and the batch-1 rate it is compared with counts
    decoded tokens only. A peer that does not report them (an older build) gives all its steps."""
    try:
        if all("decode_steps" in h for h in health):
            return sum(h["decode_compute_seconds"] for h in health), sum(h["decode_steps"] for h in health)
        return sum(h["compute_seconds"] for h in health), sum(h["steps"] for h in health)
    except (TypeError, KeyError):
        return None


def peer_layers(health):
    """The peers' layer ranges from their /health documents ("0:5, 5:9"), or None."""
    try:
        return ", ".join(f"{h['layers'][0]}:{h['layers'][1]}" for h in health) or None
    except (TypeError, KeyError, IndexError):
        return None


class OtherLoad:
    """CPU used meanwhile by processes that are not the benchmark's (another build on the machine): the machine's
    busy time minus that of the benchmark's processes, its children and the harness itself, in cores."""

    def __init__(self, group=None):
        self.group = group
        self.start = self._sample()

    def _sample(self):
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        if self.group is not None:
            ours += self.group.cpu_seconds()
        return time.monotonic(), procs.machine_busy_seconds(), ours

    def cores(self):
        (t0, busy0, ours0), (t1, busy1, ours1) = self.start, self._sample()
        return max(0.0, (busy1 - busy0) - (ours1 - ours0)) / max(t1 - t0, 1e-9)


# ---- the benchmark --------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.sidecar = config.Sidecar(args.sidecar)
        self.llama_server = args.llama_server
        self.llama_note = args.llama_note
        self.levels = config.QUICK_CONCURRENCY if self.quick else config.CONCURRENCY
        self.stream_tokens = config.QUICK_STREAM_TOKENS if self.quick else config.STREAM_TOKENS
        self.batch1_tokens = config.QUICK_BATCH1_TOKENS if self.quick else config.BATCH1_TOKENS
        self.batch1_repeats = config.QUICK_BATCH1_REPEATS if self.quick else config.BATCH1_REPEATS
        self.scaling_repeats = 1 if self.quick else config.SCALING_REPEATS
        self.growth_repeats = 1 if self.quick else config.GROWTH_REPEATS
        self.remote_repeats = 1 if self.quick else config.REMOTE_REPEATS
        self.latencies = config.QUICK_LATENCIES_MS if self.quick else config.LATENCIES_MS
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.out_dir = config.REPO / ".build-bench/cluster" / stamp
        self.log_dir = self.out_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.topo = None
        self.goal_lines = []
        self.wave_counter = 0

    def tag(self):
        self.wave_counter += 1
        return f"b{self.wave_counter}"

    def goal(self, label, value, goal):
        line = report.goal_line(label, value, goal)
        self.goal_lines.append(line)
        log("  >> " + line)

    # -- engine alone ----------------------------------------------------------------------------------------------
    COMPLETE_TIMING = re.compile(r"prompt (\d+) tokens, prefill ([\d.]+) tok/s; generated (\d+) tokens, "
                                 r"decode ([\d.]+)")

    def complete_once(self, model, core=None, tokens=None):
        """(decode tok/s, prefill ms, problem) of one `shard-sidecar complete --shards 1` run."""
        tokens = tokens or self.batch1_tokens
        argv = self.sidecar.complete(model, model.prompts[0], tokens, shards=1, core=core)
        meter = OtherLoad()
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        self.last_other_load = meter.cores()
        match = self.COMPLETE_TIMING.search(result.stderr)
        if result.returncode != 0 or not match:
            raise procs.StartError(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")
        generated = int(match.group(3))
        problem = "" if generated >= tokens else f"`complete` stopped after {generated} of {tokens} tokens"
        return float(match.group(4)), int(match.group(1)) / float(match.group(2)) * 1000, problem

    def complete(self, model, core=None):
        """Median decode tok/s and prefill time (ms) of `complete --shards 1` over the repeats (after one
        warm-up run)."""
        self.complete_once(model, core)
        runs, loads = [], []
        for _ in range(self.batch1_repeats):
            runs.append(self.complete_once(model, core))
            loads.append(self.last_other_load)
        return {"decode_tok_s": report.median([r[0] for r in runs]), "ttft_ms": report.median([r[1] for r in runs]),
                "errors": sorted({r[2] for r in runs if r[2]}), "other_load": max(loads)}

    # -- one configuration -------------------------------------------------------------------------------------------
    def batch1(self, deployment):
        deployment.wave(1, 8, self.tag())   # warm-up
        before = peer_compute(peer_health(deployment.peer_health))
        waves = [deployment.wave(1, self.batch1_tokens, self.tag()) for _ in range(self.batch1_repeats)]
        summary = report.summarize_batch1(waves)
        health = peer_health(deployment.peer_health)
        after = peer_compute(health)
        if before is not None and after is not None and summary["decode_tok_s"]:
            # Per token: the client's time between tokens minus what the peers spent computing; spread over the
            # hops (sidecar -> first peer, peer -> peer, last peer -> sidecar).
            steps = after[1] - before[1]
            compute_ms = 1000.0 * (after[0] - before[0]) / max(steps / len(deployment.peer_health), 1)
            overhead = 1000.0 / summary["decode_tok_s"] - compute_ms
            summary["hop_overhead_ms"] = overhead / (len(deployment.peer_health) + 1)
            summary["peer_compute_ms"] = compute_ms
        layers = peer_layers(health)
        if layers:
            summary["layers"] = layers
        return summary

    def sweep(self, deployment):
        """The concurrency levels once each, then the GROWTH_LEVELS alternately until each has GROWTH_REPEATS
        waves: the @64/@16 figure compares two waves that would otherwise be a minute apart on a VM whose speed
        drifts by tens of percent within minutes (docs/performance.md). Those levels report their median wave."""
        levels = []
        deployment.wave(4, 8, self.tag())   # warm-up
        for streams in self.levels:
            wave = deployment.wave(streams, self.stream_tokens, self.tag())
            summary = report.summarize_wave(wave)
            levels.append(summary)
            log_level(deployment.cfg.label, streams, summary)
        growth = {streams: [lv for lv in levels if lv["streams"] == streams] for streams in config.GROWTH_LEVELS}
        if all(growth.values()):
            for _ in range(self.growth_repeats - 1):
                for streams in config.GROWTH_LEVELS:
                    summary = report.summarize_wave(deployment.wave(streams, self.stream_tokens, self.tag()))
                    growth[streams].append(summary)
                    log_level(deployment.cfg.label + " (again)", streams, summary)
            levels = [report.with_runs(growth[lv["streams"]]) if lv["streams"] in growth else lv for lv in levels]
        return levels

    def batch1_row(self, cfg, summary):
        pinning = cfg.pinning + (f"; layers {summary['layers']}" if summary.get("layers") else "")
        row = {"key": cfg.key, "label": cfg.label, "pinning": pinning, **summary}
        log(f"    batch-1 {cfg.label:36s} [{cfg.pinning}]: {report.fmt(summary['decode_tok_s'])} tok/s, "
            f"TTFT {report.fmt(summary['ttft_ms'])} ms, other load {report.fmt(summary.get('other_load'), 2)}"
            + (f", peers compute {report.fmt(summary['peer_compute_ms'], 2)} ms/token, overhead beyond compute "
               f"{report.fmt(summary['hop_overhead_ms'], 2)} ms per hop" if "hop_overhead_ms" in summary else "")
            + (f"  ERRORS: {'; '.join(summary['errors'])}" if summary.get("errors") else ""))
        return row

    def llama_levels(self, model):
        """llama-server restarted per level with -np = the level's streams; batch-1 from a 1-slot server."""
        levels, batch1 = [], None
        for streams in self.levels:
            with Deployment(self, model, LLAMA, slots=streams) as deployment:
                deployment.wave(min(streams, 4), 8, self.tag())   # warm-up
                if streams == 1:
                    batch1 = self.batch1(deployment)
                wave = deployment.wave(streams, self.stream_tokens, self.tag())
                summary = report.summarize_wave(wave)
                levels.append(summary)
                log_level(LLAMA.label, streams, summary, client_cpu=False)
        return levels, batch1

    # -- one model ----------------------------------------------------------------------------------------------------
    def run_model(self, model):
        log(f"\n== {model.label}: {model.path}")
        result = {"key": model.key, "label": model.label, "batch1": [], "sweep": [], "scaling": [],
                  "scaling_streams": config.SCALING_STREAMS}
        if not model.path.exists():
            result["skipped"] = f"{model.path} not found (`make models` fetches and makes the models)"
            log("  skipped: " + result["skipped"])
            return result
        engine = Config("engine", "engine alone (`complete --shards 1`)", "unpinned")
        engine_c0 = Config("engine-c0", "engine alone (core 0)", "core 0")
        result["batch1"].append(self.batch1_row(engine, self.complete(model)))
        result["batch1"].append(self.batch1_row(engine_c0, self.complete(model, core="0")))

        sweep_configs = [inproc(2), inproc(1), peers(1), peers(2), peers(3)]
        for cfg in [inproc(1, core="0")] + sweep_configs:
            with Deployment(self, model, cfg) as deployment:
                result["batch1"].append(self.batch1_row(cfg, self.batch1(deployment)))
                if cfg in sweep_configs:
                    result["sweep"].append({"key": cfg.key, "label": cfg.label, "pinning": cfg.pinning,
                                            "levels": self.sweep(deployment)})
        result["remote"] = self.remote_vs_inproc(model)
        if self.llama_server:
            levels, batch1 = self.llama_levels(model)
            result["sweep"].append({"key": "llama", "label": LLAMA.label, "pinning": LLAMA.pinning,
                                    "levels": levels})
            if batch1:
                result["batch1"].append(self.batch1_row(LLAMA, batch1))
        result["scaling"] = self.scaling(model, result["sweep"])
        self.model_goals(model, result)
        return result

    def remote_vs_inproc(self, model):
        """Batch-1 decode through one remote peer holding every layer (peer on core 0, sidecar on core 1) and through
        one in-process stage (the sidecar on core 0): both deployed at once and measured alternately
        REMOTE_REPEATS times, so that the VM's drift falls on both alike (the batch-1 table's rows of the two are
        minutes apart). Medians."""
        runs = {"inproc": [], "peer": []}
        with Deployment(self, model, inproc(1, core="0")) as local, Deployment(self, model, peers(1)) as remote:
            for deployment in (local, remote):
                deployment.wave(1, 8, self.tag())   # warm-up
            for _ in range(self.remote_repeats):
                for key, deployment in (("inproc", local), ("peer", remote)):
                    wave = deployment.wave(1, self.batch1_tokens, self.tag())
                    runs[key].append(report.decode_rate(wave.streams[0].arrivals) if not wave.errors else None)
        result = {key: report.median([r for r in values if r]) for key, values in runs.items()}
        result.update(runs=self.remote_repeats, inproc_runs=runs["inproc"], peer_runs=runs["peer"])
        log(f"    batch-1 alternating, one peer / in-process (core 0): {report.fmt(result['peer'])} / "
            f"{report.fmt(result['inproc'])} tok/s (medians of {self.remote_repeats})")
        return result

    def scaling(self, model, sweep):
        """Aggregate tok/s at SCALING_STREAMS: 1 peer on 1 core vs 2 peers on 2 cores, per added latency."""
        streams = config.SCALING_STREAMS
        at = {c["key"]: next((lv for lv in c["levels"] if lv["streams"] == streams), None) for c in sweep}
        rows = []
        settings = [(latency, latency > 0) for latency in self.latencies]
        if not self.quick:
            settings.insert(1, (0.0, True))   # the relay's own cost, with no delay
        for latency, relay in settings:
            # The goal's figure (direct links): one and two peers alternately, SCALING_REPEATS times each, so that
            # this VM's drift (step times move by tens of percent within minutes) falls on both alike; the sweep's
            # single waves, minutes apart, join them. The latency figures: one wave each.
            repeats = self.scaling_repeats if not relay else 1
            runs = {1: [at["peers1"]] if not relay and at.get("peers1") else [],
                    2: [at["peers2"]] if not relay and at.get("peers2") else []}
            for _ in range(repeats - (1 if runs[1] and runs[2] else 0)):
                for count in (1, 2):
                    cfg = peers(count, latency, relay)
                    with Deployment(self, model, cfg) as deployment:
                        deployment.wave(4, 8, self.tag())   # warm-up
                        summary = report.summarize_wave(deployment.wave(streams, self.stream_tokens, self.tag()))
                        runs[count].append(summary)
                        log(f"    {cfg.label:28s} {streams:4d} streams: {summary['agg_tok_s']:8.1f} tok/s  "
                            f"ITL p50 {report.fmt(summary['itl_p50_ms'])} ms  "
                            f"other load {report.fmt(summary['other_load'], 2)}"
                            + (f"  ERRORS: {'; '.join(summary['errors'])}" if summary["errors"] else ""))
            one, two = (report.median_summary(runs[1]), report.median_summary(runs[2]))
            # ITL p50 at 16 streams is the time of one step: how much each added ms of link latency costs
            rows.append({"latency_ms": latency, "relay": relay, "one": one["agg_tok_s"], "two": two["agg_tok_s"],
                         "one_itl_ms": one["itl_p50_ms"], "two_itl_ms": two["itl_p50_ms"],
                         "runs": min(len(runs[1]), len(runs[2])),
                         "one_runs": [r["agg_tok_s"] for r in runs[1]], "two_runs": [r["agg_tok_s"] for r in runs[2]],
                         "other_load": max((r.get("other_load") or 0) for r in runs[1] + runs[2])})
        return rows

    def model_goals(self, model, result):
        name = model.label
        for row in result["scaling"]:
            how = f"{row['latency_ms']:g} ms" + (" via relay" if row["relay"] and not row["latency_ms"] else "")
            self.goal(f"[{name}] two peers / one peer @{config.SCALING_STREAMS} streams, {how}",
                      report.ratio(row["two"], row["one"]), 1.8)
        for c in result["sweep"]:
            at = {lv["streams"]: lv for lv in c["levels"]}
            if 64 in at and 16 in at and c["key"] != "llama":
                runs = min(at[64].get("runs", 1), at[16].get("runs", 1))
                how = f" (medians of {runs} alternating runs)" if runs > 1 else ""
                self.goal(f"[{name}] {c['label']}: agg tok/s @64 / @16 streams{how}",
                          report.ratio(at[64]["agg_tok_s"], at[16]["agg_tok_s"]), 1.0)
        remote = result.get("remote") or {}
        how = f", medians of {remote['runs']} alternating runs" if remote.get("runs", 1) > 1 else ""
        self.goal(f"[{name}] one remote peer holding every layer / in-process stage (both computing on core 0), "
                  f"batch-1 decode{how}", report.ratio(remote.get("peer"), remote.get("inproc")), 0.95)
        llama = next((c for c in result["sweep"] if c["key"] == "llama"), None)
        default = next((c for c in result["sweep"] if c["key"] == "inproc2"), None)
        if llama and default:
            la = {lv["streams"]: lv["agg_tok_s"] for lv in llama["levels"]}
            for lv in default["levels"]:
                value = report.ratio(lv["agg_tok_s"], la.get(lv["streams"]))
                if value:
                    line = (f"[{name}] sidecar (2 in-process stages) / llama-server @{lv['streams']} streams: "
                            f"{value:.2f}x (anchor, no goal)")
                    self.goal_lines.append(line)
                    log("  >> " + line)

    def run_fixture(self):
        """Batch-1 decode through the sidecar (--local-shards 1, one /ws/generate stream) vs `complete --shards 1`,
        alternating the two FIXTURE_REPEATS times so that drift of the machine affects both alike."""
        model = config.FIXTURE
        log(f"\n== {model.label}: {model.path}")
        complete, sidecar, problems, loads = [], [], set(), []
        with Deployment(self, model, inproc(1)) as deployment:
            tokens = config.FIXTURE_TOKENS
            self.complete_once(model, tokens=tokens)
            deployment.wave(1, 8, self.tag())   # warm-up
            for _ in range(config.FIXTURE_REPEATS):
                rate, _, problem = self.complete_once(model, tokens=tokens)
                complete.append(rate)
                problems.add(problem)
                loads.append(self.last_other_load)
                wave = deployment.wave(1, tokens, self.tag())
                loads.append(wave.other_load)
                sidecar.append(report.decode_rate(wave.streams[0].arrivals))
                problems.update(wave.errors)
        problems.discard("")
        result = {"complete": report.median(complete), "sidecar": report.median([r for r in sidecar if r]),
                  "runs": config.FIXTURE_REPEATS, "tokens": config.FIXTURE_TOKENS, "errors": sorted(problems),
                  "other_load": max(loads)}
        log(f"    complete --shards 1: {report.fmt(result['complete'])} tok/s; sidecar --local-shards 1: "
            f"{report.fmt(result['sidecar'])} tok/s (medians of {config.FIXTURE_REPEATS} alternating runs)"
            + (f"  ERRORS: {'; '.join(result['errors'])}" if result["errors"] else ""))
        self.goal("[fixture] tok/s through the sidecar / `complete --shards 1`",
                  report.ratio(result["sidecar"], result["complete"]), 0.8)
        return result

    def run(self):
        models = []
        for key in [k.strip() for k in self.args.models.split(",") if k.strip()]:
            if key not in config.MODELS:
                log(f"unknown model {key!r} in BENCH_MODELS (known: {', '.join(config.MODELS)})")
                continue
            models.append(self.run_model(config.MODELS[key]))
            # what is measured so far survives an interrupted run
            (self.out_dir / "results.partial.json").write_text(json.dumps(models, indent=1, default=str))
        fixture = self.run_fixture()
        return models, fixture


def choose_topology(mode):
    if mode == "0":
        return topology.Loopback(), "BENCH_NETNS=0: loopback, no namespaces"
    permitted, why = topology.netns_permitted()
    if permitted:
        return topology.Namespaces(log), ""
    if mode == "1":
        raise SystemExit(f"BENCH_NETNS=1 but network namespaces are not available: {why}")
    return topology.Loopback(), f"network namespaces not available ({why}); running on loopback"


def cleanup(log_fn=log):
    procs.kill_recorded(PID_FILE, log_fn)
    if os.geteuid() == 0:
        topology.cleanup_stale(log_fn)


def _terminated(number, frame):
    print(f"\nsignal {number}: stopping every process and removing the namespaces", file=sys.stderr, flush=True)
    sys.exit(128 + number)


def main():
    parser = argparse.ArgumentParser(description="shard-sidecar cluster benchmark")
    parser.add_argument("--sidecar", default=os.environ.get("BENCH_SIDECAR", ".build/release/shard-sidecar"))
    parser.add_argument("--models", default=None)
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    parser.add_argument("--netns", default=os.environ.get("BENCH_NETNS", "auto"), choices=["auto", "0", "1"])
    parser.add_argument("--llama-server", default="", help="llama-server binary ('' skips llama.cpp)")
    parser.add_argument("--llama-note", default="", help="why llama-server is unavailable")
    parser.add_argument("--doc", default=None, help="Markdown file to write (default: docs/performance.md on a "
                        "full run, the run's directory on a quick one)")
    parser.add_argument("--cleanup", action="store_true", help="only remove what an aborted run left")
    args = parser.parse_args()
    lock = procs.RunLock()
    if args.cleanup:
        if lock.acquire("cleanup"):   # never while another run is live: its namespaces are not stale
            cleanup()
        return 0
    if not (os.path.isfile(args.sidecar) and os.access(args.sidecar, os.X_OK)):
        print(f"error: {args.sidecar} is not an executable (BENCH_SIDECAR, or --sidecar)", file=sys.stderr)
        return 1
    if not lock.acquire(f"Benchmarks/cluster/bench.py in {config.REPO}"):
        print(f"error: another cluster benchmark is running ({lock.holder}; lock {lock.path}). Two runs would "
              "share the cores and the namespaces: wait for it to end.", file=sys.stderr)
        return 75
    if args.models is None:
        args.models = os.environ.get("BENCH_MODELS") or (config.QUICK_MODELS if args.quick else config.DEFAULT_MODELS)
    # SIGTERM (and SIGHUP) end the run through the same `finally` as Ctrl-C; SIGINT is handled even when this
    # process was started with it ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminated)

    bench = Bench(args)
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    cleanup()
    topo, topo_note = choose_topology(args.netns)
    bench.topo = topo
    if topo_note:
        log(f"note: {topo_note}")
    if not args.llama_server:
        log(f"llama-server unavailable: {args.llama_note or 'not given'} (continuing without the anchor)")
    log(f"machine: {machine_description()}; load average {loadavg}")
    log(f"topology: {topo.name}; logs: {bench.log_dir}")
    started = time.monotonic()
    try:
        topo.setup()
        models, fixture = bench.run()
    finally:
        topo.teardown()
    results = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine_description(), "loadavg": loadavg,
        "loadavg_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]), "binary": args.sidecar,
        "topology": topo.name + (f" ({topo_note})" if topo_note else ""), "quick": args.quick,
        "stream_tokens": bench.stream_tokens, "batch1_tokens": bench.batch1_tokens,
        "batch1_repeats": bench.batch1_repeats, "models": models, "fixture": fixture,
        "goal_lines": bench.goal_lines, "llama_note": "" if args.llama_server else
        f"unavailable: {args.llama_note or 'not given'}", "seconds": time.monotonic() - started,
    }
    results["disturbed"] = report.disturbed(results)
    (bench.out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    doc = Path(args.doc) if args.doc else (bench.out_dir / "performance.md" if args.quick
                                           else config.REPO / "docs/performance.md")
    png = doc.with_suffix(".png")
    results["plot_note"] = report.plot(results, png)
    preamble = (config.HERE / "performance-preamble.md").read_text()
    report.write_document(doc, report.render(results, png.name), preamble)

    log("\n== ratios")
    for line in bench.goal_lines:
        log("  " + line)
    if results["disturbed"]:
        log("\nwarning: " + report.disturbed_text(results["disturbed"]))
    for model in models:
        if model.get("batch1"):
            log(f"\n{model['label']}: batch-1")
            log(report.text_table(report.BATCH1_HEADERS, report.batch1_rows(model["batch1"])))
        if model.get("sweep"):
            log(f"\n{model['label']}: concurrent streams")
            log(report.text_table(report.SWEEP_HEADERS[:-1], [r[:-1] for r in report.sweep_rows(model["sweep"])]))
    log(f"\nwrote {doc}" + (f" and {png}" if not results["plot_note"] else f" (no plot: {results['plot_note']})")
        + f"; raw results in {bench.out_dir}/results.json; took {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except procs.StartError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted; stopped every process and removed the namespaces", file=sys.stderr)
        sys.exit(130)
