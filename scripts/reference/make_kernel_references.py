#!/usr/bin/env python3
"""Record llama.cpp's own dot products of quantized weight rows with quantized activations, bit for bit, as the
reference of the engine's kernel test: Fixtures/reference/kernel-dot-products.json.

For each weight type that llama.cpp's x86 CPU backend multiplies with ggml_vec_dot_<type>_q8_<act> (not repacked:
Q4_1, Q5_0, Q5_1, Q8_0, Q3_K, Q5_K, Q6_K; llama-cpp-python 0.3.36 built for this machine, AVX2/AVX-512), on
seeded random blocks: the weight rows, the float activations (shared by all types), llama.cpp's quantization of them
(quantize_row_q8_0/q8_1/q8_K) and every row-by-activation product as float32 bit patterns (product_bits[b][r]:
activation row b times weight row r). The functions are called
through ctypes in the llama venv's libggml-cpu; no model is needed.

Usage: "$(scripts/llama-venv.sh)" scripts/reference/make_kernel_references.py
"""
import base64
import ctypes
import json
import re
from pathlib import Path

import numpy as np
import llama_cpp

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "Fixtures" / "reference" / "kernel-dot-products.json"
ROWS, BATCH, COLUMNS, SEED = 4, 2, 512, 7

# name -> (ggml type, block values, block bytes, offsets of signed scale halves, of min halves, activation)
TYPES = {
    "q4_1": (3, 32, 20, [0], [2], "q8_1"),
    "q5_0": (6, 32, 22, [0], [], "q8_0"),
    "q5_1": (7, 32, 24, [0], [2], "q8_1"),
    "q8_0": (8, 32, 34, [0], [], "q8_0"),
    "q3_K": (11, 256, 110, [108], [], "q8_K"),
    "q5_K": (13, 256, 176, [0], [2], "q8_K"),
    "q6_K": (14, 256, 210, [208], [], "q8_K"),
}
ACT_BYTES = {"q8_0": (32, 34), "q8_1": (32, 36), "q8_K": (256, 292)}


def library():
    lib = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml-cpu.so"))
    lib.ggml_cpu_init()
    return lib


def random_weights(rng, type_info):
    _, values, size, scales, mins, _ = type_info
    blocks = ROWS * COLUMNS // values
    data = bytearray(rng.integers(0, 256, blocks * size, dtype=np.uint8).tobytes())
    for b in range(blocks):
        for offset in scales:
            data[b * size + offset:b * size + offset + 2] = np.float16(rng.uniform(-0.01, 0.01)).tobytes()
        for offset in mins:
            data[b * size + offset:b * size + offset + 2] = np.float16(rng.uniform(0, 0.01)).tobytes()
    return bytes(data)


def main():
    lib = library()
    rng = np.random.default_rng(SEED)
    # One set of activation rows for every type: normal values with a few 8x outliers.
    activations = rng.standard_normal(BATCH * COLUMNS) * np.where(rng.random(BATCH * COLUMNS) < 0.05, 8, 1)
    activations = activations.astype(np.float32)
    cases = []
    for name, info in TYPES.items():
        ggml_type, values, size, _, _, act = info
        weights = random_weights(rng, info)
        act_values, act_size = ACT_BYTES[act]
        act_row = COLUMNS // act_values * act_size
        quantized = ctypes.create_string_buffer(BATCH * act_row)
        quantize = getattr(lib, f"quantize_row_{act}")
        for b in range(BATCH):
            row = np.ascontiguousarray(activations[b * COLUMNS:(b + 1) * COLUMNS])
            quantize(row.ctypes.data_as(ctypes.c_void_p), ctypes.byref(quantized, b * act_row), ctypes.c_int64(COLUMNS))
        dot = getattr(lib, f"ggml_vec_dot_{name}_{act}")
        w_row = COLUMNS // values * size
        wbuf = ctypes.create_string_buffer(weights, len(weights))
        products = []
        for b in range(BATCH):
            out = []
            for r in range(ROWS):
                s = ctypes.c_float()
                dot(ctypes.c_int(COLUMNS), ctypes.byref(s), ctypes.c_size_t(0), ctypes.byref(wbuf, r * w_row),
                    ctypes.c_size_t(0), ctypes.byref(quantized, b * act_row), ctypes.c_size_t(0), ctypes.c_int(1))
                out.append(int(np.float32(s.value).view(np.uint32)))
            products.append(out)
        cases.append({"type": name, "ggml_type": ggml_type, "function": f"ggml_vec_dot_{name}_{act}",
                      "weights": base64.b64encode(weights).decode(),
                      "quantized_activations": base64.b64encode(quantized.raw).decode(),
                      "product_bits": products})
    ref = {"format": "shard.kernel-reference.v1", "generator": f"llama-cpp-python {llama_cpp.__version__}",
           "script": "scripts/reference/make_kernel_references.py",
           "system_info": llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip(),
           "rows": ROWS, "batch": BATCH, "columns": COLUMNS,
           "activations": base64.b64encode(activations.tobytes()).decode(), "cases": cases}
    text = json.dumps(ref, indent=1)
    text = re.sub(r"\[\s*([0-9, \n]+?)\s*\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)
    OUT.write_text(text + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(REPO)}: {len(cases)} types, {ROWS} rows x {BATCH} activations of {COLUMNS} values")


if __name__ == "__main__":
    main()
