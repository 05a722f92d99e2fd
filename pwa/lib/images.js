// Photos of documents, prepared on the phone before they are stored: at most 1600 px on the long side, re-encoded
// as JPEG through a canvas. Re-encoding is also what removes the camera's EXIF block, with the GPS position of the
// citizen's home in it: a canvas carries pixels only. The orientation the camera recorded in EXIF is applied first,
// so that a portrait photo stays upright once the tag is gone.
//
// The SHA-256 of the bytes stored is the photo's identity everywhere: the IndexedDB key, the upload URL
// (PUT /api/v1/attachments/{sha256}) and the reference inside the dossier.

// Preparing a 12-megapixel photo (decode, resize, encode) blocks a thread for most of a second on a cheap phone:
// it runs in a dedicated worker (photo-worker.js) where the browser offers createImageBitmap and OffscreenCanvas
// there, on this thread otherwise. Both run the same code below, so they give the same bytes.
//
// While the photo is in hand, a small greyscale copy tells whether it is blurred or too dark to read
// (assessPhoto), and a thumbnail lets the officer check at the door that the whole page is on it.

export const MAX_LONG_SIDE = 1600;
// 0.5: three photos of a printed A4 page (a realistic 12-megapixel shot) come to about 546 KB, under the 600 KB a
// dossier may take on 3G, and the text stays legible at 100 %; at 0.8 they were 984 KB (bench/sync_3g.py).
export const JPEG_QUALITY = 0.5;

/** The thumbnail shown under each document: 320 px on the long side is sharp at 160 CSS px on a 2x screen. */
export const THUMBNAIL_LONG_SIDE = 320;
export const THUMBNAIL_QUALITY = 0.6;

/** The sharpness and exposure checks look at a greyscale copy this size: enough for the strokes of printed text,
 * small enough (under half a megapixel) to measure in a few milliseconds. */
export const ANALYSIS_LONG_SIDE = 800;
/** Side of the square tiles the sharpness is measured in (see assessPhoto). */
export const ANALYSIS_TILE = 100;

// The sharpness threshold was chosen on generated pages of "text" at 3000 px, resized as the phone does
// (tests/browser/pwa/test_photo_capture.py prints the figures): a sharp page scores 4000 to 6500; blurred by a
// Gaussian of sigma 2 px at 1600 px (still legible) about 420, or 260 when only a quarter of the page holds text;
// by 3 px (letters run together) about 160; by 4 px about 90. 200 lies between the legible and the illegible.
export const BLUR_LAPLACIAN_VARIANCE = 200;
// Mean luminance (0 to 255): the same generated pages in good light average 180 to 225, and 28 with a tenth of the
// light (all of it near-black); white paper reads as white from about 150 up. Under 60, a third of the way down from
// paper to ink, the text has too little contrast left to read.
export const DARK_MEAN_LUMINANCE = 60;
// A pixel under 40 is near-black; a page whose pixels are mostly so (over 70 %) is too dark even when a bright spot
// (a lamp in the frame) lifts the mean. Printed text covers 3 to 15 % of the pages above.
export const NEAR_BLACK_LUMINANCE = 40;
export const DARK_PIXEL_SHARE = 0.7;

/** Why a file was refused: not an image at all (a PDF, say), or an image this browser cannot decode. */
export const REFUSED = Object.freeze({ NOT_AN_IMAGE: "not_an_image", UNREADABLE: "unreadable" });

/** An error carrying one of REFUSED as `reason`. */
export class PhotoRefused extends Error {
  constructor(reason, detail = "") {
    super(detail || reason);
    this.name = "PhotoRefused";
    this.reason = reason;
  }
}

/** How many photos each path prepared on this page (read by the tests and bench/photo_main_thread.py). */
export const preparedBy = { worker: 0, mainThread: 0 };

/** Hex SHA-256 of a Blob or ArrayBuffer (WebCrypto; needs a secure context: https or localhost). */
export async function sha256Hex(data) {
  const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Width and height that fit `maxSide` on the long side, never enlarging. */
export function fitWithin(width, height, maxSide = MAX_LONG_SIDE) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Decode a photo upright (EXIF orientation applied); a file that is not a decodable image is refused. */
async function decode(file) {
  // The camera input says accept="image/*", but a file picker lets the officer choose any file.
  if (file.type && !file.type.startsWith("image/")) throw new PhotoRefused(REFUSED.NOT_AN_IMAGE, file.type);
  try {
    return await decodeImage(file);
  } catch (error) {
    throw new PhotoRefused(REFUSED.UNREADABLE, String(error));
  }
}

async function decodeImage(file) {
  if (typeof createImageBitmap === "function") {
    return createImageBitmap(file, { imageOrientation: "from-image" });
  }
  // Old Safari: an <img> decodes and orients, and a canvas can draw it the same way.
  const url = URL.createObjectURL(file);
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    return image;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function makeCanvas(width, height) {
  if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function encode(canvas, type, quality) {
  if (typeof canvas.convertToBlob === "function") return canvas.convertToBlob({ type, quality });
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be encoded"))), type, quality);
  });
}

/** A copy of `source` at most `maxSide` on its long side, on a canvas with a white backdrop. */
function drawScaled(source, sourceWidth, sourceHeight, maxSide) {
  const { width, height } = fitWithin(sourceWidth, sourceHeight, maxSide);
  const canvas = makeCanvas(width, height);
  const context = canvas.getContext("2d", { alpha: false });
  // Paper photographed against a dark table: a white backdrop keeps transparent PNG screenshots readable too.
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(source, 0, 0, width, height);
  return { canvas, context, width, height };
}

/**
 * Is the photo sharp and bright enough to read? `image` is RGBA pixels ({data, width, height}, an ImageData).
 *
 * Sharpness is the variance of the Laplacian (the sum of the four neighbours minus four times the pixel) of the
 * greyscale image: edges of print make it large, blur flattens them. It is measured in square tiles and the mean
 * of the busiest quarter counts, so that a sharp page with a few lines of text is not taken for a blurred one.
 * Exposure is the mean luminance and the share of near-black pixels.
 *
 * @returns `{sharpness, meanLuminance, darkShare, blurred, dark}`.
 */
export function assessPhoto(image) {
  const { data, width, height } = image;
  const grey = new Float32Array(width * height);
  let sum = 0;
  let nearBlack = 0;
  for (let i = 0, p = 0; i < grey.length; i++, p += 4) {
    const luminance = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
    grey[i] = luminance;
    sum += luminance;
    if (luminance < NEAR_BLACK_LUMINANCE) nearBlack++;
  }
  const tileVariances = [];
  for (let top = 1; top < height - 1; top += ANALYSIS_TILE) {
    for (let left = 1; left < width - 1; left += ANALYSIS_TILE) {
      let n = 0;
      let total = 0;
      let squares = 0;
      for (let y = top; y < Math.min(top + ANALYSIS_TILE, height - 1); y++) {
        for (let x = left, i = y * width + left; x < Math.min(left + ANALYSIS_TILE, width - 1); x++, i++) {
          const laplacian = grey[i - 1] + grey[i + 1] + grey[i - width] + grey[i + width] - 4 * grey[i];
          n++;
          total += laplacian;
          squares += laplacian * laplacian;
        }
      }
      if (n) tileVariances.push(squares / n - (total / n) ** 2);
    }
  }
  tileVariances.sort((a, b) => b - a);
  const busiest = tileVariances.slice(0, Math.max(1, Math.ceil(tileVariances.length / 4)));
  const sharpness = busiest.reduce((a, b) => a + b, 0) / busiest.length || 0;
  const meanLuminance = sum / grey.length;
  const darkShare = nearBlack / grey.length;
  const dark = meanLuminance < DARK_MEAN_LUMINANCE || darkShare > DARK_PIXEL_SHARE;
  return {
    sharpness: Math.round(sharpness * 10) / 10,
    meanLuminance: Math.round(meanLuminance * 10) / 10,
    darkShare: Math.round(darkShare * 1000) / 1000,
    // A dark photo is flat everywhere and would read as blurred too: the one thing to say then is the light.
    blurred: !dark && sharpness < BLUR_LAPLACIAN_VARIANCE,
    dark,
  };
}

/**
 * Resize and re-encode a photo (a File or Blob from the camera input) on this thread.
 *
 * @param options `maxSide` (MAX_LONG_SIDE) and `quality` (JPEG_QUALITY).
 * @returns `{blob, sha256, width, height, size, thumbnail, quality}`: a JPEG without metadata, the hex SHA-256 of
 *   its bytes, a small JPEG to show, and what assessPhoto found.
 * @throws PhotoRefused when the file is not an image the browser can decode.
 */
export async function preparePhoto(file, options = {}) {
  const maxSide = options.maxSide ?? MAX_LONG_SIDE;
  const quality = options.quality ?? JPEG_QUALITY;
  const source = await decode(file);
  const sourceWidth = source.width || source.naturalWidth;
  const sourceHeight = source.height || source.naturalHeight;
  if (!sourceWidth || !sourceHeight) throw new PhotoRefused(REFUSED.UNREADABLE, "no pixels");
  const { canvas, width, height } = drawScaled(source, sourceWidth, sourceHeight, maxSide);
  if (typeof source.close === "function") source.close(); // a 12-megapixel bitmap holds ~48 MB until closed
  const blob = await encode(canvas, "image/jpeg", quality);
  // The checks and the thumbnail start from the prepared photo: what will be sent is what is judged.
  const analysis = drawScaled(canvas, width, height, ANALYSIS_LONG_SIDE);
  const checked = assessPhoto(analysis.context.getImageData(0, 0, analysis.width, analysis.height));
  const thumbnail = await encode(drawScaled(analysis.canvas, analysis.width, analysis.height, THUMBNAIL_LONG_SIDE)
    .canvas, "image/jpeg", THUMBNAIL_QUALITY);
  return { blob, sha256: await sha256Hex(blob), width, height, size: blob.size, thumbnail, quality: checked };
}

// --- off the main thread ----------------------------------------------------------------------------------------

let worker = null; // null: not tried yet; false: not available here (the main thread does the work)
let nextRequest = 0;
const pending = new Map();

/** The photo worker, started on first use; false where the browser cannot run it. */
function photoWorker() {
  if (worker !== null) return worker;
  worker = false;
  if (typeof Worker !== "function" || typeof OffscreenCanvas !== "function" || typeof createImageBitmap !== "function") {
    return worker;
  }
  try {
    worker = new Worker(new URL("./photo-worker.js", import.meta.url), { type: "module" });
  } catch {
    return worker;
  }
  worker.addEventListener("message", ({ data }) => {
    const request = pending.get(data.id);
    if (!request) return;
    pending.delete(data.id);
    if (data.photo) request.resolve(data.photo);
    else if (data.refused) request.reject(new PhotoRefused(data.refused, data.detail));
    else request.reject(new Error(data.detail || "photo worker failed"));
  });
  // A worker that cannot load (no module workers, say) is given up for this page; what it held is done here.
  worker.addEventListener("error", (event) => {
    event.preventDefault();
    worker = false;
    for (const request of pending.values()) request.reject(new Error("photo worker unavailable"));
    pending.clear();
  });
  return worker;
}

/**
 * preparePhoto, in the photo worker where the browser allows it, so that the page stays responsive while a
 * 12-megapixel photo is decoded, resized and encoded. A refused file is refused the same way on either path; any
 * other failure of the worker falls back to this thread.
 */
export async function preparePhotoOffMainThread(file, options = {}) {
  const target = photoWorker();
  if (target) {
    try {
      const photo = await new Promise((resolve, reject) => {
        const id = ++nextRequest;
        pending.set(id, { resolve, reject });
        target.postMessage({ id, file, options });
      });
      preparedBy.worker++;
      return photo;
    } catch (error) {
      if (error instanceof PhotoRefused) throw error;
    }
  }
  const photo = await preparePhoto(file, options);
  preparedBy.mainThread++;
  return photo;
}
