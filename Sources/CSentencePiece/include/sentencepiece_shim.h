/// A C interface over libsentencepiece's C++ `SentencePieceProcessor`, so Swift can use it
/// without C++ interoperability. Every function is safe to call with a NULL processor (it returns 0 or -1).
#ifndef SHARD_SENTENCEPIECE_SHIM_H
#define SHARD_SENTENCEPIECE_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Opaque handle to a loaded SentencePiece model.
typedef struct shard_spm shard_spm;

/// Loads a model from serialized protobuf bytes. On failure returns NULL and writes a message into `error`.
shard_spm *shard_spm_load_bytes(const void *bytes, size_t length, char *error, size_t error_capacity);
/// Frees a model returned by `shard_spm_load_bytes`.
void shard_spm_free(shard_spm *model);

int32_t shard_spm_vocab_size(const shard_spm *model);
int32_t shard_spm_bos_id(const shard_spm *model);
int32_t shard_spm_eos_id(const shard_spm *model);
int32_t shard_spm_unk_id(const shard_spm *model);
/// 1 when the id is a byte-fallback piece (`<0xAB>`), 0 otherwise.
int32_t shard_spm_is_byte(const shard_spm *model, int32_t id);
/// 1 when the id is a control piece (`<s>`, `</s>`), 0 otherwise.
int32_t shard_spm_is_control(const shard_spm *model, int32_t id);

/// Encodes UTF-8 text into ids. Writes at most `capacity` ids into `out`; returns the total count
/// (call again with a larger buffer when it exceeds `capacity`), or -1 on error.
int32_t shard_spm_encode(const shard_spm *model, const char *text, size_t length, int32_t *out, int32_t capacity);

/// Decodes ids into UTF-8 bytes. Writes at most `capacity` bytes into `out`; returns the total byte count
/// (call again with a larger buffer when it exceeds `capacity`), or -1 on error (for example an id out of range).
int64_t shard_spm_decode(const shard_spm *model, const int32_t *ids, int32_t count, char *out, size_t capacity);

/// Copies the piece text of `id` into `out`; returns its byte length, or -1 when the id is out of range.
int64_t shard_spm_id_to_piece(const shard_spm *model, int32_t id, char *out, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
