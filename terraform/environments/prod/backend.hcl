# Replace with the state bucket created in docs/deploy.md (Cloud Build passes _TF_STATE_BUCKET).
bucket = "REPLACE_WITH_TF_STATE_BUCKET"
prefix = "tsi/prod"
