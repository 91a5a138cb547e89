#!/usr/bin/env bash
# Prepares the Temporal cluster of docker-compose.yml for affiliate-hooks. Run by the one-shot
# `temporal-setup` service (temporalio/admin-tools image) on every `docker compose up`; safe to repeat.
#   1. waits until the frontend reports SERVING;
#   2. creates the namespace unless it exists, else sets its retention (as `npm run temporal:setup` does);
#   3. registers the custom search attributes the workflows set (SA in src/domain/search-attributes.ts).
# Upserting an unregistered search attribute fails the workflow task, so the API and the worker start
# only after this script has exited 0.
#
# Environment: TEMPORAL_ADDRESS (host:port), TEMPORAL_NAMESPACE (default "default"),
# TEMPORAL_NAMESPACE_RETENTION (closed workflows are kept this long; default 2160h, the 90 days of
# RETENTION_DELIVERIES_AFTER: an event's history lasts as long as its deliveries' rows).
set -euo pipefail

address="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-2160h}"
attempts=60 # tries 2 s apart for each step: two minutes
output=''

log() { printf 'temporal-setup: %s\n' "$*"; }

# Runs the command until it succeeds, at most $attempts times; its last output is kept in $output.
retry() {
  local i
  for ((i = 1; i <= attempts; i++)); do
    if output="$("$@" 2>&1)"; then return 0; fi
    sleep 2
  done
  return 1
}

log "waiting for the Temporal frontend at ${address}"
if ! retry temporal operator cluster health --address "$address"; then
  log "Temporal is not serving: ${output}"
  exit 1
fi

if temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; then
  log "namespace ${namespace} exists; retention ${retention}"
  if ! retry temporal operator namespace update --address "$address" --namespace "$namespace" \
    --retention "$retention"; then
    log "could not set the retention of namespace ${namespace}: ${output}"
    exit 1
  fi
else
  log "creating namespace ${namespace} (retention ${retention})"
  if ! temporal operator namespace create --address "$address" --namespace "$namespace" \
    --retention "$retention" >/dev/null 2>&1 &&
    ! retry temporal operator namespace describe --address "$address" --namespace "$namespace"; then
    log "could not create namespace ${namespace}: ${output}"
    exit 1
  fi
fi

# Registers one search attribute. An attribute that already exists with the same type counts as done;
# one registered with another type is an error only an operator can resolve. A namespace created a
# moment ago can answer "not found" for a few seconds, hence the retries.
register() {
  local name="$1" type="$2" i
  for ((i = 1; i <= attempts; i++)); do
    if output="$(temporal operator search-attribute create --address "$address" --namespace "$namespace" \
      --name "$name" --type "$type" 2>&1)"; then
      log "registered ${name} (${type})"
      return 0
    fi
    case "$output" in
      *"different type"*)
        log "${name} is already registered with a type other than ${type}: ${output}"
        return 1
        ;;
      *"already exists"* | *"AlreadyExists"*)
        log "${name} (${type}) is already registered"
        return 0
        ;;
    esac
    sleep 2
  done
  log "could not register ${name}: ${output}"
  return 1
}

# One line per search attribute: name and CLI type, as searchAttributeFlags() spells them.
# test/unit/compose.test.ts checks that this list matches SA exactly.
register OperatorId Keyword
register EventType Keyword
register EventId Keyword
register CustomerId Keyword
register AffiliateId Keyword
register DeliveryStatus KeywordList
register EndpointId KeywordList
register DeliveryAttempt Int
register NextAttemptAt Datetime
register CommissionStatus Keyword

log "done: namespace ${namespace} is ready at ${address}"
