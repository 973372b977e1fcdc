// Starts one embedded MongoDB (in memory) for the whole test run, or uses TEST_MONGODB_URI
// when a real MongoDB is given. Test files read the URI with inject('mongoUri') and each
// uses databases of its own, so files never see each other's data.
import 'vitest'
import type { TestProject } from 'vitest/node'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../scripts/embedded-mongo/index.js'

let server: EmbeddedMongo | undefined

export async function setup(project: TestProject): Promise<void> {
  const external = process.env.TEST_MONGODB_URI
  if (external) {
    project.provide('mongoUri', external)
    project.provide('mongoTarget', 'external')
    return
  }
  server = await startEmbeddedMongo({ memory: true, port: 0 })
  project.provide('mongoUri', server.uri)
  project.provide('mongoTarget', 'embedded')
}

export async function teardown(): Promise<void> {
  await server?.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string
    mongoTarget: 'embedded' | 'external'
  }
}
