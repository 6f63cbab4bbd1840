#!/usr/bin/env bash
# 16 KB memory pages (Android 15+ devices; required of apps targeting API 35): a native library whose LOAD
# segments are aligned to less than 16 KB fails to load there. Checks every ELF library given, directly (.so) or
# inside an archive (.aar/.jar/.apk), and fails naming each one that is not aligned to at least 16 KB.
set -euo pipefail
min=16384
checked=0
bad=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

check() { # check FILE LABEL
  local aligns
  aligns=$(readelf -lW "$1" | awk '$1 == "LOAD" {print $NF}')
  if [ -z "$aligns" ]; then
    echo "page size: $2: no LOAD segment (not an ELF library?)" >&2
    bad=$((bad + 1))
    return
  fi
  for align in $aligns; do
    if (( align < min )); then
      echo "page size: $2: a LOAD segment is aligned to $((align)) bytes, under 16 KB (link with -z max-page-size=16384)" >&2
      bad=$((bad + 1))
      return
    fi
  done
  checked=$((checked + 1))
}

for file in "$@"; do
  case "$file" in
    *.so) check "$file" "$file" ;;
    *.aar | *.jar | *.apk)
      dir="$scratch/$(basename "$file")"
      mkdir -p "$dir"
      python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if n.endswith(".so")])' "$file" "$dir"
      found=$(find "$dir" -name '*.so' | sort)
      [ -n "$found" ] || { echo "page size: $file holds no .so" >&2; bad=$((bad + 1)); continue; }
      for so in $found; do check "$so" "$file!${so#"$dir"/}"; done
      ;;
    *) echo "page size: $file: not a .so, .aar, .jar or .apk" >&2; bad=$((bad + 1)) ;;
  esac
done
echo "page size: $checked native libraries aligned to >= 16 KB, $bad not"
(( bad == 0 ))
