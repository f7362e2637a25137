/* The header's Theme control: System (follow prefers-color-scheme), Light or Dark, kept for a year in the
   "theme" cookie. The server writes data-theme on <html> from the cookie, so a pinned scheme shows from
   the first paint; this script only shows the control and applies a change at once. */
(function () {
  function setup() {
    var pick = document.querySelector("[data-theme-pick]");
    if (!pick) return;
    var root = document.documentElement;
    pick.value = root.getAttribute("data-theme") || "";
    pick.closest("label").hidden = false;
    pick.addEventListener("change", function () {
      var value = pick.value;
      if (value) {
        root.setAttribute("data-theme", value);
        document.cookie = "theme=" + value + "; path=/; max-age=31536000; SameSite=Lax";
      } else {
        root.removeAttribute("data-theme");
        document.cookie = "theme=; path=/; max-age=0; SameSite=Lax";
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup); else setup();
})();
