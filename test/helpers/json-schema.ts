// Checks live HTTP answers against the OpenAPI document: finds the response object an operation
// documents for a status (refs resolved), and validates a body with a JSON Schema 2020-12
// validator. Ajv is the one @seriousme/openapi-schema-validator and the vercel CLI already
// install; test-only code, never imported by api/ or lib/.
import { Validator } from '@seriousme/openapi-schema-validator'
import Ajv2020Module from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

// CommonJS modules: Node's default import is module.exports, which TypeScript types as the
// namespace; both also set `exports.default` to themselves, which satisfies both views.
const Ajv2020 = Ajv2020Module.default
const addFormats = addFormatsModule.default

type Json = Record<string, any>

export interface DocumentCheck {
  valid: boolean
  errors: unknown
  /** the document with every $ref replaced by its target */
  resolved: Json
}

/** Validates an OpenAPI document and returns it with its refs resolved. */
export async function checkOpenApi(doc: Json): Promise<DocumentCheck> {
  const validator = new Validator()
  const result = await validator.validate(structuredClone(doc))
  return { valid: result.valid, errors: result.errors, resolved: result.valid ? (validator.resolveRefs() as Json) : {} }
}

// strict: false because OpenAPI schemas carry keywords JSON Schema validators do not know
// (`example`, extension keys); formats are checked.
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats(ajv)

/** The messages of every way `data` fails `schema` (empty when it conforms). */
export function schemaErrors(schema: Json, data: unknown): string[] {
  const validate = ajv.compile(schema)
  if (validate(data)) return []
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
}

/** What the resolved document says an operation answers with `status`, or undefined. */
export function documentedResponse(resolved: Json, path: string, method: string, status: number): Json | undefined {
  return resolved.paths?.[path]?.[method.toLowerCase()]?.responses?.[String(status)]
}

/**
 * Problems with a live response measured against its documented response object: an
 * undocumented status, a content type or body the document does not describe, or a documented
 * header (other than the optional caching ones) missing from the answer.
 */
export async function responseProblems(documented: Json | undefined, res: Response, body?: unknown): Promise<string[]> {
  if (!documented) return [`status ${res.status} is not documented`]
  const problems: string[] = []
  for (const name of Object.keys(documented.headers ?? {})) {
    if (['cache-control', 'pragma'].includes(name.toLowerCase())) continue
    if (!res.headers.has(name)) problems.push(`header ${name} is documented but missing`)
  }
  const content = documented.content as Record<string, { schema?: Json }> | undefined
  if (!content) {
    if (res.status !== 204 && res.headers.get('content-length') !== '0' && body !== undefined) problems.push('a body was sent but none is documented')
    return problems
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim()
  const media = content[type] ?? content['*/*']
  if (!media) return [...problems, `content type ${type} is not documented (${Object.keys(content).join(', ')})`]
  if (media.schema && type.endsWith('json')) problems.push(...schemaErrors(media.schema, body))
  return problems
}
