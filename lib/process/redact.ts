/**
 * A URL's password never reaches a log, an error message or the journal:
 * every `//user:password@` in `text` becomes `//user:***@`. Anything else,
 * including a URL without a password, is returned unchanged.
 */
export function redact (text: string): string {
  return text.replace(/\/\/([^:@/]*):[^@/]*@/g, '//$1:***@')
}
