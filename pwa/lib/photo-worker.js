// The photo worker (a module worker started by images.js): prepares one photo per message with the same code as
// the main thread's fallback, so that decoding, resizing and encoding a 12-megapixel photo never freezes the page.
//
// In:  {id, file, options}   Out: {id, photo} | {id, refused, detail} | {id, detail} (any other failure)

import { PhotoRefused, preparePhoto } from "./images.js";

self.addEventListener("message", async ({ data }) => {
  const { id, file, options } = data;
  try {
    self.postMessage({ id, photo: await preparePhoto(file, options) });
  } catch (error) {
    if (error instanceof PhotoRefused) self.postMessage({ id, refused: error.reason, detail: error.message });
    else self.postMessage({ id, detail: String(error) });
  }
});
