// The OpenAPI document through Redocly's linter (npm run lint:openapi): its recommended rules
// with every warning an error, plus a description on every operation and contact information
// (redocly.yaml). Third-party tools read the document; they should find nothing to flag.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')

it('passes the lint with no error and no warning', async () => {
  const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/lint-openapi.ts'], { cwd: ROOT }).then(
    (r) => ({ code: 0, output: r.stdout + r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
  )
  expect(result.output).not.toMatch(/\b(error|warning)\b/)
  expect(result.code, result.output).toBe(0)
  expect(result.output).toContain('Your API description is valid')
}, 60_000)
