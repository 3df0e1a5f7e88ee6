#!/usr/bin/env bash
# Uploads each bundle to gs://<bucket>/<function>/<sha256>.zip (content-addressed: an existing
# object is never overwritten, so a revision's source never changes under it).
set -euo pipefail
bucket="${1:?usage: upload-artifacts.sh <artifact-bucket>}"
cd "$(dirname "$0")/.."
python3 -c 'import json; [print(k, v) for k, v in json.load(open("dist/functions/artifacts.auto.tfvars.json"))["function_artifacts"].items()]' | while read -r name object; do
  gcloud storage cp --no-clobber "dist/functions/${name}.zip" "gs://${bucket}/${object}"
done
