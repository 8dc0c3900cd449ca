#!/usr/bin/env bash
# Mutation testing of the package with mutmut 3.8, and the score net of the mutants judged equivalent.
#
#   scripts/mutation.sh            # hours (docs/performance.md); not run in CI; resumable (below)
#   KEEP=1 scripts/mutation.sh     # keep the work directory after a finished run (mutmut show <name> there)
#   MUTATION_PATHS="components/eks_cicd_access/arns.py" scripts/mutation.sh
#                                  # mutate only these files (space-separated, globs allowed); every module is
#                                  # still copied and the whole fast suite still runs against the mutants
#
# mutmut puts only ./, src/ or source/ on the import path, so it runs on a copy of the repository with
# components/ renamed src/. The fast test run (not the kubectl tier) is the test suite. The tests run in
# mutants/, so it gets every top-level file of the copy (tests/unit/test_repository.py reads LICENSE, CHANGELOG.md,
# .ci/, .gitignore) and is made a git repository of its own (git check-ignore needs one).
# scripts/mutation-equivalent.txt lists the surviving mutants judged equivalent, one line each, with why.
#
# Resumable: the work directory is ~/.cache/eks-cicd-access/mutation/<digest of the files copied>
# (MUTATION_WORK overrides). A run that is interrupted leaves it; the next run of the same files resumes there,
# and mutmut tests only the mutants it has no verdict for. A finished run removes it (unless KEEP is set).
set -euo pipefail -f  # -f: MUTATION_PATHS globs are for mutmut, not the shell
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$root/venv/bin/python}"
# (`mutmut --help` is no test: mutmut reads its configuration on import and fails outside a configured project)
"$py" -c 'import importlib.metadata as m, sys; sys.exit(m.version("mutmut") != "3.8.1")' 2>/dev/null ||
  "$py" -m pip install --quiet "mutmut==3.8.1"
only_mutate=""
for path in ${MUTATION_PATHS:-}; do  # unquoted: one word a path; globs reach mutmut unexpanded (set -f)
  path="${path#components/}"
  only_mutate+="${only_mutate:+, }\"src/${path#src/}\""
done

# What the working tree has (tracked and new, not ignored, not deleted): a run before a commit tests that.
files() {
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do if [ -e "$file" ]; then printf '%s\0' "$file"; fi; done)
}
digest="$(cd "$root" && { printf '%s\n' "$only_mutate"; files | xargs -0 sha256sum; } | sha256sum | cut -c1-16)"
work="${MUTATION_WORK:-$HOME/.cache/eks-cicd-access/mutation/$digest}"
prepare() {  # a fresh work directory: the copy with components/ as src/, and mutmut's configuration
  (cd "$root" && files | xargs -0 cp --parents -t "$work")
  cp -r "$root/tests/iam_simulate/node_modules" "$work/tests/iam_simulate/"
  mv "$work/components" "$work/src"
  sed -i 's/package-dir = { "" = "components" }/package-dir = { "" = "src" }/' "$work/pyproject.toml"
  # mutants/ gets every top-level file and directory of the copy (tests read LICENSE, CHANGELOG.md, .ci/, ...);
  # mutmut copies src/, tests/ and pyproject.toml itself.
  also_copy=""
  while IFS= read -r entry; do
    case "$entry" in src | tests | pyproject.toml) ;; *) also_copy+="${also_copy:+, }\"$entry\"" ;; esac
  done < <(find "$work" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
  cat >> "$work/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["src/eks_cicd_access"]
also_copy = [$also_copy]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-x"]
process_isolation = "forkserver"
forkserver_warmup = "import"
preload_modules_file = "preload.txt"
TOML
  [ -z "$only_mutate" ] || echo "only_mutate = [$only_mutate]" >> "$work/pyproject.toml"
  printf '%s\n' pulumi pulumi_aws pulumi_kubernetes boto3 botocore moto hypothesis yaml parliament \
    kubernetes_validate kubernetes > "$work/preload.txt"
  mkdir "$work/mutants"  # made first, to be a git repository (mutmut's copying skips what already exists)
  git -C "$work/mutants" init --quiet
}
if [ -d "$work/mutants" ] && [ -f "$work/preload.txt" ]; then
  echo "resuming the run in $work" >&2
else
  rm -rf "$work"
  mkdir -p "$work"
  prepare
fi
cd "$work"
if ! "$py" -m mutmut run --max-children "${CHILDREN:-2}" >> mutmut-run.log 2>&1; then
  tail -n 40 mutmut-run.log >&2
  echo "mutmut run failed; its log: $work/mutmut-run.log (the next run of the same files resumes there)" >&2
  exit 1
fi
"$py" -m mutmut export-cicd-stats > /dev/null
"$py" -m mutmut results > survivors.txt || true
modules=()  # the equivalents the score weighs: those of the mutated modules (all when MUTATION_PATHS is unset)
for path in ${MUTATION_PATHS:-}; do
  path="${path#components/}"
  path="${path#src/}"
  path="${path%.py}"
  path="${path%/__init__}"  # mutmut names a package's own mutants without __init__
  modules+=("${path//\//.}")
done
"$py" "$root/scripts/mutation_score.py" mutants/mutmut-cicd-stats.json survivors.txt \
  "$root/scripts/mutation-equivalent.txt" "${modules[@]}"
if [ -n "${KEEP:-}" ]; then echo "work directory: $work"; else rm -rf "$work"; fi
