#!/bin/sh
# docker-compose.yml's two one-shot jobs around the Temporal server, run in the
# temporalio/admin-tools image (temporal-sql-tool, the temporal CLI, busybox sh). The
# temporalio/server image does neither; the deprecated temporalio/auto-setup image did both.
#   schema     creates Temporal's two databases and brings their schemas up to this version's.
#              Each step is a no-op when already done (an existing database, a schema at or past
#              the version), so running it again on an older deployment upgrades it.
#   namespace  waits for the server to answer, then creates the namespace if it is missing.
set -eu

case "${1:-}" in
schema)
  # temporal-sql-tool takes host, port, user, password and plugin from SQL_* (docker-compose.yml).
  for db in temporal visibility; do
    name=$db
    [ "$db" = visibility ] && name=temporal_visibility
    temporal-sql-tool --db "$name" create
    temporal-sql-tool --db "$name" setup-schema -v 0.0
    temporal-sql-tool --db "$name" update-schema -d "/etc/temporal/schema/postgresql/v12/$db/versioned"
  done
  ;;
namespace)
  until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
    echo "waiting for Temporal at $TEMPORAL_ADDRESS"
    sleep 2
  done
  if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE exists"
  else
    # Closed runs' histories are kept 24 hours, as under the auto-setup image used before.
    temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention 24h
  fi
  ;;
*)
  echo "usage: temporal-setup.sh schema|namespace" >&2
  exit 2
  ;;
esac
