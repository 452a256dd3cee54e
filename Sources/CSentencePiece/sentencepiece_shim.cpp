// Implementation of sentencepiece_shim.h: a thin, exception-free wrapper over SentencePieceProcessor.
#include "sentencepiece_shim.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

struct shard_spm {
    sentencepiece::SentencePieceProcessor processor;
};

static void write_error(char *error, size_t capacity, const std::string &message) {
    if (error == nullptr || capacity == 0) return;
    size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
}

extern "C" shard_spm *shard_spm_load_bytes(const void *bytes, size_t length, char *error, size_t error_capacity) {
    try {
        auto *model = new shard_spm();
        auto status = model->processor.LoadFromSerializedProto(
            std::string_view(static_cast<const char *>(bytes), length));
        if (!status.ok()) {
            write_error(error, error_capacity, status.ToString());
            delete model;
            return nullptr;
        }
        return model;
    } catch (const std::exception &e) {
        write_error(error, error_capacity, e.what());
        return nullptr;
    } catch (...) {
        write_error(error, error_capacity, "unknown error while loading the SentencePiece model");
        return nullptr;
    }
}

extern "C" void shard_spm_free(shard_spm *model) { delete model; }

extern "C" int32_t shard_spm_vocab_size(const shard_spm *model) {
    return model ? model->processor.GetPieceSize() : 0;
}
extern "C" int32_t shard_spm_bos_id(const shard_spm *model) { return model ? model->processor.bos_id() : -1; }
extern "C" int32_t shard_spm_eos_id(const shard_spm *model) { return model ? model->processor.eos_id() : -1; }
extern "C" int32_t shard_spm_unk_id(const shard_spm *model) { return model ? model->processor.unk_id() : -1; }

static bool in_range(const shard_spm *model, int32_t id) {
    return model && id >= 0 && id < model->processor.GetPieceSize();
}

extern "C" int32_t shard_spm_is_byte(const shard_spm *model, int32_t id) {
    return in_range(model, id) && model->processor.IsByte(id) ? 1 : 0;
}
extern "C" int32_t shard_spm_is_control(const shard_spm *model, int32_t id) {
    return in_range(model, id) && model->processor.IsControl(id) ? 1 : 0;
}

extern "C" int32_t shard_spm_encode(const shard_spm *model, const char *text, size_t length, int32_t *out,
                                    int32_t capacity) {
    if (!model) return -1;
    try {
        std::vector<int> ids;
        auto status = model->processor.Encode(std::string_view(text, length), &ids);
        if (!status.ok()) return -1;
        for (size_t i = 0; i < ids.size() && i < static_cast<size_t>(capacity); i++) out[i] = ids[i];
        return static_cast<int32_t>(ids.size());
    } catch (...) {
        return -1;
    }
}

extern "C" int64_t shard_spm_decode(const shard_spm *model, const int32_t *ids, int32_t count, char *out,
                                    size_t capacity) {
    if (!model) return -1;
    try {
        std::vector<int> input;
        input.reserve(count);
        for (int32_t i = 0; i < count; i++) {
            if (!in_range(model, ids[i])) return -1;
            input.push_back(ids[i]);
        }
        std::string text;
        auto status = model->processor.Decode(input, &text);
        if (!status.ok()) return -1;
        std::memcpy(out, text.data(), text.size() < capacity ? text.size() : capacity);
        return static_cast<int64_t>(text.size());
    } catch (...) {
        return -1;
    }
}

extern "C" int64_t shard_spm_id_to_piece(const shard_spm *model, int32_t id, char *out, size_t capacity) {
    if (!in_range(model, id)) return -1;
    const std::string &piece = model->processor.IdToPiece(id);
    std::memcpy(out, piece.data(), piece.size() < capacity ? piece.size() : capacity);
    return static_cast<int64_t>(piece.size());
}
