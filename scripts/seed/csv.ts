// CSV reading for the seed script (RFC 4180): records of comma-separated fields, quoted fields
// may hold commas, quotes ("" inside quotes) and line breaks. Each record keeps the line it
// starts on, so a report can point at it. A problem in one record is that record's problem;
// only an unterminated quote (where would the next record start?) fails the whole file.

export interface CsvRecord {
  /** 1-based line of the file on which the record starts. */
  line: number
  fields: string[]
  /** Set when the record is malformed; its fields are then unreliable. */
  error?: string
}

export class CsvError extends Error {
  override name = 'CsvError'
}

export function parseCsv(text: string): CsvRecord[] {
  // A UTF-8 BOM (spreadsheet exports) is not part of the first header name.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  const records: CsvRecord[] = []
  let line = 1
  let i = 0
  const n = text.length
  while (i < n) {
    const start = line
    const fields: string[] = []
    let error: string | undefined
    // One record: fields until an unquoted line break or the end of the text.
    for (;;) {
      let field = ''
      if (text[i] === '"') {
        i++
        for (;;) {
          if (i >= n) throw new CsvError(`line ${start}: a quoted field is not closed`)
          const c = text[i]!
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"'
              i += 2
              continue
            }
            i++
            break
          }
          if (c === '\n') line++
          field += c
          i++
        }
        // RFC 4180 2.7: after the closing quote comes a comma or the end of the record.
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          error ??= `text after a closing quote in field ${fields.length + 1}`
          while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i++
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          // RFC 4180 2.5: a field with a quote must be quoted as a whole.
          if (text[i] === '"') error ??= `a quote inside unquoted field ${fields.length + 1}`
          field += text[i]
          i++
        }
      }
      fields.push(field)
      if (i < n && text[i] === ',') {
        i++
        continue
      }
      break
    }
    // End of record: CRLF, a lone LF or a lone CR.
    if (text[i] === '\r') i++
    if (text[i] === '\n') i++
    line++
    // A blank line is no record (a trailing newline, spacing in a hand-written file).
    if (fields.length === 1 && fields[0] === '' && !error) continue
    records.push(error ? { line: start, fields, error } : { line: start, fields })
  }
  return records
}
