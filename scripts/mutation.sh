#!/usr/bin/env bash
# Mutation testing of the package with mutmut 3.8, and the score net of the mutants judged equivalent.
#
#   scripts/mutation.sh            # about an hour on 2 cores; not run in CI
#   KEEP=1 scripts/mutation.sh     # keep the work directory (mutmut show <name> there)
#
# mutmut puts only ./, src/ or source/ on the import path, so it runs on a copy of the repository with
# components/ renamed src/. The fast test run (not the kubectl tier) is the test suite.
# scripts/mutation-equivalent.txt lists the surviving mutants judged equivalent, one line each, with why.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$root/venv/bin/python}"
"$py" -m mutmut --help >/dev/null 2>&1 || "$py" -m pip install --quiet "mutmut==3.8.1"

work="$(mktemp -d /tmp/eks-cicd-access-mutation.XXXXXX)"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work")
cp -r "$root/tests/iam_simulate/node_modules" "$work/tests/iam_simulate/"
mv "$work/components" "$work/src"
sed -i 's/package-dir = { "" = "components" }/package-dir = { "" = "src" }/' "$work/pyproject.toml"
cat >> "$work/pyproject.toml" <<'TOML'

[tool.mutmut]
source_paths = ["src/eks_cicd_access"]
also_copy = ["__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml", "examples", "README.md", "benchmarks"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-x"]
process_isolation = "forkserver"
forkserver_warmup = "import"
preload_modules_file = "preload.txt"
TOML
printf '%s\n' pulumi pulumi_aws pulumi_kubernetes boto3 botocore moto hypothesis yaml parliament \
  kubernetes_validate kubernetes > "$work/preload.txt"

cd "$work"
"$py" -m mutmut run --max-children "${CHILDREN:-2}" > mutmut-run.log 2>&1 || true
"$py" -m mutmut export-cicd-stats > /dev/null
"$py" -m mutmut results > survivors.txt || true
"$py" "$root/scripts/mutation_score.py" mutants/mutmut-cicd-stats.json survivors.txt "$root/scripts/mutation-equivalent.txt"
echo "work directory: $work"
