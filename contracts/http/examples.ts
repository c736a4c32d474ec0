/* Values the documentation examples of both services share: one payment id, two instants. */
export const EXAMPLE_PAGO_ID = '3f1c2a9e-8b7d-4e6f-9a1b-2c3d4e5f6a7b'
export const EXAMPLE_T0 = '2026-01-15T10:00:00.000Z'
export const EXAMPLE_T1 = '2026-01-15T10:00:00.120Z'
