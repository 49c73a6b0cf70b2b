#!/bin/sh
# docker-compose.yml's store-setup job, run in the postgres image (psql) as PostgreSQL's
# superuser: the workers' own role, which owns the transcript store's database and nothing else,
# so a worker's environment never holds the superuser's password. Each step is a no-op when done:
# running it again sets the role's password to the current one and hands it tables created by an
# older deployment (whose workers used the superuser).
set -eu

psql -v ON_ERROR_STOP=1 -d postgres -v worker="$WORKER_USER" -v password="$WORKER_PASSWORD" -v store="$STORE_DB" <<'SQL'
SELECT format('CREATE ROLE %I', :'worker') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'worker') \gexec
ALTER ROLE :"worker" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
ALTER DATABASE :"store" OWNER TO :"worker";
-- Temporal's databases: the superuser's alone (every role may connect to a database by default).
REVOKE CONNECT, TEMPORARY ON DATABASE temporal, temporal_visibility, postgres FROM PUBLIC;
SQL

psql -v ON_ERROR_STOP=1 -d "$STORE_DB" -v worker="$WORKER_USER" <<'SQL'
ALTER TABLE IF EXISTS longhaul_blobs OWNER TO :"worker";
ALTER TABLE IF EXISTS longhaul_ledger OWNER TO :"worker";
ALTER TABLE IF EXISTS longhaul_effects OWNER TO :"worker";
SQL
echo "role $WORKER_USER owns database $STORE_DB"
