// The seed CLI's arguments: usage text, exit codes, and the parsed options (bad ones are a
// UsageError, exit 2).
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { MONGODB_URI_RULE, isMongoUri } from '../../lib/config.js'
import { normalizeUsername } from '../../lib/schemas.js'

export const EXIT = { ok: 0, rowsFailed: 1, unusable: 2, interrupted: 130 } as const

export const USAGE = `Usage: npm run seed -- [options]

Create users in the service's MongoDB, with the same rules as the API (username, email,
password policy, role). Existing users are skipped, or updated with --upsert.

One user from flags:
  --username NAME          3-32 characters of a-z 0-9 . _ -
  --email ADDRESS
  --role admin|user        default: user
  --email-verified         mark the email address verified (the user needs no link to
                           confirm it; with REQUIRE_VERIFIED_EMAIL=true, others cannot log in
                           until they confirm it). Default: unverified
  --password-stdin         read the password from stdin (one trailing newline is removed)
  --generate-password      make a random password and print it once on stdout
                           (neither: a hidden prompt when stdin is a terminal)

Many users from a file:
  --file PATH              a .json array of objects, one JSON document per line (mongoexport's
                           output), or a .csv file with the header username,email,password,role
                           (RFC 4180 quoting; columns in any order).
                           Instead of password a row may carry password_hash (or hashed_password,
                           the FastAPI project's name): a bcrypt hash ($2a$/$2b$/$2y$) or an
                           argon2id/argon2i/argon2d hash in PHC form (v=19, as passlib writes it),
                           to move users from another system without a reset; the user's next
                           login replaces an argon2 hash with bcrypt. Other hash schemes (pbkdf2,
                           md5, sha512-crypt, ...) are refused, row by row.
                           _id (an ObjectId, {"$oid": ...} in a file) is kept as the user's id;
                           another kind of _id (a string) only names the row in reports.
                           An empty role is --role (default user).
                           An email_verified column (CSV: true/false, 1/0, yes/no; JSON: a
                           boolean) says per row whether the address is verified; an empty
                           cell is --email-verified (default: unverified).

Many users from another MongoDB (read-only there: one find):
  --from-uri URI           connection string of the old database (mongodb+srv:// works)
  --from-db NAME           its database (default: the one in --from-uri's path)
  --from-collection NAME   its collection (default: users)
                           Every document is judged like a file row and reported by its _id.

  --admins NAME,NAME       these users get role admin (the FastAPI project has no roles; all
                           others get --role); each name must be in the input

Behaviour:
  --upsert                 update an existing user (matched by username): email, role,
                           password, and email_verified when the row or --email-verified gives
                           it (a changed email is unverified unless so); a changed password or
                           role ends the user's sessions
  --dry-run                validate and report what would happen; write nothing. Without a
                           reachable database the rows are checked against the rules only
  --json                   print the summary as JSON on stdout
  --cost N                 bcrypt cost, 4-15 (default: BCRYPT_COST, else 12)
  --workers N              hashing threads (default and maximum: ${availableParallelism()}, the cores available)
  --batch-size N           users per insert (default 100)
  --uri URI                MongoDB connection string (default: MONGODB_URI, else the embedded
                           database of a running npm run dev; mongodb+srv:// works)
  --db NAME                database name (default: MONGODB_DB, else auth)
  -h, --help               this text

MONGODB_URI, MONGODB_DB, BCRYPT_COST and DB_TIMEOUT_MS (connect timeout, default 3000 ms) are
read from the environment, then from .env (the environment wins; NAME= means unset); --uri,
--db and --cost win over both. With none of --uri and MONGODB_URI, the database is the one
npm run dev started, found in <DATA_DIR>/embedded-mongodb.json while it runs.

Output: a progress bar on stderr when it is a terminal (file imports); a summary on stdout:
created, updated, skipped, failed, and each skipped or failed row with its line (0 = the user
given by flags). Within a file, the first row with a username or email wins; later ones fail.

Exit status: 0 every row was applied or skipped; 1 some row failed validation or writing;
2 bad arguments, unreadable input, or no connection to MongoDB; 130 interrupted (Ctrl-C: the
batches in flight finish, each user is written whole or not at all, the summary is printed).

Examples:
  printf '%s\\n' "$ADMIN_PW" | npm run seed -- --username alice --email alice@example.com --role admin --password-stdin
  npm run seed -- --username bob --email bob@example.com --generate-password
  npm run seed -- --file users.csv --dry-run
  npm run seed -- --file users.json --upsert --json
  npm run seed -- --file users.csv --uri "mongodb+srv://seed:PASSWORD@cluster0.example.mongodb.net" --db auth
  mongoexport --db testdb --collection users --out fastapi-users.json && npm run seed -- --file fastapi-users.json --admins alice
  npm run seed -- --from-uri "mongodb://old-host:27017" --from-db testdb --from-collection users --admins alice
`

export class UsageError extends Error {}

export class Interrupted extends Error {}

// --- arguments ----------------------------------------------------------------------------

export interface Options {
  username?: string
  email?: string
  role: string
  emailVerified: boolean
  passwordStdin: boolean
  generatePassword: boolean
  file?: string
  upsert: boolean
  dryRun: boolean
  json: boolean
  cost?: number
  workers: number
  batchSize: number
  uri?: string
  db?: string
  admins?: string[]
  fromUri?: string
  fromDb?: string
  fromCollection: string
  help: boolean
}

function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`)
  return Number(value)
}

export function parseOptions(argv: string[]): Options {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        username: { type: 'string' },
        email: { type: 'string' },
        role: { type: 'string' },
        'email-verified': { type: 'boolean' },
        'password-stdin': { type: 'boolean' },
        'generate-password': { type: 'boolean' },
        file: { type: 'string' },
        upsert: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        cost: { type: 'string' },
        workers: { type: 'string' },
        'batch-size': { type: 'string' },
        uri: { type: 'string' },
        db: { type: 'string' },
        admins: { type: 'string' },
        'from-uri': { type: 'string' },
        'from-db': { type: 'string' },
        'from-collection': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    // parseArgs names the offending flag; it never echoes a value.
    throw new UsageError((err as Error).message)
  }
  const cores = availableParallelism()
  const options: Options = {
    username: values.username,
    email: values.email,
    role: values.role ?? 'user',
    emailVerified: values['email-verified'] ?? false,
    passwordStdin: values['password-stdin'] ?? false,
    generatePassword: values['generate-password'] ?? false,
    file: values.file,
    upsert: values.upsert ?? false,
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
    cost: intOption('cost', values.cost, 4, 15),
    workers: intOption('workers', values.workers, 1, cores) ?? cores,
    batchSize: intOption('batch-size', values['batch-size'], 1, 1000) ?? 100,
    uri: values.uri,
    db: values.db,
    fromUri: values['from-uri'],
    fromDb: values['from-db'],
    fromCollection: values['from-collection'] ?? 'users',
    help: values.help ?? false,
  }
  if (values.admins !== undefined) {
    // Names as the API stores them, so "Alice" finds the row whose username is alice.
    options.admins = values.admins.split(',').map((n) => normalizeUsername(n.trim())).filter((n) => n !== '')
    if (options.admins.length === 0) throw new UsageError('--admins needs at least one username')
  }
  if (options.help) return options
  // Checked here, not by lib/config: its message would blame MONGODB_URI for a bad flag.
  if (options.uri !== undefined && !isMongoUri(options.uri)) throw new UsageError(`--uri ${MONGODB_URI_RULE}`)
  const many = options.file !== undefined || options.fromUri !== undefined
  if (options.file !== undefined && options.fromUri !== undefined) throw new UsageError('give --file or --from-uri, not both')
  if (options.fromUri === undefined && (values['from-db'] !== undefined || values['from-collection'] !== undefined)) {
    throw new UsageError('--from-db and --from-collection go with --from-uri')
  }
  if (options.fromUri !== undefined) {
    if (!isMongoUri(options.fromUri)) throw new UsageError(`--from-uri ${MONGODB_URI_RULE}`)
    options.fromDb ??= databaseInPath(options.fromUri)
    if (!options.fromDb) throw new UsageError('give --from-db (the old database; the FastAPI project uses testdb)')
  }
  if (many) {
    const clash = (['username', 'email', 'passwordStdin', 'generatePassword'] as const).filter((k) => options[k])
    if (clash.length > 0) throw new UsageError(`${options.file !== undefined ? '--file' : '--from-uri'} cannot be combined with --username, --email, --password-stdin or --generate-password`)
  } else {
    if (!options.username || !options.email) throw new UsageError('give --username and --email (one user), --file or --from-uri (many)')
    if (options.passwordStdin && options.generatePassword) throw new UsageError('give either --password-stdin or --generate-password, not both')
    if (options.admins) throw new UsageError('--admins goes with --file or --from-uri; one user takes --role')
  }
  return options
}

/** The database named in a connection string's path (`mongodb://h/testdb?..` gives testdb). */
function databaseInPath(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/(?:[^?]*@)?[^/?]*\/([^?]+)/.exec(uri)
  if (!m) return undefined
  try {
    return decodeURIComponent(m[1]!)
  } catch {
    return undefined
  }
}
