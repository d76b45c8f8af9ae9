#!/usr/bin/env bash
# Keeps the house's shape: every gateway path is spelt once, in
# policy/src/paths.rs, and the route table (gateway/src/routes.rs) says what
# each does. A "/.sekisho/..." string anywhere else in production Rust code
# is a second list to keep in step, and fails the check. Test modules (from
# a file's `#[cfg(test)]` on), the test and load-test crates and the
# templates are outside it.
set -euo pipefail
cd "$(dirname "$0")/.."

found=0
while IFS= read -r file; do
  case "$file" in
    policy/src/paths.rs) continue ;;
  esac
  # Only the production part of the file: up to its first #[cfg(test)].
  hits=$(awk '/^[[:space:]]*#\[cfg\(test\)\]/ { exit } /"\/\.sekisho\// { printf "%s:%d: %s\n", FILENAME, FNR, $0 }' "$file")
  if [ -n "$hits" ]; then
    echo "$hits"
    found=1
  fi
done < <(git ls-files -- 'gateway/src/*.rs' 'pages/src/*.rs' 'store/src/*.rs' 'config/src/*.rs' 'policy/src/*.rs')

# In a template, a path inside a tag is an expression (`crate::paths::X`);
# "{{ … }}" there would be printed as text.
if grep -rn '{%[^%]*"{{' pages/templates; then
  echo "check-shape: a {{ … }} inside a {% … %} tag of a template: write the expression itself" >&2
  found=1
fi

if [ "$found" -ne 0 ]; then
  echo "check-shape: a gateway path is spelt outside policy/src/paths.rs; name it there and use the constant" >&2
  exit 1
fi
echo "check-shape: every gateway path is named once (policy/src/paths.rs)"
