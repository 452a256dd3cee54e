#!/bin/sh
# Train the 512-piece byte-fallback BPE SentencePiece tokenizer on corpus.txt.
# Writes tokenizer.model (committed); tokenizer.vocab is a human-readable
# listing of the same pieces, kept for convenience.
# Usage: sh train_tokenizer.sh   (run make_corpus.sh first)
set -eu
cd "$(dirname "$0")"
spm_train --input=corpus.txt --model_prefix=tokenizer \
  --model_type=bpe --vocab_size=512 --byte_fallback=true \
  --normalization_rule_name=identity --remove_extra_whitespaces=false \
  --character_coverage=1.0 \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --num_threads=2 --minloglevel=1
