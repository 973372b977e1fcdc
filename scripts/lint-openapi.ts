// `npm run lint:openapi`: writes the OpenAPI document the service serves (lib/openapi.ts) to a
// temporary file and lints it with Redocly's CLI under redocly.yaml, where every warning is an
// error: the exit status is the linter's. Offline: no telemetry, no update check.
// Local tooling only.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openApiDocument } from '../lib/openapi/document.js'
import { routeSpecs } from '../api/_routes.js'

const ROOT = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'))
const file = join(dir, 'openapi.json')
writeFileSync(file, JSON.stringify(openApiDocument(routeSpecs()), null, 2))
const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js')
const result = spawnSync(process.execPath, [cli, 'lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'stylish'], {
  stdio: 'inherit',
  env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
})
rmSync(dir, { recursive: true, force: true })
process.exit(result.status ?? 1)
