// The build output as a deployment sees it: `.vercel/output` copied out of the repository, each
// `.func` completed with the files its `.vc-config.json` `filePathMap` names (what `includeFiles`
// and files outside the function directory become), as `vercel deploy --prebuilt` uploads them.
// Outside the repository Node can no longer find a module by walking up to the project's
// node_modules, so a file that Vercel's tracing left out fails here as it would when deployed.
// Local tooling only.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'

/** The parts of a function's `.vc-config.json` that running it needs. */
export interface FunctionConfig {
  handler: string
  runtime?: string
  launcherType?: string
  shouldAddHelpers?: boolean
  environment?: Record<string, string>
  filePathMap?: Record<string, string>
  maxDuration?: number
  memory?: number
}

export interface OutputFunction {
  /** The function's path without `.func`, e.g. `api/users/[username]/index`. */
  name: string
  /** Its `.func` directory. */
  dir: string
  config: FunctionConfig
}

const toPosix = (path: string) => path.split(sep).join('/')

/** Every `.func` under `<output>/functions`, with its configuration. */
export function listOutputFunctions(outputDir: string): OutputFunction[] {
  const functionsDir = join(outputDir, 'functions')
  const found: OutputFunction[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (!entry.isDirectory()) continue
      if (entry.name.endsWith('.func')) {
        const config = JSON.parse(readFileSync(join(full, '.vc-config.json'), 'utf8')) as FunctionConfig
        found.push({ name: toPosix(relative(functionsDir, full)).slice(0, -'.func'.length), dir: full, config })
      } else {
        walk(full)
      }
    }
  }
  if (existsSync(functionsDir)) walk(functionsDir)
  return found.sort((a, b) => a.name.localeCompare(b.name))
}

/**
 * Copies `<root>/.vercel/output` to `dest` (a new temporary directory when not given) and puts
 * every `filePathMap` file into its function. Returns the copy's path.
 */
export function copyOutput(root: string, dest: string = mkdtempSync(join(tmpdir(), 'vercel-output-'))): string {
  const source = join(resolve(root), '.vercel', 'output')
  if (!existsSync(join(source, 'config.json'))) throw new Error(`${source} has no build output (run npm run build)`)
  // Vercel uploads files, not links: dereference, so nothing in the copy points back into the repository.
  cpSync(source, dest, { recursive: true, dereference: true })
  for (const fn of listOutputFunctions(dest)) {
    for (const [target, from] of Object.entries(fn.config.filePathMap ?? {})) {
      const sourceFile = isAbsolute(from) ? from : join(resolve(root), from)
      if (!existsSync(sourceFile) || !statSync(sourceFile).isFile()) {
        throw new Error(`${fn.name}: filePathMap names ${from}, which is not a file`)
      }
      const targetFile = join(fn.dir, target)
      mkdirSync(dirname(targetFile), { recursive: true })
      cpSync(sourceFile, targetFile, { dereference: true })
    }
  }
  return dest
}
