// On every page: the "Đăng xuất" (sign out) button of the account menu, and, for a signed-in user, the push
// subscription re-checked once per launch of the app (pwa/app/push.js recheckPushAtLaunch).

import { api, forgetCsrfToken } from "./api.js";
import { setBusy, showStatus } from "./dom.js";
import { forgetPushRecheck, recheckPushAtLaunch } from "./push.js";

const signOut = document.getElementById("sign-out");
const status = document.getElementById("global-status");

if (signOut) {
  recheckPushAtLaunch();
  signOut.addEventListener("click", async () => {
    setBusy(signOut, true);
    try {
      await api("/api/v1/auth/logout", { method: "POST" });
      forgetCsrfToken();
      forgetPushRecheck();
      window.location.assign("/");
    } catch (error) {
      setBusy(signOut, false);
      if (status) showStatus(status, error.message, "error");
    }
  });
}

// After a refused form the server answers with the same page and an error summary at its top: the focus goes to
// that summary (WCAG 2.4.3), so that a keyboard or screen-reader user starts from what must be corrected instead
// of the top of the page. Each message in it links to its field.
const refused = document.querySelector("main .error-summary[role='alert']:not([hidden])");
if (refused) {
  if (!refused.hasAttribute("tabindex")) refused.setAttribute("tabindex", "-1");
  refused.focus();
}
