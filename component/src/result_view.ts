/**
 * What the person sees of a result, drawn inside the sandbox only: a one-line summary, the
 * privacy receipt, a top-k bar chart and the picked image with its detection boxes.
 */
import { type BatchItem, type Detection, type InferenceResult, PREVIEW_SIDE, type Receipt, type SentField } from "./protocol";

const summaryEl = document.getElementById("summary") as HTMLElement;
const receiptEl = document.getElementById("receipt") as HTMLElement;
const barsEl = document.getElementById("bars") as HTMLElement;
const canvas = document.getElementById("preview") as HTMLCanvasElement;

/** The picked image as the Worker decoded it; `width`/`height` are the decoded image's. */
export interface Preview {
  bitmap: ImageBitmap;
  width: number;
  height: number;
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const percent = (score: number) => `${(score * 100).toFixed(1)}%`;

/**
 * The person's one-line view of the receipt: what the server receives, and that their
 * file is not part of it. Every count comes from the receipt the engine wrote; a file is
 * never a field of a result, so what of it left is 0 bytes by construction.
 */
export function describeReceipt(receipt: Receipt): string {
  const parts = receipt.sent.flatMap((f) => describeField(f) ?? []);
  const bytes = receipt.sent.reduce((sum, f) => sum + f.bytes, 0);
  const sent = `Sent to server: ${parts.length ? parts.join(", ") : "timings only"} (${plural(bytes, "byte")})`;
  const input = receipt.input_kind === "file"
    ? `your file: 0 bytes; at most ${plural(receipt.bits, "bit")} derived from your file were sent`
    : "input: numbers the app supplied";
  const kept = receipt.withheld.length ? `; kept in this browser: ${receipt.withheld.map((w) => w.output).join(", ")}` : "";
  return `${sent}; ${input}${kept}`;
}

/**
 * One field that left, in the person's words. Exhaustive over the schema's result fields: a
 * field added to the engine's result does not build until the person's line names it.
 * Timings leave with every result; the line says "timings only" when nothing else did.
 */
function describeField(f: SentField): string | null {
  switch (f.field) {
    case "top_k":
      return plural(f.elements, "score");
    case "outputs":
      return `${plural(f.elements, "value")} of ${f.name}`;
    case "postprocessed":
      return plural(f.elements, "post-processing result");
    case "detections":
      return plural(f.elements, "detection");
    case "dicom_attributes":
      return plural(f.elements, "DICOM header attribute");
    case "timings_ms":
      return null;
    default: {
      const unnamed: never = f.field;
      throw new Error(`a result field the person's line does not name: ${unnamed}`);
    }
  }
}

/**
 * The receipt line for a whole batch: the total of every file's receipt, since the server
 * receives all of them at once; error items carry only their code and message.
 */
export function describeBatchReceipt(items: BatchItem[]): string {
  const receipts = items.flatMap((item) => (item.status === "ok" ? [item.receipt] : []));
  const bytes = receipts.reduce((sum, r) => sum + r.sent.reduce((s, f) => s + f.bytes, 0), 0);
  const failed = items.length - receipts.length;
  const errors = failed ? ` and ${plural(failed, "error message")}` : "";
  const kept = [...new Set(receipts.flatMap((r) => r.withheld.map((w) => w.output)))];
  const keptText = kept.length ? `; kept in this browser: ${kept.join(", ")}` : "";
  const bits = receipts.reduce((sum, r) => sum + r.bits, 0);
  return `Sent to server: the results of ${plural(receipts.length, "file")} (${plural(bytes, "byte")})${errors}; ` +
    `your files: 0 bytes; at most ${plural(bits, "bit")} derived from them were sent${keptText}`;
}

/** Replaces the receipt line only, leaving the last file's outcome on screen. */
export function showReceipt(text: string): void {
  receiptEl.textContent = text;
}

export function summarize(result: InferenceResult): string {
  const best = result.top_k?.find((t) => t.row === 0);
  const ms = result.timings_ms.inference?.toFixed(1);
  if (best) return `Top result: ${best.label ?? `class ${best.index}`} (${percent(best.score)}) · ${ms} ms`;
  if (result.detections) return `${plural(result.detections.length, "detection")} · ${ms} ms`;
  return `Done · ${plural(Object.keys(result.outputs).length, "output")} · ${ms} ms`;
}

/** The last outcome stays on screen until the next one; the status line shows the stage. */
export function showOutcome(text: string, kind: "ok" | "error", receipt = ""): void {
  summaryEl.textContent = text;
  summaryEl.dataset.kind = kind;
  receiptEl.textContent = receipt;
}

/** Clears the chart and the preview, so a new run never shows the previous file's picture. */
export function clearResultView(): void {
  barsEl.replaceChildren();
  canvas.hidden = true;
}

/** `prefix` names the file's place in a batch ("File 2: "). */
export function showResult(result: InferenceResult, preview: Preview | null, prefix = ""): void {
  showOutcome(prefix + summarize(result), "ok", describeReceipt(result.receipt));
  showBars(result);
  if (preview) drawPreview(preview, result.detections ?? []);
  else canvas.hidden = true;
}

/** One bar per ranked class of the first row: label, a bar as long as the score, the percentage. */
function showBars(result: InferenceResult): void {
  const rows = (result.top_k ?? []).filter((t) => t.row === 0);
  barsEl.replaceChildren(...rows.map((t) => {
    const label = t.label ?? `class ${t.index}`;
    const item = document.createElement("li");
    item.className = "bar";
    item.setAttribute("aria-label", `${label}: ${percent(t.score)}`);
    const name = document.createElement("span");
    name.className = "bar-label";
    name.textContent = label;
    name.title = label;
    const track = document.createElement("span");
    track.className = "bar-track";
    track.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.className = "bar-fill";
    fill.style.width = `${Math.min(100, Math.max(0, t.score * 100))}%`;
    fill.style.display = "block";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = percent(t.score);
    item.append(name, track, value);
    return item;
  }));
}

function drawPreview({ bitmap, width, height }: Preview, detections: Detection[]): void {
  const scale = Math.min(PREVIEW_SIDE / width, PREVIEW_SIDE / height);
  const drawWidth = width * scale;
  const drawHeight = height * scale;
  const left = Math.round((PREVIEW_SIDE - drawWidth) / 2);
  const top = Math.round((PREVIEW_SIDE - drawHeight) / 2);
  const dpr = window.devicePixelRatio || 1;
  canvas.width = canvas.height = Math.round(PREVIEW_SIDE * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  // Enlarged small images keep hard pixel edges: the engine sees pixels, not a blur.
  ctx.imageSmoothingEnabled = scale < 2;
  ctx.drawImage(bitmap, left, top, drawWidth, drawHeight);
  bitmap.close();
  // Boxes are [xmin, ymin, xmax, ymax] in the decoded image's pixels (EXIF orientation applied,
  // as the engine applies it), so the image's own placement maps them onto the preview.
  const color = getComputedStyle(document.documentElement).getPropertyValue("--ssc-primary").trim() || "#ff4b4b";
  ctx.lineWidth = 2;
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.font = "12px system-ui, sans-serif";
  for (const d of detections) {
    // On whole pixels, so the 2-pixel line is crisp rather than smeared over three.
    const [x0, x1] = [d.box[0], d.box[2]].map((v) => left + Math.round(v * scale));
    const [y0, y1] = [d.box[1], d.box[3]].map((v) => top + Math.round(v * scale));
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const tag = percent(d.score);
    const tagWidth = ctx.measureText(tag).width + 6;
    const tagY = y0 >= 16 ? y0 - 16 : y0;
    ctx.fillRect(x0, tagY, tagWidth, 16);
    ctx.save();
    ctx.fillStyle = "#fff";
    ctx.fillText(tag, x0 + 3, tagY + 12);
    ctx.restore();
  }
  canvas.setAttribute("aria-label", detections.length
    ? `Your image with ${plural(detections.length, "detected object")} outlined`
    : "Your image");
  canvas.dataset.boxes = String(detections.length);
  canvas.hidden = false;
}
