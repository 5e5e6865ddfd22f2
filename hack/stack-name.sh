#!/usr/bin/env bash
# hack/stack-name.sh STACK: the fully qualified name of a stack for the workflows.
# A self-managed backend ($PULUMI_BACKEND_URL s3://, gs://, azblob://, file://) knows
# one organisation only, and its CLI refuses any other ("error: organization name must
# be 'organization'"); Pulumi Cloud (no $PULUMI_BACKEND_URL, or an https:// one) needs
# the team's organisation, $PULUMI_ORG, or it would use the token owner's own.
set -euo pipefail
stack=${1:?usage: hack/stack-name.sh STACK}
backend=${PULUMI_BACKEND_URL:-}

case "$backend" in
  "" | https://*)
    if [ -z "${PULUMI_ORG:-}" ]; then
      echo "::error title=No Pulumi organisation::with Pulumi Cloud the stacks belong to your team's organisation; set the repository variable PULUMI_ORG to it (Settings > Secrets and variables > Actions > Variables)" >&2
      exit 1
    fi
    echo "$PULUMI_ORG/$stack"
    ;;
  s3://* | gs://* | azblob://* | file://*)
    if [ -n "${PULUMI_ORG:-}" ] && [ "$PULUMI_ORG" != organization ]; then
      echo "::warning title=PULUMI_ORG ignored::a self-managed backend ($backend) has the one organisation 'organization'; the stack is organization/$stack (unset PULUMI_ORG to silence this)" >&2
    fi
    echo "organization/$stack"
    ;;
  *)
    echo "::error title=Unknown backend::PULUMI_BACKEND_URL=$backend is neither Pulumi Cloud (https://) nor an object store or directory (s3://, gs://, azblob://, file://)" >&2
    exit 1
    ;;
esac
