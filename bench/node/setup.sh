#!/usr/bin/env bash
# Install Segment's published mapping engine (exact versions from package.json) into bench/node.
# liquidjs is listed because actions-core 3.170.0 requires it without declaring it.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund --no-package-lock --loglevel=error
node -e 'const fs = require("fs");
for (const p of ["@segment/actions-core", "@segment/destination-subscriptions", "liquidjs"])
  console.log(p, JSON.parse(fs.readFileSync(`node_modules/${p}/package.json`)).version)'
