# shellcheck shell=bash
# Sourced by the scripts that build or stamp what the program pins, so that each reads
# components/pins/pins.go rather than a copy of it.
: "${repo:?hack/pins.sh is sourced by a script that sets repo to the root of the repository}"

# pin NAME prints the value of the string constant NAME in pins.go, and fails naming it
# when there is none.
pin() {
  local value
  value=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$repo/components/pins/pins.go")
  [ -n "$value" ] || { echo "no pin $1 in components/pins/pins.go" >&2; return 1; }
  echo "$value"
}
