"""Smoke tests of the cluster benchmark's harness logic; no root, namespaces, models or sidecar needed.

    python3 -m unittest discover -s Benchmarks/cluster -p 'test_*.py'
"""
import asyncio
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402
import config  # noqa: E402
import loadgen  # noqa: E402
import relay  # noqa: E402
import report  # noqa: E402


class StatisticsTests(unittest.TestCase):
    def test_percentile_interpolates_like_numpy(self):
        values = [5, 1, 4, 2, 3]
        self.assertEqual(report.percentile(values, 50), 3)
        self.assertEqual(report.percentile(values, 0), 1)
        self.assertEqual(report.percentile(values, 100), 5)
        self.assertAlmostEqual(report.percentile(values, 99), 4.96)
        self.assertAlmostEqual(report.percentile([1, 2, 3, 4], 50), 2.5)
        self.assertIsNone(report.percentile([], 50))
        self.assertEqual(report.percentile([7], 99), 7)

    def test_wave_summary(self):
        streams = [loadgen.Stream(sent=0.0, arrivals=[0.1, 0.2, 0.3]),
                   loadgen.Stream(sent=0.0, arrivals=[0.2, 0.4, 0.6])]
        wave = loadgen.Wave(streams, requested_tokens=3, start=0.0, end=0.6, client_cpu_s=0.06)
        s = report.summarize_wave(wave)
        self.assertEqual(s["tokens"], 6)
        self.assertAlmostEqual(s["agg_tok_s"], 10.0)
        self.assertAlmostEqual(s["ttft_p50_ms"], 150.0)
        self.assertAlmostEqual(s["itl_p50_ms"], 150.0)   # gaps 0.1, 0.1, 0.2, 0.2
        self.assertAlmostEqual(s["client_cpu"], 0.1)
        self.assertEqual(s["errors"], [])

    def test_short_streams_are_reported(self):
        wave = loadgen.Wave([loadgen.Stream(arrivals=[1.0])], requested_tokens=4, start=0, end=1, client_cpu_s=0)
        self.assertEqual(wave.errors, ["1 stream(s) ended before 4 tokens"])

    def test_decode_rate_excludes_the_first_token(self):
        self.assertAlmostEqual(report.decode_rate([1.0, 1.5, 2.0, 2.5]), 3 / 1.5)
        self.assertIsNone(report.decode_rate([1.0]))

    def test_scaling_takes_the_median_of_alternating_runs(self):
        runs = [{"agg_tok_s": v, "itl_p50_ms": v / 10} for v in (300.0, 250.0, 320.0)]
        self.assertEqual(report.median_summary(runs)["agg_tok_s"], 300.0)
        self.assertEqual(report.median_summary(runs[:2])["agg_tok_s"], 250.0)
        rows = report.scaling_rows([{"latency_ms": 0, "relay": False, "runs": 3, "one": 200.0, "two": 360.0},
                                    {"latency_ms": 5, "relay": True, "one": 150.0, "two": 200.0}])
        self.assertEqual(rows[0][0], "0 ms (direct, medians of 3 alternating runs)")
        self.assertEqual(rows[0][5], "1.80x")
        self.assertEqual(rows[1][0], "5 ms (relay)")

    def test_growth_levels_alternate_and_report_their_medians(self):
        rates = {16: iter([200.0, 260.0, 240.0]), 64: iter([150.0, 270.0, 250.0])}
        order = []

        class Deployment:
            cfg = bench.Config("x", "x", "unpinned")

            def wave(self, streams, tokens, tag):
                order.append(streams)
                rate = next(rates[streams]) if streams in rates and len(order) > 1 else 100.0
                arrivals = [i / rate * streams for i in range(1, tokens + 1)]
                return loadgen.Wave([loadgen.Stream(sent=0.0, arrivals=arrivals) for _ in range(streams)],
                                    requested_tokens=tokens, start=0.0, end=arrivals[-1], client_cpu_s=0.0)

        class Harness:
            levels, stream_tokens, growth_repeats = [1, 16, 64], 4, 3
            tag = lambda self: "t"   # noqa: E731

        levels = bench.Bench.sweep(Harness(), Deployment())
        self.assertEqual(order, [4, 1, 16, 64, 16, 64, 16, 64])   # warm-up, the sweep, then alternating
        at = {lv["streams"]: lv for lv in levels}
        self.assertEqual([lv["streams"] for lv in levels], [1, 16, 64])
        self.assertAlmostEqual(at[16]["agg_tok_s"], 240.0)
        self.assertAlmostEqual(at[64]["agg_tok_s"], 250.0)
        self.assertEqual(at[64]["runs"], 3)
        self.assertNotIn("runs", at[1])
        self.assertEqual(report.sweep_rows([{"label": "x", "levels": levels}])[1][-1],
                         "median of 3 alternating runs")

    def test_remote_and_inproc_batch1_alternate_in_two_live_deployments(self):
        order, live = [], []
        rates = {"inproc1-c0": iter([100.0, 120.0, 110.0]), "peers1": iter([90.0, 118.0, 105.0])}

        class Deployment:
            def __init__(self, bench_, model, cfg):
                self.cfg = cfg

            def __enter__(self):
                live.append(self.cfg.key)
                return self

            def __exit__(self, *exc):
                live.remove(self.cfg.key)

            def wave(self, streams, tokens, tag):
                order.append((self.cfg.key, tokens, sorted(live)))
                rate = 50.0 if tokens == 8 else next(rates[self.cfg.key])
                arrivals = [i / rate for i in range(tokens)]
                return loadgen.Wave([loadgen.Stream(sent=0.0, arrivals=arrivals)], requested_tokens=tokens,
                                    start=0.0, end=arrivals[-1], client_cpu_s=0.0)

        class Harness:
            remote_repeats, batch1_tokens = 3, 16
            tag = lambda self: "t"   # noqa: E731

        saved, bench.Deployment = bench.Deployment, Deployment
        try:
            result = bench.Bench.remote_vs_inproc(Harness(), None)
        finally:
            bench.Deployment = saved
        self.assertEqual([key for key, tokens, _ in order if tokens == 16], ["inproc1-c0", "peers1"] * 3)
        self.assertTrue(all(both == ["inproc1-c0", "peers1"] for _, _, both in order), "both deployed throughout")
        self.assertAlmostEqual(result["inproc"], 110.0)
        self.assertAlmostEqual(result["peer"], 105.0)
        self.assertEqual(result["runs"], 3)
        self.assertIn("medians of 3", report.render({"date": "d", "machine": "m", "loadavg": "l", "binary": "b",
                                                     "topology": "t", "stream_tokens": 64, "batch1_tokens": 16,
                                                     "batch1_repeats": 3, "quick": False, "goal_lines": [],
                                                     "models": [{"label": "x", "remote": result}]}, "p.png"))

    def test_goal_lines(self):
        self.assertEqual(report.goal_line("two / one", 1.934, 1.8), "two / one: 1.93x (goal >= 1.8x) MET")
        self.assertEqual(report.goal_line("x", 0.5, 1.0), "x: 0.50x (goal >= 1.0x) NOT MET")
        self.assertEqual(report.goal_line("x", None, 1.0), "x: n/a (goal >= 1.0x)")

    def test_document_keeps_the_text_around_the_generated_block(self):
        import tempfile
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "perf.md"
            report.write_document(path, f"{report.GENERATED_BEGIN}\none\n{report.GENERATED_END}\n", "# Title\n")
            path.write_text(path.read_text() + "\nhand-written tail\n")
            report.write_document(path, f"{report.GENERATED_BEGIN}\ntwo\n{report.GENERATED_END}\n", "# Title\n")
            text = path.read_text()
            self.assertTrue(text.startswith("# Title\n"))
            self.assertIn("two", text)
            self.assertNotIn("one", text)
            self.assertIn("hand-written tail", text)


class DisturbanceTests(unittest.TestCase):
    def test_measurements_with_other_load_are_listed(self):
        results = {"models": [{"label": "m", "batch1": [{"label": "engine", "other_load": 0.5}],
                               "sweep": [{"label": "1 peer", "levels": [{"streams": 16, "other_load": 0.01},
                                                                        {"streams": 64, "other_load": 0.9}]}],
                               "scaling": [{"latency_ms": 5, "other_load": 0.0}]}],
                   "fixture": {"other_load": 0.3}}
        self.assertEqual(report.disturbed(results), ["m batch-1 engine (0.50)", "m 1 peer @64 (0.90)", "fixture (0.30)"])

    def test_cpu_counters_read(self):
        import os
        import procs
        self.assertGreater(procs.machine_busy_seconds(), 0)
        self.assertGreaterEqual(procs.process_cpu_seconds(os.getpid()), 0)
        self.assertEqual(procs.process_cpu_seconds(2 ** 22 + 12345), 0.0)


class RunLockTests(unittest.TestCase):
    def test_a_second_run_is_refused_while_the_first_holds_the_lock(self):
        import subprocess
        import tempfile
        import procs
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "lock"
            first = procs.RunLock(path)
            self.assertTrue(first.acquire("first run"))
            probe = ("import sys; sys.path.insert(0, sys.argv[1]); import procs; "
                     "lock = procs.RunLock(sys.argv[2]); print(lock.acquire('second') or lock.holder)")
            here = str(Path(__file__).resolve().parent)
            out = subprocess.run([sys.executable, "-c", probe, here, str(path)], capture_output=True, text=True)
            self.assertIn("first run", out.stdout)
            first.release()
            out = subprocess.run([sys.executable, "-c", probe, here, str(path)], capture_output=True, text=True)
            self.assertEqual(out.stdout.strip(), "True")


class ConfigTests(unittest.TestCase):
    def test_even_layer_split(self):
        self.assertEqual(config.layer_ranges(9, 3), [(0, 3), (3, 6), (6, 9)])
        self.assertEqual(config.layer_ranges(30, 2), [(0, 15), (15, 30)])
        self.assertEqual(config.layer_ranges(30, 1), [(0, 30)])
        self.assertEqual(config.layer_ranges(9, 0), [])

    def test_peers_take_parts_of_the_split_by_cost(self):
        sidecar = config.Sidecar("/nonexistent")
        sidecar.__dict__["peer_help"] = "  --part <I/N>   Part I of N"
        model = config.MODELS["synthetic"]
        argv = sidecar.peer(model, 1, 2, "10.0.0.2", 0, core="1")
        self.assertEqual(argv[:3], ["taskset", "-c", "1"])
        self.assertEqual(argv[argv.index("--part") + 1], "2/2")
        sidecar.__dict__["peer_help"] = "  --layers <layers>"
        argv = sidecar.peer(model, 1, 2, "10.0.0.2", 0)
        self.assertEqual(argv[argv.index("--layers") + 1], "4:9")

    def test_peer_health_gives_compute_and_layers(self):
        health = [{"compute_seconds": 1.5, "steps": 10, "layers": [0, 5]},
                  {"compute_seconds": 0.5, "steps": 10, "layers": [5, 9]}]
        self.assertEqual(bench.peer_compute(health), (2.0, 20))
        self.assertEqual(bench.peer_layers(health), "0:5, 5:9")
        self.assertIsNone(bench.peer_compute(None))
        decode = [{"compute_seconds": 1.5, "steps": 10, "decode_compute_seconds": 0.9, "decode_steps": 9},
                  {"compute_seconds": 0.5, "steps": 10, "decode_compute_seconds": 0.3, "decode_steps": 9}]
        self.assertEqual(bench.peer_compute(decode), (1.2, 18))
        self.assertIsNone(bench.peer_layers(None))
        self.assertIsNone(bench.peer_layers([{"steps": 1}]))
        self.assertIsNone(bench.peer_health([]))

    def test_pinning_policy(self):
        self.assertEqual(config.peer_cores(1), ["0"])
        self.assertEqual(config.sidecar_core(1), "1")
        self.assertEqual(config.peer_cores(2), ["0", "1"])
        self.assertIsNone(config.sidecar_core(2))
        self.assertEqual(config.taskset("0", ["x"]), ["taskset", "-c", "0", "x"])
        self.assertEqual(config.taskset(None, ["x"]), ["x"])


class RelayTests(unittest.TestCase):
    def test_relay_delays_each_direction_and_keeps_the_bytes(self):
        async def scenario():
            async def echo(reader, writer):
                while data := await reader.read(1 << 16):
                    writer.write(data)
                    await writer.drain()
                writer.close()

            upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
            target = upstream.sockets[0].getsockname()[:2]
            server = await relay.serve(("127.0.0.1", 0), target, delay_ms=20, announce=False)
            reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
            payload = bytes(range(256)) * 4096   # 1 MiB: several chunks, order must hold
            start = time.perf_counter()
            writer.write(b"x")
            await reader.readexactly(1)
            round_trip = time.perf_counter() - start
            writer.write(payload)
            echoed = await reader.readexactly(len(payload))
            writer.close()
            server.close()
            upstream.close()
            return round_trip, echoed == payload

        round_trip, same = asyncio.run(scenario())
        self.assertTrue(same)
        self.assertGreaterEqual(round_trip, 0.040)   # 20 ms each way
        self.assertLess(round_trip, 0.5)


if __name__ == "__main__":
    unittest.main()
