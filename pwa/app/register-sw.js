// Registers the service worker (/sw.js, scope "/") and offers updates. Include it on any page:
//   <script type="module" src="/pwa/app/register-sw.js"></script>
//
// A new version installs in the background and then waits. The page shows "Đã có phiên bản mới — Cập nhật"; only
// when the officer taps the button does it ask the waiting worker to take over ("skip-waiting"), then reloads. An
// update never starts by itself: it would swap the code under a dossier being captured at someone's door.
//
// Self-contained on purpose (no imports): it is part of the precached shell and must work offline on every page.

const TEXTS = {
  vi: { available: "Đã có phiên bản mới", update: "Cập nhật", updated: "Ứng dụng đã được cập nhật.", reload: "Tải lại" },
  en: { available: "A new version is available", update: "Update", updated: "The app was updated.", reload: "Reload" },
};

function texts() {
  return (document.documentElement.lang || "").toLowerCase().startsWith("en") ? TEXTS.en : TEXTS.vi;
}

const BANNER_ID = "app-update";

/** Show (or replace) the banner at the top of the page: a message and one button. */
function showBanner(message, label, onTap) {
  document.getElementById(BANNER_ID)?.remove();
  const banner = document.createElement("div");
  banner.id = BANNER_ID;
  banner.className = "notice app-update";
  banner.setAttribute("role", "status");
  const text = document.createElement("span");
  text.textContent = `${message} — `;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-primary";
  button.textContent = label;
  button.addEventListener("click", () => {
    button.disabled = true;
    onTap();
  });
  banner.append(text, button);
  (document.querySelector("main") || document.body).prepend(banner);
  return banner;
}

let registering = null;

/**
 * Register the worker once per page and wire the update banner.
 * @returns a promise of the ServiceWorkerRegistration, or null where service workers are unavailable.
 */
export function registerServiceWorker() {
  if (registering) return registering;
  if (!("serviceWorker" in navigator)) {
    registering = Promise.resolve(null);
    return registering;
  }
  const container = navigator.serviceWorker;
  let hadController = Boolean(container.controller);
  let updateAccepted = false;

  const offer = (worker) => {
    showBanner(texts().available, texts().update, () => {
      updateAccepted = true;
      worker.postMessage({ type: "skip-waiting" });
    });
  };

  container.addEventListener("controllerchange", () => {
    if (!hadController) {
      hadController = true; // first install: the new worker took this page over, nothing to reload
      return;
    }
    if (updateAccepted) {
      window.location.reload();
    } else {
      // Another tab accepted the update: this page still runs the old code until it reloads.
      showBanner(texts().updated, texts().reload, () => window.location.reload());
    }
  });

  registering = container
    .register("/sw.js", { scope: "/", updateViaCache: "none" })
    .then((registration) => {
      // An update that was already waiting when the page opened (the officer did not tap last time).
      if (registration.waiting && registration.active) offer(registration.waiting);
      registration.addEventListener("updatefound", () => {
        const worker = registration.installing;
        if (!worker) return;
        worker.addEventListener("statechange", () => {
          if (worker.state === "installed" && registration.active) offer(worker);
        });
      });
      // Receipts of notifications the worker could not report (offline when they came) go now that a page opened.
      const worker = registration.active || container.controller;
      if (worker) worker.postMessage({ type: "flush-receipts" });
      // The app stays open all day: look for a new version whenever it comes back to the screen.
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") registration.update().catch(() => undefined);
      });
      return registration;
    })
    .catch((error) => {
      // Offline first visit, private mode, or a blocked worker: the site still works online without it.
      console.warn("service worker registration failed:", error);
      return null;
    });
  return registering;
}

registerServiceWorker();
