#!/bin/sh
# Run by the postgres image (/docker-entrypoint-initdb.d) once, when it initialises an empty data
# volume; later password changes need ALTER ROLE. Creates two logins besides the superuser:
#   temporal         CREATEDB: temporal-admin-tools creates, owns and migrates the `temporal` and
#                    `temporal_visibility` databases as this user
#   affiliate_hooks  owner of the `affiliate_hooks` database, the only one the API, the worker and the
#                    migrate job use
# The passwords come from the container's environment and reach SQL as psql variables, quoted as
# literals by :'name'. A single command, so its exit status is the script's.
psql --no-psqlrc --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname="$POSTGRES_DB" \
  --set=temporal_password="${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is required}" \
  --set=app_password="${APP_DB_PASSWORD:?APP_DB_PASSWORD is required}" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE affiliate_hooks LOGIN PASSWORD :'app_password';
CREATE DATABASE affiliate_hooks OWNER affiliate_hooks;
REVOKE ALL ON DATABASE affiliate_hooks FROM PUBLIC;
SQL
