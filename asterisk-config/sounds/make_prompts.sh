#!/usr/bin/env bash
# Regenerates the IVR prompts in es/ from es/prompts.txt with espeak-ng (Latin American Spanish)
# and sox: 8 kHz mono GSM, the format Asterisk plays to a PSTN call without transcoding.
#   apt-get install espeak-ng sox && asterisk-config/sounds/make_prompts.sh [NAME...]
# With names, only those prompts (the others keep their files as they are).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/es"
only=" $* "
grep -v '^#' prompts.txt | while IFS=: read -r name text; do
  [ -n "$name" ] || continue
  [ $# -eq 0 ] || [[ "$only" == *" $name "* ]] || continue
  espeak-ng -v es-419 -s 150 -w "/tmp/prompt-$name.wav" "${text# }"
  sox "/tmp/prompt-$name.wav" -r 8000 -c 1 -t gsm "$name.gsm" norm -3
  rm -f "/tmp/prompt-$name.wav"
  echo "es/$name.gsm"
done
