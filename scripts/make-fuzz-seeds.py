#!/usr/bin/env python3
"""Writes the seed corpus of `make fuzz` into Tests/Fuzz/Corpus/TARGET/ (committed; small valid inputs that the
fuzzer mutates). Standard library only. The formats are those of docs/protocol.md (peer frames, serialized
vocabulary) and GGUF v3.

`--gguf-dir DIR` writes only the GGUF seed, into DIR: it is a (tiny) model file, so it is made when needed
(scripts/fuzz.py, FuzzCorpusTests) rather than committed."""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fuzz", "Corpus")


def write(target, name, data, directory=None):
    directory = directory or os.path.join(ROOT, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())


def requests():
    seeds = {
        "broadcast.json": {"request_id": "r1", "prompt_context": "And God said,", "max_new_tokens": 32},
        "websocket.json": {"prompt": "The LORD is my shepherd;", "max_new_tokens": 8, "temperature": 0.7,
                           "top_k": 40, "top_p": 0.9, "seed": 7, "stop": ["\n"], "min_tokens": 2},
        "ids.json": {"request_id": "ids", "input_token_ids": [1, 2, 3], "tokenizer": "utf8-bytes"},
        "chat.json": {"request_id": "c", "messages": [{"role": "system", "content": "Be brief."},
                                                       {"role": "user", "content": "Hi ✓ 光"}]},
        "cancel.json": {"event": "cancel", "request_id": "r1"},
        "resume.json": {"event": "resume", "request_id": "r1", "after": 41},
    }
    for name, value in seeds.items():
        write("request", name, json.dumps(value))
    write("request", "escapes.json", '{"prompt": "\\u0000\\ud83d\\ude4f\\n\\"x", "max_new_tokens": 100}')


def peer_frames():
    def frame(kind, dtype, step, slices, sampling=None, width=0, payload=b""):
        rows = sum(count for _, _, count in slices)
        head = struct.pack("<4sBBBBQIIII", b"SHRD", 1, kind, dtype, 1 if sampling else 0, step, len(slices), rows,
                           width, 0)
        body = b"".join(struct.pack("<QII", seq, start, count) for seq, start, count in slices)
        for temperature, top_p, top_k, min_tokens, generated, seed in sampling or []:
            body += struct.pack("<ffIIIIQ", temperature, top_p, top_k, min_tokens, generated, 0, seed)
        return head + body + payload

    write("peer-frame", "forward-tokens", frame(1, 0, 3, [(1, 0, 3), (2, 5, 1)], [(0, 1, 0, 1, 0, 1), (0.8, 0.9, 40, 1, 4, 9)],
                                                payload=struct.pack("<4i", 10, 11, 12, 13)))
    write("peer-frame", "hidden-f32", frame(2, 1, 4, [(1, 3, 2)], width=3, payload=struct.pack("<6f", *range(6))))
    write("peer-frame", "hidden-f16", frame(1, 2, 5, [(7, 0, 1)], width=4, payload=struct.pack("<4e", 1, -2, 0.5, 0)))
    write("peer-frame", "release", frame(4, 0, 0, [(1, 0, 0), (2, 0, 0)]))


def string(text):
    """A string of the serialized vocabulary: u32 length, UTF-8."""
    data = text.encode()
    return struct.pack("<I", len(data)) + data


def gguf_string(text):
    """A GGUF string: u64 length, UTF-8."""
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def vocabularies():
    byte_tokens = [chr(c) if 33 <= c <= 126 else chr(256 + c) for c in range(256)]
    tokens = byte_tokens + ["He", "ll", "Hell", "Hello", "<|im_start|>", "<|im_end|>"]
    types = [1] * 260 + [3, 3]
    merges = ["H e", "l l", "He ll", "Hell o"]

    def serialized(model, pre, flags, ids, tokens, scores, types, merges):
        out = b"SHRDVOCB" + struct.pack("<I", 1) + string(model) + bytes([1 if pre else 0]) + string(pre or "")
        out += bytes([flags]) + b"".join(struct.pack("<i", i) for i in ids)
        out += struct.pack("<I", len(tokens)) + b"".join(string(t) for t in tokens)
        out += struct.pack("<I", len(scores)) + b"".join(struct.pack("<f", s) for s in scores)
        out += struct.pack("<I", len(types)) + b"".join(struct.pack("<i", t) for t in types)
        out += struct.pack("<I", len(merges)) + b"".join(string(m) for m in merges)
        return out

    write("vocabulary", "gpt2-small", serialized("gpt2", "smollm", 0, [-1, 261, 261, -1, -1, -1], tokens,
                                                 [0.0] * len(tokens), types, merges))
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["▁Hello", "▁world", "▁", "o"]
    scores = [0.0, 0.0, 0.0] + [0.0] * 256 + [-1.0, -2.0, -3.0, -4.0]
    spm_types = [2, 3, 3] + [6] * 256 + [1, 1, 1, 1]
    write("vocabulary", "spm-small", serialized("llama", None, 1 | 4, [1, 2, -1, -1, 0, -1], pieces, scores,
                                                spm_types, []))


def gguf(directory):
    def kv_string(key, value):
        return gguf_string(key) + struct.pack("<I", 8) + gguf_string(value)

    def kv_u32(key, value):
        return gguf_string(key) + struct.pack("<II", 4, value)

    def kv_f32(key, value):
        return gguf_string(key) + struct.pack("<If", 6, value)

    def kv_strings(key, values):
        return gguf_string(key) + struct.pack("<IIQ", 9, 8, len(values)) + b"".join(gguf_string(v) for v in values)

    tokens = ["<unk>", "<s>", "</s>", "a", "b"]
    kvs = [kv_string("general.architecture", "llama"), kv_u32("llama.block_count", 1),
           kv_u32("llama.embedding_length", 8), kv_u32("llama.feed_forward_length", 16),
           kv_u32("llama.attention.head_count", 2), kv_u32("llama.attention.head_count_kv", 1),
           kv_u32("llama.context_length", 32), kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5),
           kv_string("tokenizer.ggml.model", "llama"), kv_strings("tokenizer.ggml.tokens", tokens)]
    tensor = gguf_string("token_embd.weight") + struct.pack("<IQQIQ", 2, 8, len(tokens), 0, 0)
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + b"".join(kvs) + tensor
    header += b"\0" * (-len(header) % 32)
    write("gguf", "tiny-llama.gguf", header + struct.pack("<%df" % (8 * len(tokens)), *[0.01 * i for i in range(40)]),
          directory)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--gguf-dir":
        gguf(sys.argv[2])
    else:
        requests()
        peer_frames()
        vocabularies()
