#!/bin/sh
# Entrypoint of every gatewire image: takes the shared secret (SPEC §5.4) from a file when
# GATEWIRE_SECRET_FILE names one (a compose or Docker secret, /run/secrets/…) and GATEWIRE_SECRET is
# not set, then execs the command, which keeps its process id: under `init: true` it is the child
# of the container's init, which forwards SIGHUP/SIGTERM to it; without an init it is PID 1 itself
# (both supervisors handle the signals they are sent, so the kernel does not drop them).
set -eu
if [ -n "${GATEWIRE_SECRET_FILE:-}" ] && [ -z "${GATEWIRE_SECRET:-}" ]; then
  if [ ! -r "$GATEWIRE_SECRET_FILE" ]; then
    echo "gatewire: GATEWIRE_SECRET_FILE=$GATEWIRE_SECRET_FILE is not a readable file" >&2
    exit 2
  fi
  # The whole file, less trailing newlines (as `echo secret > file` writes it).
  GATEWIRE_SECRET=$(cat "$GATEWIRE_SECRET_FILE")
  if [ -z "$GATEWIRE_SECRET" ]; then
    echo "gatewire: GATEWIRE_SECRET_FILE=$GATEWIRE_SECRET_FILE is empty" >&2
    exit 2
  fi
  export GATEWIRE_SECRET
fi
unset GATEWIRE_SECRET_FILE
exec "$@"
