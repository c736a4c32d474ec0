import { Type, type TString } from 'typebox'

/*
 * The one rule for text a client sends (nombre, concepto, and any later text
 * field such as a refund's motivo): well-formed Unicode — no lone surrogate,
 * escaped (`"\ud83d"`) or raw —, no control characters (C0, DEL, C1), no
 * line or paragraph separators, no noncharacters; and not blank: at least
 * one character that is neither whitespace nor invisible (format characters
 * such as U+200B, U+FEFF, the Hangul fillers, the Braille blank U+2800) nor
 * a lone combining mark. Lengths count code points
 * (TypeBox's minLength/maxLength). Bytes that are not UTF-8 never reach it:
 * lib/http/http-app.ts refuses them while decoding the body.
 *
 * Refused, never repaired: a database would store a lone surrogate as U+FFFD
 * and PostgreSQL cannot store NUL at all.
 */

/** In a `u` regexp a lone surrogate is a code point of category Cs; a well-formed pair is not. */
const SUSTITUTO_SUELTO = /\p{Cs}/u
const CONTROL = /\p{Cc}/u
const SEPARADORES = /[\p{Zl}\p{Zp}]/u
const NO_CARACTERES = /\p{Noncharacter_Code_Point}/u
// Blank: whitespace, invisible characters, the Braille blank U+2800 (renders as a space but is a symbol), and combining marks with nothing to combine with.
const INVISIBLES = /^[\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800\p{M}]*$/u

/** The rules in the order they are checked: a text is refused by the first it breaks, with its `detalle` (after the field's name). */
const REGLAS: ReadonlyArray<{ valido: (s: string) => boolean, detalle: string }> = [
  { valido: (s) => !SUSTITUTO_SUELTO.test(s), detalle: 'no es Unicode válido (tiene un sustituto suelto)' },
  { valido: (s) => !CONTROL.test(s), detalle: 'tiene caracteres de control' },
  { valido: (s) => !SEPARADORES.test(s), detalle: 'tiene separadores de línea o de párrafo (U+2028, U+2029)' },
  { valido: (s) => !NO_CARACTERES.test(s), detalle: 'tiene no-caracteres de Unicode (como U+FFFE o U+FFFF)' },
  { valido: (s) => !INVISIBLES.test(s), detalle: 'no puede estar vacío ni ser solo espacios o caracteres invisibles' }
]

/** Why a text is refused, in Spanish (after the field's name), or undefined when it is fine. */
export function problemaDeTexto (s: string): string | undefined {
  return REGLAS.find((regla) => !regla.valido(s))?.detalle
}

export function esTextoValido (s: string): boolean {
  return problemaDeTexto(s) === undefined
}

/** A text field under the rule: `campo` names it in the error (one refinement per rule, each with its own `detalle`). */
export function textoSchema (campo: string, options: { minLength?: number, maxLength: number, description?: string, examples?: string[] }) {
  const base: TString = Type.String({
    minLength: options.minLength ?? 1,
    maxLength: options.maxLength,
    description: `${options.description ?? 'Texto'}: Unicode bien formado, sin caracteres de control, separadores de línea ni no-caracteres, no solo espacios; ` +
      `${options.minLength ?? 1} a ${options.maxLength} caracteres (puntos de código)`,
    ...(options.examples === undefined ? {} : { examples: options.examples })
  })
  const [first, ...rest] = REGLAS
  let schema = Type.Refine(base, first!.valido, () => `\`${campo}\` ${first!.detalle}`)
  for (const regla of rest) schema = Type.Refine(schema, regla.valido, () => `\`${campo}\` ${regla.detalle}`)
  return schema
}

/**
 * A name as stored: without whitespace or invisible characters at its start,
 * nor whitespace and zero-width spaces, joiners and BOMs at its end (a
 * variation selector may end an emoji: "❤️" keeps its U+FE0F).
 */
export function normalizarNombre (nombre: string): string {
  return nombre.replace(/^[\p{White_Space}\p{Default_Ignorable_Code_Point}]+/u, '').replace(/[\p{White_Space}\u200b-\u200d\u2060\ufeff]+$/u, '')
}
