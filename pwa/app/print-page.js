// A page's "print" buttons (a module: the CSP allows no inline handler).

for (const button of document.querySelectorAll("[data-print]")) button.addEventListener("click", () => window.print());
