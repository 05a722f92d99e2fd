// Photos of documents, prepared on the phone before they are stored: at most 1600 px on the long side, re-encoded
// as JPEG through a canvas. Re-encoding is also what removes the camera's EXIF block, with the GPS position of the
// citizen's home in it: a canvas carries pixels only. The orientation the camera recorded in EXIF is applied first,
// so that a portrait photo stays upright once the tag is gone.
//
// The SHA-256 of the bytes stored is the photo's identity everywhere: the IndexedDB key, the upload URL
// (PUT /api/v1/attachments/{sha256}) and the reference inside the dossier.

export const MAX_LONG_SIDE = 1600;
// 0.5: three photos of a printed A4 page (a realistic 12-megapixel shot) come to about 546 KB, under the 600 KB a
// dossier may take on 3G, and the text stays legible at 100 %; at 0.8 they were 984 KB (bench/sync_3g.py).
export const JPEG_QUALITY = 0.5;

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

/** Decode a photo upright (EXIF orientation applied). */
async function decode(file) {
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

/**
 * Resize and re-encode a photo (a File or Blob from the camera input).
 *
 * @param options `maxSide` (MAX_LONG_SIDE) and `quality` (JPEG_QUALITY).
 * @returns `{blob, sha256, width, height, size}`: a JPEG without metadata and the hex SHA-256 of its bytes.
 * @throws when the file is not an image the browser can decode.
 */
export async function preparePhoto(file, options = {}) {
  const maxSide = options.maxSide ?? MAX_LONG_SIDE;
  const quality = options.quality ?? JPEG_QUALITY;
  const source = await decode(file);
  const sourceWidth = source.width || source.naturalWidth;
  const sourceHeight = source.height || source.naturalHeight;
  const { width, height } = fitWithin(sourceWidth, sourceHeight, maxSide);
  const canvas = makeCanvas(width, height);
  const context = canvas.getContext("2d", { alpha: false });
  // Paper photographed against a dark table: a white backdrop keeps transparent PNG screenshots readable too.
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(source, 0, 0, width, height);
  if (typeof source.close === "function") source.close(); // a 12-megapixel bitmap holds ~48 MB until closed
  const blob = await encode(canvas, "image/jpeg", quality);
  return { blob, sha256: await sha256Hex(blob), width, height, size: blob.size };
}
