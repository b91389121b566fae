#!/usr/bin/env bash
# Plan or apply what changed since the last deploy. The pipeline runs this; so can you, with the same result.
#
#   scripts/deploy.sh plan  ENV_DIR [terraform args]  # build changed functions (no upload), plan -> build/plan.txt
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

artifact_bucket() {
  # Empty before the first apply: the stack itself creates the bucket.
  # -json: with no state yet, `output -raw` prints a warning on stdout and exits 0.
  terraform -chdir="$env_dir" output -json |
    "$python" -c 'import json, sys; print(json.load(sys.stdin).get("artifact_bucket", {}).get("value") or "")'
}

if [[ $mode == apply ]]; then
  # The recorded commit must be exactly what was built; a dirty tree would record a lie.
  if [[ -n $(git status --porcelain) ]]; then
    echo "error: $(pwd): uncommitted changes; commit or stash them before deploying" >&2
    exit 2
  fi
  if [[ -z $(artifact_bucket) ]]; then
    echo "first deploy: creating the artifact bucket" >&2
    terraform -chdir="$env_dir" apply -input=false -auto-approve -target=module.stack.module.artifacts "${manifest_var[@]}" "$@"
  fi
fi

bucket=$(artifact_bucket)
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
  terraform -chdir="$env_dir" plan -input=false -lock=false -no-color "${manifest_var[@]}" \
    -out="$PWD/build/tfplan" "$@"
  terraform -chdir="$env_dir" show -no-color "$PWD/build/tfplan" >build/plan.txt
  echo "plan written to build/plan.txt" >&2
else
  "$python" build.py "${build_args[@]}" --upload "s3://$bucket/lambda"
  terraform -chdir="$env_dir" apply -input=false -auto-approve "${manifest_var[@]}" "$@"
  "$python" scripts/deploy_state.py store "s3://$bucket/lambda" --commit "$(git rev-parse HEAD)"
fi
