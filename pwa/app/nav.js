// On every page: the "Đăng xuất" (sign out) button of the account menu.

import { api, forgetCsrfToken } from "./api.js";
import { setBusy, showStatus } from "./dom.js";

const signOut = document.getElementById("sign-out");
const status = document.getElementById("global-status");

if (signOut) {
  signOut.addEventListener("click", async () => {
    setBusy(signOut, true);
    try {
      await api("/api/v1/auth/logout", { method: "POST" });
      forgetCsrfToken();
      window.location.assign("/");
    } catch (error) {
      setBusy(signOut, false);
      if (status) showStatus(status, error.message, "error");
    }
  });
}
