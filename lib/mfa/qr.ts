// The enrolment QR code, as an SVG document an app can scan from the screen. The `uqr` library
// (no dependencies, no install script) is loaded on first use: only the enrolment function needs it.
type Uqr = typeof import('uqr')
let loading: Promise<Uqr> | undefined

/** An SVG image of `text` as a QR code (error correction M: survives a smudged screen). */
export async function qrSvg(text: string): Promise<string> {
  const { renderSVG } = await (loading ??= import('uqr'))
  return renderSVG(text, { ecc: 'M', border: 2 })
}
