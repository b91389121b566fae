#!/usr/bin/env bash
# Plan or apply what changed since the last deploy. The pipeline runs this; so can you, with the same result.
#
#   scripts/deploy.sh plan  ENV_DIR [terraform args]  # build changed functions (no upload), plan + drift -> build/plan.txt
#   scripts/deploy.sh apply ENV_DIR [terraform args]  # build changed functions, upload, apply, record the deploy
#
# Needs: `terraform init` done in ENV_DIR (e.g. infra/envs/aws), AWS credentials, and requirements-dev.txt
# installed for $PYTHON (default: python). The deploy state (last manifest + commit) lives beside the zips in
# s3://<artifact_bucket>/lambda/, see scripts/deploy_state.py.
set -euo pipefail

usage() {
  echo "usage: scripts/deploy.sh plan|apply ENV_DIR [terraform args...]" >&2
  exit 2
}
[[ $# -ge 2 && ($1 == plan || $1 == apply) ]] || usage
mode=$1
env_dir=$2
shift 2
cd "$(dirname "$0")/.."
[[ -d $env_dir ]] || { echo "error: $env_dir: no such Terraform environment folder" >&2; exit 2; }
python=${PYTHON:-python}
manifest_var=(-var "manifest_path=$PWD/build/manifest.json")

terraform_errors=$(mktemp)
trap 'rm -f "$terraform_errors"' EXIT

artifact_bucket() {
  # Empty before the first apply: the stack itself creates the bucket. A failing `terraform output` (no init,
  # backend or credential errors) is not "no bucket yet": bootstrapping then would apply against a broken setup.
  # -json: with no state yet, `output -raw` prints a warning on stdout and exits 0.
  local outputs
  if ! outputs=$(terraform -chdir="$env_dir" output -no-color -json 2>"$terraform_errors"); then
    local reason
    reason=$(grep -o -m1 'Error: .*' "$terraform_errors" || true)
    echo "error: $env_dir: terraform output failed (run terraform init?)${reason:+: ${reason#Error: }}" >&2
    exit 2
  fi
  "$python" -c 'import json, sys; print(json.load(sys.stdin).get("artifact_bucket", {}).get("value") or "")' \
    <<<"$outputs"
}

if [[ $mode == apply ]]; then
  # The recorded commit must be exactly what was built; a dirty tree would record a lie.
  if [[ -n $(git status --porcelain) ]]; then
    echo "error: $(pwd): uncommitted changes; commit or stash them before deploying" >&2
    exit 2
  fi
fi

# A plain assignment, so set -e stops the script when artifact_bucket fails.
bucket=$(artifact_bucket)
if [[ $mode == apply && -z $bucket ]]; then
  echo "first deploy: creating the artifact bucket" >&2
  terraform -chdir="$env_dir" apply -input=false -auto-approve -target=module.stack.module.artifacts "${manifest_var[@]}" "$@"
  bucket=$(artifact_bucket)
fi

since=""
if [[ -n $bucket ]]; then
  since=$("$python" scripts/deploy_state.py fetch "s3://$bucket/lambda")
fi
build_args=(all)
if [[ -n $since ]]; then
  build_args+=(--changed-since "$since")
fi

if [[ $mode == plan ]]; then
  "$python" build.py "${build_args[@]}"
  # A plan reads no secret or parameter value (the pull-request role may not, see infra/ci/README.md): the
  # changes are planned against the recorded state, then drift is a refresh-only plan of every resource whose
  # refresh reads no value (scripts/refresh_targets.py).
  terraform -chdir="$env_dir" plan -input=false -lock=false -refresh=false -no-color "${manifest_var[@]}" \
    -out="$PWD/build/tfplan" "$@"
  terraform -chdir="$env_dir" show -no-color "$PWD/build/tfplan" >build/plan.txt
  # The plan above read the state, so a failing list means there is none yet (nothing to refresh).
  addresses=$(terraform -chdir="$env_dir" state list 2>/dev/null || true)
  target_lines=$("$python" scripts/refresh_targets.py <<<"$addresses")
  targets=()
  [[ -z $target_lines ]] || mapfile -t targets <<<"$target_lines"
  if ((${#targets[@]})); then
    {
      printf '\n# Drift since the last apply: every resource refreshed but secret versions and SSM parameters\n\n'
      terraform -chdir="$env_dir" plan -refresh-only -input=false -lock=false -no-color "${manifest_var[@]}" \
        "${targets[@]}" "$@"
    } >>build/plan.txt
  fi
  echo "plan written to build/plan.txt" >&2
else
  "$python" build.py "${build_args[@]}" --upload "s3://$bucket/lambda"
  terraform -chdir="$env_dir" apply -input=false -auto-approve "${manifest_var[@]}" "$@"
  "$python" scripts/deploy_state.py store "s3://$bucket/lambda" --commit "$(git rev-parse HEAD)"
fi
