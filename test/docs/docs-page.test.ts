// /docs in a real headless Chromium: the page loads with no request leaving the service (no CDN)
// and no CSP violation, the OAuth2 password flow of the Authorize dialog logs in through
// /api/auth/login, and "Try it out" on GET /api/users/me then answers 200 with the user.
// Skipped where Debian's chromium is not installed (.ci/install-chromium.sh installs it).
import { existsSync, mkdirSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { ADMIN, login, newUser, startService, type Service } from '../helpers/service.js'
import { codeAt, enrolledUser, mfaTokenOf } from '../helpers/totp.js'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
const SKIP_NOTE = hasChromium ? '' : ` (skipped: ${CHROMIUM} is missing; run .ci/install-chromium.sh)`
if (!hasChromium) console.warn(`test/docs/docs-page.test.ts${SKIP_NOTE}`)

// Flags for a container without a display, sandbox or network beyond the service itself.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOT = 'test-artifacts/docs.png'

describe.skipIf(!hasChromium)(`GET /docs in a browser${SKIP_NOTE}`, () => {
  let svc: Service
  let browser: Browser

  beforeAll(async () => {
    ;[svc, browser] = await Promise.all([
      startService({ MFA_ENCRYPTION_KEY: randomBytes(32).toString('hex') }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await svc?.stop()
  })

  it('authorizes with the password flow and runs GET /api/users/me', { timeout: 90_000 }, async () => {
    const admin = await login(svc, ADMIN.username, ADMIN.password)
    const user = await newUser(svc, admin.access_token)

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    page.setDefaultTimeout(20_000)

    // Offline: anything not served by the service itself is refused, and remembered.
    const outside: string[] = []
    await page.route('**/*', (r) => {
      if (r.request().url().startsWith(svc.url)) return r.continue()
      outside.push(r.request().url())
      return r.abort()
    })
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() === 'error' || /Content Security Policy/i.test(msg.text())) problems.push(`console: ${msg.text()}`)
    })
    const tokenRequests: string[] = []
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === '/api/auth/login') tokenRequests.push(`${req.method()} ${req.headers()['content-type']}`)
    })

    const res = await page.goto(`${svc.url}/docs`)
    expect(res?.status()).toBe(200)

    await page.locator('.swagger-ui button.authorize').first().click()
    await page.fill('#oauth_username', user.username)
    await page.fill('#oauth_password', user.password)
    await page.click('button[aria-label="Apply given OAuth2 credentials"]')
    // The dialog offers Logout once the token endpoint has answered.
    await page.locator('.auth-container button', { hasText: 'Logout' }).waitFor()
    expect(tokenRequests).toEqual(['POST application/x-www-form-urlencoded'])
    await page.locator('.modal-ux .close-modal').click()

    const op = page.locator('#operations-users-getUsersMe')
    await op.locator('.opblock-summary-control').click()
    await op.locator('.try-out__btn').click()
    await op.locator('button.execute').click()
    const row = op.locator('.live-responses-table tbody tr.response').first()
    await row.waitFor()
    expect((await row.locator('.response-col_status').innerText()).trim()).toBe('200')
    const body = await row.locator('.response-col_description pre').first().innerText()
    expect(JSON.parse(body)).toMatchObject({ username: user.username, email: user.email, role: 'user' })

    mkdirSync('test-artifacts', { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })

    // persistAuthorization: the token survives a reload.
    await page.reload()
    await expect.poll(() => page.locator('.swagger-ui button.authorize').first().getAttribute('class')).toContain('locked')

    expect(outside, 'requests that left the service').toEqual([])
    expect(problems).toEqual([])
    await context.close()
  })

  it('"Try it out" on POST /api/auth/mfa/verify exchanges an mfa_token and a code for the token pair', { timeout: 90_000 }, async () => {
    const admin = await login(svc, ADMIN.username, ADMIN.password)
    const user = await enrolledUser(svc, admin.access_token)
    const mfaToken = await mfaTokenOf(svc, user)

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    page.setDefaultTimeout(20_000)
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    await page.goto(`${svc.url}/docs`)

    const op = page.locator('#operations-mfa-postAuthMfaVerify')
    await op.locator('.opblock-summary-control').click()
    await op.locator('.try-out__btn').click()
    // The activation spent this step's code; the next step's is accepted one step early.
    await op.locator('textarea.body-param__text').fill(JSON.stringify({ mfa_token: mfaToken, code: codeAt(user.secret, 30) }))
    await op.locator('button.execute').click()
    const row = op.locator('.live-responses-table tbody tr.response').first()
    await row.waitFor()
    expect((await row.locator('.response-col_status').innerText()).trim()).toBe('200')
    const body = JSON.parse(await row.locator('.response-col_description pre').first().innerText())
    expect(body).toMatchObject({ token_type: 'bearer' })
    expect(JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString())).toMatchObject({ aal: 'aal2', amr: ['pwd', 'otp'] })
    expect(problems).toEqual([])
    await context.close()
  })
})
