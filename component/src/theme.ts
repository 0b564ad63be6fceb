/**
 * Streamlit's theme in the sandbox, as CSS custom properties set through the CSSOM: the
 * sandbox's CSP admits styles only by hash, which covers sandbox.css but no inline style.
 */
import type { Theme } from "./protocol";

// The sandbox cannot load fonts (font-src falls back to default-src 'none'), so Streamlit's
// web font is replaced by an installed family of the same kind.
const SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const SERIF = 'ui-serif, Georgia, "DejaVu Serif", "Times New Roman", serif';
const MONO = 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace';

/** The local family stack for a Streamlit font value such as `"Source Sans", sans-serif`. */
export function localFont(font: string): string {
  const f = font.toLowerCase();
  if (f.includes("mono")) return MONO;
  if (f.includes("serif") && !f.includes("sans")) return SERIF;
  return SANS;
}

export function applyTheme(theme: Theme): void {
  const root = document.documentElement.style;
  root.setProperty("--ssc-primary", theme.primaryColor);
  root.setProperty("--ssc-bg", theme.backgroundColor);
  root.setProperty("--ssc-bg2", theme.secondaryBackgroundColor);
  root.setProperty("--ssc-text", theme.textColor);
  root.setProperty("--ssc-font", localFont(theme.font));
  // Form controls and scrollbars follow the app's light or dark base.
  root.setProperty("color-scheme", theme.base);
}
