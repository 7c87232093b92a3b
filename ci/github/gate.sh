#!/usr/bin/env bash
# Runs `driftgate gate` once for the GitHub Action and turns its one result
# into everything a workflow reads: the job log in INPUT_FORMAT, workflow
# annotations, the Markdown appended to $GITHUB_STEP_SUMMARY, a SARIF file,
# and the step outputs exit-code, verdict and sarif-file. Exits with
# driftgate's code: 0 pass, 1 blocked, 2 could not check.
#
# Every input arrives in the environment (INPUT_CONFIG, INPUT_DEV,
# INPUT_PROD, INPUT_FORMAT, INPUT_RULES, INPUT_MAX_AGE, INPUT_SARIF_FILE;
# DRIFTGATE_OVERRIDE_REASON and DRIFTGATE_OVERRIDE_TICKET, which driftgate
# reads itself) and is only ever quoted, never evaluated.
set -uo pipefail

bin=${DRIFTGATE_BIN:-driftgate}
: "${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set: run this as the driftgate action}"
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as the driftgate action}"
format=${INPUT_FORMAT:-github}

# A directory of this run's own: a report a previous run left can never
# pass for this one's.
work=$(mktemp -d "${RUNNER_TEMP:?RUNNER_TEMP is not set}/driftgate-XXXXXX") || exit 2
summary=$work/summary.md
annotations=$work/annotations.txt
sarif=${INPUT_SARIF_FILE:-$work/driftgate.sarif}
case $sarif in
*$'\n'* | *$'\r'*)
  echo "::error title=driftgate::the sarif-file input holds a line break; give a plain path"
  echo "exit-code=2" >>"$GITHUB_OUTPUT"
  echo "verdict=could-not-check" >>"$GITHUB_OUTPUT"
  exit 2
  ;;
esac
rm -f -- "$sarif"

args=(gate -o "$format" --output-file "markdown=$summary" --output-file "sarif=$sarif")
if [[ $format != github ]]; then
  args+=(--output-file "github=$annotations")
fi
[[ -n ${INPUT_CONFIG:-} ]] && args+=(--config "$INPUT_CONFIG")
[[ -n ${INPUT_DEV:-} ]] && args+=(--dev "$INPUT_DEV")
[[ -n ${INPUT_PROD:-} ]] && args+=(--prod "$INPUT_PROD")
[[ -n ${INPUT_MAX_AGE:-} ]] && args+=(--max-age "$INPUT_MAX_AGE")
while IFS= read -r rule; do
  rule=${rule#"${rule%%[![:space:]]*}"}
  rule=${rule%"${rule##*[![:space:]]}"}
  [[ -n $rule ]] && args+=(--rules "$rule")
done <<<"${INPUT_RULES:-}"

"$bin" "${args[@]}"
code=$?

# Annotations are workflow commands: the runner reads them from standard
# output only. driftgate escaped every value in them.
if [[ $format != github && -f $annotations ]]; then
  cat -- "$annotations"
fi

# The step summary takes at most 1 MiB a step; a longer one is cut with a
# note, so the upload is not refused whole.
limit=$((1000 * 1000))
if [[ -f $summary ]]; then
  if (($(wc -c <"$summary") > limit)); then
    head -c "$limit" -- "$summary" >>"$GITHUB_STEP_SUMMARY"
    printf '\n\n> The report was cut at 1 MB: see the job log or the SARIF report for the rest.\n' >>"$GITHUB_STEP_SUMMARY"
  else
    cat -- "$summary" >>"$GITHUB_STEP_SUMMARY"
  fi
else
  printf '### ⚠️ driftgate: could not check (exit %d)\n\ndriftgate stopped before it had a result: the job log says why.\n' "$code" >>"$GITHUB_STEP_SUMMARY"
fi

case $code in
0) verdict=pass ;;
1) verdict=blocked ;;
*) verdict=could-not-check ;;
esac
{
  echo "exit-code=$code"
  echo "verdict=$verdict"
  if [[ -f $sarif ]]; then
    echo "sarif-file=$sarif"
  else
    echo "sarif-file="
  fi
} >>"$GITHUB_OUTPUT"
exit "$code"
