/**
 * True when `s` has no lone surrogate. Such a string has no UTF-8 form: cbor-x would write the
 * surrogate's CESU-8 bytes, which every strict receiver refuses. (`isWellFormed` is ES2024, not
 * yet in the project's `lib`.)
 */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
