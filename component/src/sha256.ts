/** The lowercase hex sha256 of `bytes`, by the browser's own SHA-256 (a secure context's `crypto.subtle`). */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
