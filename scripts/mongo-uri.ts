// Naming a MongoDB connection string in messages without its secret: the host list (or the
// SRV name of an Atlas cluster) for the "could not connect" messages of the seed script and the
// local runner, and a scrubber that removes the credentials from any text (a driver message,
// say) before it is printed. Local tooling only.

export interface UriParts {
  scheme: 'mongodb' | 'mongodb+srv'
  hosts: string[]
  password?: string
}

/**
 * Splits a connection string by hand rather than with URL: a multi-host string
 * (`h1:27017,h2:27018`) is no valid URL, and a malformed one must still be described safely.
 * The userinfo ends at the last `@` before the query, so a password holding an unescaped `@`
 * or `/` is still never taken for a host.
 */
export function parseMongoUri(uri: string): UriParts | undefined {
  const m = /^(mongodb(?:\+srv)?):\/\/(?:([^?]*)@)?([^/?]*)/.exec(uri)
  if (!m) return undefined
  const userinfo = m[2]
  const colon = userinfo?.indexOf(':') ?? -1
  const parts: UriParts = {
    scheme: m[1] as UriParts['scheme'],
    hosts: (m[3] ?? '').split(',').filter(Boolean),
  }
  if (userinfo !== undefined && colon >= 0) parts.password = userinfo.slice(colon + 1)
  return parts
}

/** "h1:27017, h2:27018" or "cluster0.example.mongodb.net (SRV)": what to call the target. */
export function describeUri(uri: string): string {
  const parts = parseMongoUri(uri)
  if (!parts || parts.hosts.length === 0) return 'the configured MongoDB'
  const hosts = parts.hosts.join(', ')
  return parts.scheme === 'mongodb+srv' ? `${hosts} (SRV)` : hosts
}

/**
 * Removes the URIs' passwords (as written and decoded) and any userinfo of any URI from text.
 * Several URIs: an import from another database knows two connection strings.
 */
export function redactSecrets(text: string, ...uris: (string | undefined)[]): string {
  let out = text.replace(/(mongodb(?:\+srv)?:\/\/)[^\s@/]*@/g, '$1***@')
  for (const uri of uris) {
    const password = uri ? parseMongoUri(uri)?.password : undefined
    if (!password) continue
    const forms = new Set([password])
    try {
      forms.add(decodeURIComponent(password))
    } catch {
      // A malformed escape: only the raw form can appear.
    }
    for (const form of forms) if (form.length > 0) out = out.split(form).join('***')
  }
  // Never a hash either (the contract: no hash in any log line or error): bcrypt, and any PHC
  // string (`$argon2id$v=19$m=..$salt$hash`, `$pbkdf2-sha256$..`) an imported row carried.
  return out.replace(/\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}/g, '[hash]').replace(/\$[a-z][a-z0-9-]{1,31}(?:\$[^$\s"']+){2,}/g, '[hash]')
}
