// Loaded as a module from this site (no inline script: the Content-Security-Policy forbids it).
import { initAll } from "./govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// "Print this page" buttons (the set-up code page): shown only where they can work.
for (const button of document.querySelectorAll("[data-passport-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
