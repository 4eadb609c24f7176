#!/usr/bin/env bash
# Rebuilds bench/RESULTS.md from every bench/<area>/RESULTS.md (each names the command that
# produced it). Run after any benchmark script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/RESULTS.md"
areas=(serve optim train tta nowcast reliability distributed)
{
  echo "# Benchmark results"
  echo
  echo "Every number here was measured on this project's 2-core machines (shared, noisy), so"
  echo "results are reported as ratios against a baseline measured in the same run wherever the"
  echo "comparison allows. Each section names the command that produced it; rerun it and then"
  echo "\`bench/collect.sh\` to refresh this page."
  echo
  for a in "${areas[@]}"; do
    [ -f "$here/$a/RESULTS.md" ] && echo "- [$a](#$a) — [\`bench/$a/RESULTS.md\`]($a/RESULTS.md)"
  done
  for a in "${areas[@]}"; do
    [ -f "$here/$a/RESULTS.md" ] || continue
    echo
    echo "<a id=\"$a\"></a>"
    echo
    # Demote the area's headings one level and make its relative links point into its folder.
    sed -e 's/^#/##/' -e "s#](\([a-zA-Z0-9_.-]*\.\(png\|md\|csv\)\))#]($a/\1)#g" "$here/$a/RESULTS.md"
  done
} > "$out"
echo "wrote $out"
