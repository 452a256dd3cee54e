"""Shared helpers of the model scripts: the model cache, metadata copying, atomic writes, sha256.

gguf is imported where needed, so the cache helpers work with a bare python3."""
import hashlib
import os
from pathlib import Path

SMOLLM2_Q4_1 = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_dir():
    """$SHARD_MODEL_DIR, else ${SHARD_CACHE_DIR:-~/.cache/shard}/models (as scripts/fetch-models.sh)."""
    if os.environ.get("SHARD_MODEL_DIR"):
        return Path(os.environ["SHARD_MODEL_DIR"])
    cache = os.environ.get("SHARD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "shard")
    return Path(cache) / "models"


def source_model(name=SMOLLM2_Q4_1, fetch="scripts/fetch-models.sh smollm2"):
    path = model_dir() / name
    if not path.is_file():
        raise SystemExit(f"error: {path} is missing; fetch it first with: {fetch}")
    return path


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def field_value(field):
    """A reader field as (value, type, sub_type) for GGUFWriter.add_key_value; strings stay raw bytes."""
    from gguf import GGUFValueType as VT
    main = field.types[0]
    if main == VT.STRING:
        return bytes(field.parts[field.data[0]]), main, None
    if main == VT.ARRAY:
        sub = field.types[-1]
        if sub == VT.STRING:
            return [bytes(field.parts[i]) for i in field.data], main, sub
        return [field.parts[i][0].item() for i in field.data], main, sub
    return field.parts[field.data[0]][0].item(), main, None


def copy_metadata(reader, writer, skip=(), overrides=None):
    """Copy every key/value of `reader` (file order) except GGUF.*, general.architecture and `skip`;
    `overrides` maps key -> (value, type[, sub_type]) and replaces or appends keys."""
    overrides = dict(overrides or {})
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in skip:
            continue
        if key in overrides:
            writer.add_key_value(key, *overrides.pop(key))
        else:
            writer.add_key_value(key, *field_value(field))
    for key, spec in overrides.items():
        writer.add_key_value(key, *spec)


def write_atomically(path, fill):
    """Write a GGUF file through `fill(writer_path)` to a temporary name, then rename it into place,
    so an interrupted run never leaves a plausible-looking file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fill(tmp)
    os.replace(tmp, path)
    return path


def write_gguf(path, arch, fill_metadata, tensors):
    """tensors: iterable of (name, array, raw_dtype or None); arrays are written in that order."""
    import gguf
    def fill(tmp):
        w = gguf.GGUFWriter(str(tmp), arch)
        fill_metadata(w)
        for name, array, raw_dtype in tensors:
            w.add_tensor(name, array, raw_dtype=raw_dtype)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    return write_atomically(path, fill)
