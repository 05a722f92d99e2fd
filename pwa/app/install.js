// The install panel (templates/_install.html): offers the browser's own install prompt when it fires
// (Chromium on Android), shows the iPhone steps on iOS, and says so when the app already runs installed.

const panel = document.getElementById("install-panel");

function isStandalone() {
  return window.matchMedia("(display-mode: standalone)").matches || window.navigator.standalone === true;
}

function isIos() {
  const ua = window.navigator.userAgent;
  // iPadOS reports itself as a Mac; a touch screen tells them apart.
  return /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && window.navigator.maxTouchPoints > 1);
}

if (panel) {
  const button = document.getElementById("install-button");
  const done = document.getElementById("install-done");
  const ios = document.getElementById("install-ios");
  const other = document.getElementById("install-other");
  let deferred = null;

  ios.hidden = !isIos();
  other.hidden = isIos();
  if (isStandalone()) {
    done.hidden = false;
    ios.hidden = true;
    other.hidden = true;
  }
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault(); // shown from our button, after the explanation, not as a surprise banner
    deferred = event;
    button.hidden = false;
    other.hidden = true;
  });
  button.addEventListener("click", async () => {
    if (!deferred) return;
    deferred.prompt();
    const choice = await deferred.userChoice;
    deferred = null;
    button.hidden = true;
    if (choice.outcome === "accepted") done.hidden = false;
  });
  window.addEventListener("appinstalled", () => {
    button.hidden = true;
    done.hidden = false;
  });
}
