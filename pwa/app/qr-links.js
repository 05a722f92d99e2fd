// Draws a QR code for every element with data-qr-url (a follower's invitation, the receipt's follow address),
// with the same encoder as the officer's receipt, so that pages need no server-side image.

import { qrSvg } from "./receipt.js";

for (const holder of document.querySelectorAll("[data-qr-url]")) {
  const url = new URL(holder.dataset.qrUrl, window.location.origin).href;
  holder.prepend(qrSvg(url, holder.dataset.qrLabel || url));
}
