#!/bin/sh
# Build corpus.txt (one KJV verse per line, no chapter headers or verse
# numbers) from Debian's public-domain `bible-kjv` package.
# Usage: sh make_corpus.sh   (writes ./corpus.txt next to this script)
set -eu
cd "$(dirname "$0")"
# bible(1) wraps long verses; lines starting "  N " open a verse, other
# non-blank lines either continue it or (right after a blank line) are
# "Book N" chapter headers.
bible -l 100000 -m 8192 gen1:1-rev22:21 | awk '
  /^[ \t]*$/            { blank = 1; next }
  /^ +[0-9]+ /          { if (v != "") print v; sub(/^ +[0-9]+ /, ""); v = $0; blank = 0; next }
  blank                 { blank = 0; next }          # chapter header
                        { v = v " " $0 }             # wrapped continuation
  END                   { if (v != "") print v }
' > corpus.txt
echo "corpus.txt: $(wc -l < corpus.txt) verses, $(wc -c < corpus.txt) bytes"
